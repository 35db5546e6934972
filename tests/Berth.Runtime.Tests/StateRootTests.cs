using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// Everything Berth makes in its state root is root's alone, as runc's /run/runc (0700): other
/// host users cannot list containers' state, read a record, reach the exec barrier or the
/// seccomp cache. Asserted as an unprivileged user (nobody), not only by mode bits.
/// </summary>
public class StateRootTests
{
    /// <summary>Runs a shell command as nobody:nogroup with no supplementary groups and no capabilities.</summary>
    static Result AsNobody(string script) =>
        Sandbox.Exec("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "/bin/sh", "-c", script);

    static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8);

    static JsonObject Seccomp() => new()
    {
        ["defaultAction"] = "SCMP_ACT_ALLOW",
        ["syscalls"] = new JsonArray(new JsonObject { ["names"] = new JsonArray("getcpu"), ["action"] = "SCMP_ACT_ERRNO" }),
    };

    [Fact]
    public void Another_host_user_reaches_nothing_in_the_state_root()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = Seccomp()), id).Ok();
        var dir = Path.Combine(s.Root, id);
        var cache = Path.Combine(s.Root, ".cache", "seccomp");
        var entry = Directory.GetFiles(cache).Single();

        // Mode bits, as runc has them (and tighter for the container's directory: nothing in it is for others).
        Assert.Equal("700", Mode(s.Root));
        Assert.Equal("700", Mode(dir));
        Assert.Equal("600", Mode(Path.Combine(dir, "state.json")));
        Assert.Equal("600", Mode(Path.Combine(dir, "config.json")));
        Assert.Equal("700", Mode(Path.Combine(s.Root, ".cache")));
        Assert.Equal("700", Mode(cache));
        Assert.Equal("600", Mode(entry));

        // And what nobody can actually do with them.
        foreach (var attempt in new[]
        {
            $"ls {s.Root}", $"cat {dir}/state.json", $"cat {dir}/config.json", $"ls {dir}",
            $"echo x > {dir}/exec.fifo", $"cat {dir}/exec.fifo", $"ls {cache}", $"cat {entry}",
            $"touch {s.Root}/planted",
        })
        {
            var r = AsNobody(attempt);
            Assert.True(r.ExitCode != 0, $"nobody could: {attempt}\n{r.Stdout}");
            Assert.Contains("Permission denied", r.Stderr);
        }
        // berth itself, run by nobody, sees no container (and says why, on one line).
        var state = AsNobody($"{Sandbox.Binary} --root {s.Root} state {id}");
        Assert.NotEqual(0, state.ExitCode);
        Assert.Single(state.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain(id, AsNobody($"{Sandbox.Binary} --root {s.Root} list -q").Stdout);
        s.Berth("delete", id).Ok();
    }

    [Fact]
    public void A_missing_root_and_its_parents_are_made_0700_whatever_the_umask()
    {
        using var s = new Sandbox();
        var root = Path.Combine(s.Work, "a", "b", "state");
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = Seccomp());
        Sandbox.Exec("/bin/sh", "-c", $"umask 000; exec \"$0\" --root {root} run --keep --bundle {bundle} {id}", Sandbox.Binary).Ok();
        try
        {
            foreach (var d in new[] { Path.Combine(s.Work, "a"), Path.Combine(s.Work, "a", "b"), root, Path.Combine(root, id), Path.Combine(root, ".cache", "seccomp") })
                Assert.Equal("700", Mode(d));
            Assert.Equal("600", Mode(Path.Combine(root, id, "state.json")));
            Assert.Equal("600", Mode(Directory.GetFiles(Path.Combine(root, ".cache", "seccomp")).Single()));
        }
        finally
        {
            Sandbox.Exec(Sandbox.Binary, "--root", root, "delete", "--force", id).Ok();
        }
    }

    [Fact]
    public void An_existing_root_is_left_as_it_is_and_the_containers_in_it_are_still_private()
    {
        using var s = new Sandbox();
        // A root the caller shares on purpose: Berth does not chmod it (it could be /tmp), but
        // nothing it puts there is reachable.
        Directory.CreateDirectory(s.Root);
        File.SetUnixFileMode(s.Root, (UnixFileMode)0x1ed /* 0755 */);
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }), id).Ok();
        Assert.Equal("755", Mode(s.Root));
        var dir = Path.Combine(s.Root, id);
        foreach (var attempt in new[] { $"ls {dir}", $"cat {dir}/state.json", $"echo x > {dir}/exec.fifo" })
            Assert.Contains("Permission denied", AsNobody(attempt).Stderr);
        s.Berth("delete", id).Ok();
    }
}
