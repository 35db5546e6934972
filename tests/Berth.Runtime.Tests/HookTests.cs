using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>Hooks run where and when runtime-spec's lifecycle says, with the state on stdin.</summary>
public class HookTests
{
    /// <summary>A hook script that records its phase, mount namespace, args, env and stdin.</summary>
    static string HookScript(Sandbox s, string log)
    {
        var script = Path.Combine(s.Work, "hook.sh");
        File.WriteAllText(script, $"#!/bin/sh\nprintf '%s mnt=%s args=%s env=%s state=%s\\n' \"$1\" \"$(readlink /proc/self/ns/mnt)\" \"$*\" \"$HOOK_ENV\" \"$(cat)\" >> {log}\n");
        File.SetUnixFileMode(script, (UnixFileMode)0x1ed);
        return script;
    }

    static JsonObject Hook(string path, string phase, int? timeout = null)
    {
        var h = new JsonObject { ["path"] = path, ["args"] = new JsonArray("hook", phase, "extra"), ["env"] = new JsonArray("HOOK_ENV=from-config") };
        if (timeout is { } t) h["timeout"] = t;
        return h;
    }

    [Fact]
    public void Every_hook_runs_in_lifecycle_order_in_the_right_namespace_with_the_state()
    {
        using var s = new Sandbox();
        var log = Path.Combine(s.Work, "hooks.log");
        var script = HookScript(s, log);
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            c["hooks"] = new JsonObject
            {
                ["prestart"] = new JsonArray(Hook(script, "prestart")),
                ["createRuntime"] = new JsonArray(Hook(script, "createRuntime")),
                ["createContainer"] = new JsonArray(Hook(script, "createContainer")),
                // startContainer runs in the container after pivot_root: the hook must be in the image,
                // and writes where the container can.
                ["startContainer"] = new JsonArray(new JsonObject { ["path"] = "/bin/sh", ["args"] = new JsonArray("sh", "-c", "echo startContainer $(cat) > /hooklog/start") }),
                ["poststart"] = new JsonArray(Hook(script, "poststart")),
                ["poststop"] = new JsonArray(Hook(script, "poststop")),
            };
            c["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/hooklog", ["type"] = "bind", ["source"] = s.Work, ["options"] = new JsonArray("bind") });
        });
        s.Berth("create", "--bundle", bundle, id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        var containerMnt = new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget;
        s.Berth("start", id).Ok();
        s.WaitForStatus(id, "stopped");
        s.Berth("delete", id).Ok();

        var lines = File.ReadAllLines(log);
        Assert.Equal(new[] { "prestart", "createRuntime", "createContainer", "poststart", "poststop" }, lines.Select(l => l.Split(' ')[0]));
        var hostMnt = new FileInfo("/proc/self/ns/mnt").LinkTarget;
        Assert.Contains($"mnt={hostMnt}", lines[0]);
        Assert.Contains($"mnt={hostMnt}", lines[1]);
        Assert.Contains($"mnt={containerMnt}", lines[2]);
        Assert.Contains($"mnt={hostMnt}", lines[3]);
        Assert.All(lines, l => Assert.Contains("args=", l));
        Assert.All(lines, l => Assert.Contains("extra env=from-config", l));
        State(lines[0]).Check(id, "creating", pid);
        State(lines[2]).Check(id, "creating", pid);
        State(lines[3]).Check(id, "running", pid);
        State(lines[4]).Check(id, "stopped", 0);
        var start = File.ReadAllText(Path.Combine(s.Work, "start"));
        Assert.StartsWith("startContainer ", start);
        State(start).Check(id, "created", pid);
    }

    sealed record StateDoc(JsonObject Json)
    {
        public void Check(string id, string status, int pid)
        {
            Assert.Equal(id, (string)Json["id"]!);
            Assert.Equal(status, (string)Json["status"]!);
            Assert.Equal(pid, (int?)Json["pid"] ?? 0);
            Assert.False(string.IsNullOrEmpty((string?)Json["bundle"]));
        }
    }

    static StateDoc State(string line) => new(JsonNode.Parse(line[(line.IndexOf("state=") is var i and >= 0 ? i + 6 : line.IndexOf('{'))..])!.AsObject());

    [Theory]
    [InlineData("createRuntime")]
    [InlineData("createContainer")]
    [InlineData("prestart")]
    public void A_failing_create_phase_hook_aborts_create_and_leaves_nothing(string phase)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["hooks"] = new JsonObject
        {
            [phase] = new JsonArray(new JsonObject { ["path"] = "/bin/sh", ["args"] = new JsonArray("sh", "-c", "echo hook-said-no; exit 7") }),
        });
        var r = s.Berth("create", "--bundle", bundle, id).Fails($"hooks.{phase}[0]");
        Assert.Contains("exit status 7", r.Stderr);
        Assert.Contains("hook-said-no", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d)));
    }

    [Fact]
    public void A_hook_past_its_timeout_is_killed_and_fails_create()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["hooks"] = new JsonObject
        {
            ["createRuntime"] = new JsonArray(new JsonObject { ["path"] = "/bin/sleep", ["args"] = new JsonArray("sleep", "30"), ["timeout"] = 1 }),
        });
        var started = Environment.TickCount64;
        s.Berth("create", "--bundle", bundle, id).Fails("timed out after 1 s");
        Assert.True(Environment.TickCount64 - started < 15_000);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    [Fact]
    public void Failing_poststart_and_poststop_hooks_are_warnings()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var failing = new JsonArray(new JsonObject { ["path"] = "/bin/false" });
        var bundle = s.Bundle(new[] { "sleep", "60" }, c => c["hooks"] = new JsonObject
        {
            ["poststart"] = failing.DeepClone(), ["poststop"] = failing.DeepClone(),
        });
        s.Berth("create", "--bundle", bundle, id).Ok();
        var start = s.Berth("start", id).Ok();
        Assert.Contains("hooks.poststart[0]", start.Stderr);
        Assert.Equal("running", s.Status(id));
        var delete = s.Berth("delete", "--force", id).Ok();
        Assert.Contains("hooks.poststop[0]", delete.Stderr);
        s.Berth("state", id).Fails("does not exist");
    }

    /// <summary>A hook without env gets the runtime's environment, PATH included (runc's and crun's behaviour), in the runtime's phases and in the container's.</summary>
    [Theory]
    [InlineData("prestart")]
    [InlineData("createRuntime")]
    [InlineData("createContainer")]
    public void A_hook_without_env_gets_the_runtimes_environment(string phase)
    {
        using var s = new Sandbox();
        var log = Path.Combine(s.Work, "env.log");
        var bundle = s.Bundle(new[] { "true" }, c => c["hooks"] = new JsonObject
        {
            [phase] = new JsonArray(new JsonObject { ["path"] = "/bin/sh", ["args"] = new JsonArray("sh", "-c", $"echo \"$PATH|$BERTH_TEST_MARK\" > {log}") }),
        });
        var psi = new System.Diagnostics.ProcessStartInfo(Sandbox.Binary) { RedirectStandardError = true };
        foreach (var a in new[] { "--root", s.Root, "run", "--bundle", bundle, Sandbox.NewId() }) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["BERTH_TEST_MARK"] = "from-the-runtime";
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, err);
        }
        Assert.Equal("/usr/sbin:/usr/bin:/sbin:/bin|from-the-runtime\n", File.ReadAllText(log));
    }

    [Fact]
    public void A_failing_start_container_hook_stops_the_container()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "60" }, c => c["hooks"] = new JsonObject
        {
            ["startContainer"] = new JsonArray(new JsonObject { ["path"] = "/bin/false" }),
        });
        s.Berth("create", "--bundle", bundle, id).Ok();
        // The process never ran: start says so, with the hook's failure.
        s.Berth("start", id).Fails("hooks.startContainer[0]");
        s.WaitForStatus(id, "stopped");
    }
}

