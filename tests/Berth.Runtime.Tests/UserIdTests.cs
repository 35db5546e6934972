using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// 4294967295 is the kernel's -1: setresuid(-1) leaves the uid as it is, so a process "switched"
/// to it would stay root. It is refused in every place an id enters (process.user, its
/// additionalGids, exec --user and --additional-gids, --process, the image's /etc/passwd, id
/// maps), and so is an id the container's user namespace cannot map.
/// </summary>
public class UserIdTests
{
    const uint MinusOne = uint.MaxValue;

    static Action<JsonObject> User(uint uid, uint gid, params uint[] groups) => c =>
        c["process"]!["user"] = new JsonObject
        {
            ["uid"] = uid, ["gid"] = gid, ["additionalGids"] = new JsonArray(groups.Select(g => (JsonNode)g).ToArray()),
        };

    static Action<JsonObject> UserNamespace(Action<JsonObject>? more = null) => c =>
    {
        Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
        c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
        foreach (var m in c["mounts"]!.AsArray())
            if ((string)m!["destination"]! == "/sys")
            {
                m["type"] = "bind";
                m["source"] = "/sys";
                m["options"] = new JsonArray("rbind", "nosuid", "noexec", "nodev", "ro");
            }
        more?.Invoke(c);
    };

    static void Refused(Sandbox s, Action<JsonObject> edit, string field, string problem)
    {
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "touch", "/ran" }, c => { c["root"]!["readonly"] = false; edit(c); }, name: Sandbox.NewId("b"));
        var r = s.Berth("run", "--bundle", bundle, id).Fails(field);
        Assert.Contains(problem, r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(Path.Combine(bundle, "rootfs", "ran")), "the process ran");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d)));
    }

    [Theory]
    [InlineData("uid")]
    [InlineData("gid")]
    [InlineData("additionalGids")]
    public void Minus_one_in_process_user_is_refused_before_anything_runs(string field)
    {
        using var s = new Sandbox();
        var edit = field switch
        {
            "uid" => User(MinusOne, 0),
            "gid" => User(0, MinusOne),
            _ => User(0, 0, 5, MinusOne),
        };
        Refused(s, edit, field == "additionalGids" ? "process.user.additionalGids[1]" : $"process.user.{field}", "kernel's -1");
    }

    [Fact]
    public void The_highest_real_id_is_the_processs_id()
    {
        using var s = new Sandbox();
        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", "id -u; id -g; id -G" }, User(MinusOne - 1, MinusOne - 1, MinusOne - 1)), Sandbox.NewId()).Ok();
        Assert.Equal(new[] { "4294967294", "4294967294", "4294967294" }, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData("uidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 4294967295}]", "linux.uidMappings[0]", "reach past")]
    [InlineData("gidMappings", "[{\"containerID\": 0, \"hostID\": 4294967290, \"size\": 10}]", "linux.gidMappings[0]", "reach past")]
    [InlineData("uidMappings", "[{\"containerID\": 0, \"hostID\": 100000, \"size\": 10}, {\"containerID\": 5, \"hostID\": 200000, \"size\": 10}]", "linux.uidMappings[1]", "overlap")]
    public void An_id_map_reaching_minus_one_or_overlapping_is_refused(string which, string maps, string field, string problem)
    {
        using var s = new Sandbox();
        Refused(s, UserNamespace(c => c["linux"]![which] = JsonNode.Parse(maps)), field, problem);
    }

    [Theory]
    [InlineData("uid")]
    [InlineData("gid")]
    [InlineData("additionalGids")]
    public void An_id_the_user_namespace_does_not_map_is_refused_at_create(string field)
    {
        using var s = new Sandbox();
        var user = field switch
        {
            "uid" => User(70000, 0),
            "gid" => User(0, 70000),
            _ => User(0, 0, 70000),
        };
        Refused(s, UserNamespace(user), field == "additionalGids" ? "process.user.additionalGids[0]" : $"process.user.{field}", "is not mapped");
    }

    (Sandbox S, string Id) Running(Action<JsonObject>? edit = null)
    {
        var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "60" }, edit);
        File.AppendAllText(Path.Combine(bundle, "rootfs", "etc", "passwd"), $"evil:x:{MinusOne}:0:evil:/:/bin/sh\nodd:x:0:{MinusOne}:odd:/:/bin/sh\n");
        File.AppendAllText(Path.Combine(bundle, "rootfs", "etc", "group"), $"evilgroup:x:{MinusOne}:\n");
        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        return (s, id);
    }

    [Theory]
    [InlineData("4294967295", "--user")]
    [InlineData("0:4294967295", "--user")]
    [InlineData("evil", "--user")]
    [InlineData("odd", "--user")]
    [InlineData("0:evilgroup", "--user")]
    public void Exec_user_refuses_minus_one_from_the_command_line_or_the_images_passwd(string user, string field)
    {
        var (s, id) = Running();
        using var _ = s;
        var r = s.Berth("exec", "--user", user, id, "id", "-u").Fails(field);
        Assert.Contains("kernel's -1", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Exec_additional_gids_and_process_files_refuse_minus_one()
    {
        var (s, id) = Running();
        using var _ = s;
        s.Berth("exec", "--additional-gids", MinusOne.ToString(), id, "id").Fails("kernel's -1");
        var process = Path.Combine(s.Work, "process.json");
        File.WriteAllText(process, $$"""{"args": ["id"], "cwd": "/", "user": {"uid": {{MinusOne}}, "gid": 0} }""");
        s.Berth("exec", "--process", process, id).Fails("--process.user.uid");
    }

    [Fact]
    public void Exec_refuses_an_id_the_containers_user_namespace_does_not_map()
    {
        var (s, id) = Running(UserNamespace());
        using var _ = s;
        Assert.Equal("1000\n", s.Berth("exec", "--user", "1000", id, "id", "-u").Ok().Stdout);
        s.Berth("exec", "--user", "70000", id, "id", "-u").Fails("is not mapped");
        s.Berth("exec", "--user", "0:70000", id, "id", "-u").Fails("is not mapped");
    }
}
