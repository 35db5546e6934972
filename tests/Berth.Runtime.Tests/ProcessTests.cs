using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>process.* as the container's process sees it.</summary>
public class ProcessTests
{
    static Result Run(Sandbox s, string script, Action<JsonObject>? edit = null) =>
        s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", script }, edit, name: Sandbox.NewId("b")), Sandbox.NewId());

    static string Status(string text, string key) =>
        text.Split('\n').First(l => l.StartsWith(key + ":"))[(key.Length + 1)..].Trim();

    [Fact]
    public void User_groups_umask_env_and_home_are_applied()
    {
        using var s = new Sandbox();
        var r = Run(s, "cat /proc/self/status; echo umask=$(umask); echo home=$HOME; echo greeting=$GREETING", c =>
        {
            c["process"]!["user"] = new JsonObject { ["uid"] = 65534, ["gid"] = 65534, ["additionalGids"] = new JsonArray(10, 20), ["umask"] = 0x3f };
            c["process"]!["env"]!.AsArray().Add("GREETING=hi there");
        }).Ok().Stdout;
        Assert.Equal("65534\t65534\t65534\t65534", Status(r, "Uid"));
        Assert.Equal("65534\t65534\t65534\t65534", Status(r, "Gid"));
        Assert.Equal("10 20", Status(r, "Groups"));
        Assert.Contains("umask=0077", r);
        Assert.Contains("home=/\n", r); // nobody's home in the test rootfs's /etc/passwd
        Assert.Contains("greeting=hi there", r);
    }

    [Fact]
    public void Root_gets_its_home_from_the_containers_passwd_and_default_umask()
    {
        using var s = new Sandbox();
        var r = Run(s, "echo $HOME; umask").Ok().Stdout;
        Assert.Equal("/root\n0022\n", r);
    }

    [Fact]
    public void Rlimits_are_set_and_an_impossible_one_is_a_clear_error()
    {
        using var s = new Sandbox();
        var r = Run(s, "grep -E 'open files|core file' /proc/self/limits", c =>
            c["process"]!["rlimits"] = new JsonArray(
                new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 333, ["hard"] = 444 },
                new JsonObject { ["type"] = "RLIMIT_CORE", ["soft"] = 0, ["hard"] = 0 })).Ok().Stdout;
        Assert.Matches(@"Max core file size\s+0\s+0", r);
        Assert.Matches(@"Max open files\s+333\s+444", r);

        var hard = File.ReadAllLines("/proc/self/limits").First(l => l.StartsWith("Max open files")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[4];
        var over = ulong.Parse(hard) + 1;
        Run(s, "true", c => c["process"]!["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = over, ["hard"] = over }))
            .Fails("process.rlimits[0] RLIMIT_NOFILE");
    }

    [Fact]
    public void Oom_score_adj_can_be_raised_but_lowering_needs_CAP_SYS_RESOURCE()
    {
        using var s = new Sandbox();
        Assert.Equal("500", Run(s, "cat /proc/self/oom_score_adj", c => c["process"]!["oomScoreAdj"] = 500).Ok().Stdout.Trim());
        var status = File.ReadAllText("/proc/self/status");
        var bounding = Convert.ToUInt64(Status(status, "CapBnd"), 16);
        Assert.True((bounding & (1UL << 24)) == 0, "this test expects a host without CAP_SYS_RESOURCE (DESIGN.md host facts)");
        Run(s, "true", c => c["process"]!["oomScoreAdj"] = -500).Fails("CAP_SYS_RESOURCE");
    }

    /// <summary>
    /// containerd's shim raises its own score by one and docker asks for 0: lowering back down
    /// to the least the runtime was given is no privilege (the kernel's oom_score_adj_min).
    /// </summary>
    [Fact]
    public void Oom_score_adj_may_go_back_down_to_what_the_runtime_started_with()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "cat", "/proc/self/oom_score_adj" }, c => c["process"]!["oomScoreAdj"] = 0);
        var r = Sandbox.Exec("sh", "-c", $"echo 1 > /proc/self/oom_score_adj && exec {Sandbox.Binary} --root {s.Root} run --bundle {bundle} {Sandbox.NewId()}").Ok();
        Assert.Equal("0", r.Stdout.Trim());
    }

    [Fact]
    public void Personality_scheduler_io_priority_and_cpu_affinity_apply()
    {
        using var s = new Sandbox();
        var r = Run(s, "uname -m; ionice; grep Cpus_allowed_list /proc/self/status; grep -E '^policy' /proc/self/sched 2>/dev/null || echo policy-unknown", c =>
        {
            c["linux"]!["personality"] = new JsonObject { ["domain"] = "LINUX32" };
            c["process"]!["ioPriority"] = new JsonObject { ["class"] = "IOPRIO_CLASS_BE", ["priority"] = 5 };
            c["process"]!["scheduler"] = new JsonObject { ["policy"] = "SCHED_BATCH", ["nice"] = 3 };
            c["process"]!["execCPUAffinity"] = new JsonObject { ["final"] = "0" };
        }).Ok().Stdout.Split('\n');
        Assert.Equal("i686", r[0]);
        Assert.Equal("best-effort: prio 5", r[1]);
        Assert.Equal("0", r[2].Split('\t').Last().Trim());
        if (r[3] != "policy-unknown") Assert.EndsWith("3", r[3].Trim());
    }

    [Fact]
    public void Preserved_fds_reach_the_container_and_no_other_fd_does()
    {
        using var s = new Sandbox();
        var file = Path.Combine(s.Work, "payload");
        File.WriteAllText(file, "kept");
        var bundle = s.Bundle(new[] { "sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; cat <&3" });
        var r = Sandbox.Exec("/bin/sh", "-c", $"exec 3<{file} 4<{file}; exec \"$0\" --root {s.Root} run --preserve-fds 1 --bundle {bundle} {Sandbox.NewId()}", Sandbox.Binary).Ok();
        // 0-2, the preserved 3, and the fd ls itself opened for /proc/self/fd.
        Assert.Equal("0 1 2 3 4 kept", r.Stdout.Trim().Replace("  ", " "));
    }

    [Fact]
    public void Socket_activation_fds_and_LISTEN_env_are_passed_to_pid_1()
    {
        using var s = new Sandbox();
        var file = Path.Combine(s.Work, "socket-stand-in");
        File.WriteAllText(file, "activated");
        var bundle = s.Bundle(new[] { "sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; cat <&3" });
        var r = Sandbox.Exec("/bin/sh", "-c", $"exec 3<{file}; LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" --root {s.Root} run --bundle {bundle} {Sandbox.NewId()}", Sandbox.Binary).Ok();
        Assert.Equal("1 1\nactivated", r.Stdout.Trim());
    }
}