public class FeaturesTests
{
    [Fact]
    public void Features_say_what_this_binary_does_on_this_host()
    {
        var f = JsonNode.Parse(Sandbox.Exec(Sandbox.Binary, "features").Ok().Stdout)!.AsObject();
        Assert.Equal("1.2.0", (string)f["ociVersionMax"]!);
        Assert.Equal(6, f["hooks"]!.AsArray().Count);
        Assert.Contains("rro", f["mountOptions"]!.AsArray().Select(o => (string)o!));
        var linux = f["linux"]!;
        var lastCap = int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim());
        Assert.Equal(lastCap + 1, linux["capabilities"]!.AsArray().Count);
        Assert.Equal(8, linux["namespaces"]!.AsArray().Count);
        Assert.True((bool)linux["seccomp"]!["enabled"]!);
        Assert.Contains("SCMP_ACT_NOTIFY", linux["seccomp"]!["actions"]!.AsArray().Select(a => (string)a!));
        Assert.Contains("SCMP_CMP_MASKED_EQ", linux["seccomp"]!["operators"]!.AsArray().Select(a => (string)a!));
        Assert.False((bool)linux["apparmor"]!["enabled"]!);
        Assert.False((bool)linux["selinux"]!["enabled"]!);
        Assert.True((bool)linux["cgroup"]!["v1"]!);
        Assert.False((bool)linux["cgroup"]!["systemd"]!);
    }
}
