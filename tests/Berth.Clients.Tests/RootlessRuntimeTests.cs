using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// The runtime itself run by an unprivileged user (the same user as the rootless podman tests,
/// with its subordinate ranges): state in $XDG_RUNTIME_DIR/berth, its own id mapped directly,
/// several ranges through newuidmap/newgidmap, cgroups it cannot create left out unless a
/// limit needs them.
/// </summary>
[Collection("clients")]
public sealed class RootlessRuntimeTests : IClassFixture<RootlessPodmanTests.User>, IDisposable
{
    readonly RootlessPodmanTests.User _u;
    readonly string _dir;

    public RootlessRuntimeTests(RootlessPodmanTests.User u)
    {
        _u = u;
        _dir = Path.Combine(_u.Dir, "bundles-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_dir);
        Tool.MustRun("chown", $"{_u.Uid}:{_u.Gid}", _dir);
    }

    public void Dispose()
    {
        // Whatever a test left running, as the user (its own state root).
        foreach (var id in _u.AsUser(_u.Runtime.Path, "list", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            _u.AsUser(_u.Runtime.Path, "delete", "--force", id);
    }

    /// <summary>A bundle the user owns: busybox rootfs, `berth spec --rootless` as the user, the edits applied.</summary>
    string Bundle(string script, Action<JsonObject>? edit = null)
    {
        var bundle = Path.Combine(_dir, Guid.NewGuid().ToString("N")[..8]);
        Busybox.MakeRootfs(Path.Combine(bundle, "rootfs"));
        Tool.MustRun("chown", "-R", $"{_u.Uid}:{_u.Gid}", bundle);
        var spec = _u.AsUser(_u.Runtime.Path, "spec", "--rootless", "--bundle", bundle);
        Assert.True(spec.ExitCode == 0, spec.ToString());
        var path = Path.Combine(bundle, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray("sh", "-c", script);
        edit?.Invoke(config);
        File.WriteAllText(path, config.ToJsonString());
        return bundle;
    }

    Outcome Berth(params string[] args) => _u.AsUser(new[] { _u.Runtime.Path }.Concat(args).ToArray());

    static string Squeeze(string text) => string.Join('\n', text.Split('\n').Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))));

    [Fact]
    public void Run_maps_the_users_own_id_and_keeps_its_state_under_XDG_RUNTIME_DIR()
    {
        var id = "rl-" + Guid.NewGuid().ToString("N")[..8];
        var bundle = Bundle("id -u; cat /proc/self/uid_map; sleep 30");
        var r = Berth("run", "--detach", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 0, r.ToString());
        var state = Path.Combine(_dir, "..", "xdg", "berth", id);
        Assert.True(Directory.Exists(state), $"no state dir at {state}");
        Assert.Contains(id, Berth("list", "-q").Stdout);
        Assert.Equal(0, Berth("delete", "--force", id).ExitCode);
        var fg = Berth("run", "--bundle", Bundle("id -u; cat /proc/self/uid_map"), id);
        Assert.True(fg.ExitCode == 0, fg.ToString());
        Assert.Equal($"0\n0 {_u.Uid} 1\n", Squeeze(fg.Stdout));
    }

    [Fact]
    public void Several_ranges_are_written_by_newuidmap_and_newgidmap_from_the_users_subordinate_ids()
    {
        var sub = File.ReadAllLines("/etc/subuid").Select(l => l.Split(':')).First(p => p[0] == _u.Name);
        var subg = File.ReadAllLines("/etc/subgid").Select(l => l.Split(':')).First(p => p[0] == _u.Name);
        var bundle = Bundle("cat /proc/self/uid_map /proc/self/gid_map", c =>
        {
            c["linux"]!["uidMappings"] = new JsonArray(
                new JsonObject { ["containerID"] = 0, ["hostID"] = _u.Uid, ["size"] = 1 },
                new JsonObject { ["containerID"] = 1, ["hostID"] = long.Parse(sub[1]), ["size"] = 1000 });
            c["linux"]!["gidMappings"] = new JsonArray(
                new JsonObject { ["containerID"] = 0, ["hostID"] = _u.Gid, ["size"] = 1 },
                new JsonObject { ["containerID"] = 1, ["hostID"] = long.Parse(subg[1]), ["size"] = 1000 });
        });
        var r = Berth("run", "--bundle", bundle, "rl-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal($"0 {_u.Uid} 1\n1 {sub[1]} 1000\n0 {_u.Gid} 1\n1 {subg[1]} 1000\n", Squeeze(r.Stdout));

        // A range the user was not given is newuidmap's refusal, named.
        var stolen = Bundle("true", c => c["linux"]!["uidMappings"] = new JsonArray(
            new JsonObject { ["containerID"] = 0, ["hostID"] = _u.Uid, ["size"] = 1 },
            new JsonObject { ["containerID"] = 1, ["hostID"] = 1, ["size"] = 10 }));
        var bad = Berth("run", "--bundle", stolen, "rl-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("linux.uidMappings: newuidmap refused", bad.Stderr);
    }

    [Fact]
    public void Cgroups_the_user_cannot_create_are_left_out_unless_a_limit_needs_them()
    {
        var id = "rl-" + Guid.NewGuid().ToString("N")[..8];
        var r = Berth("run", "--bundle", Bundle("cat /proc/self/cgroup"), id);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain(id, r.Stdout);

        var limited = Bundle("true", c => c["linux"]!["resources"] = new JsonObject { ["memory"] = new JsonObject { ["limit"] = 64 << 20 } });
        var refused = Berth("run", "--bundle", limited, id);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("linux.resources.memory.limit", refused.Stderr);
        Assert.Empty(Berth("list", "-q").Stdout.Trim());

        // --rootless false asks for cgroups as root would, and says why it cannot have them.
        var strict = Berth("--rootless", "false", "run", "--bundle", Bundle("true"), id);
        Assert.NotEqual(0, strict.ExitCode);
        Assert.Contains("cgroup: creating", strict.Stderr);
    }
}
