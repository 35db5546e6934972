using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>`berth exec`, asserted from inside the new process.</summary>
public class ExecTests
{
    static (Sandbox S, string Id, int Pid) Running(Action<JsonObject>? edit = null)
    {
        var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "60" }, c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" });
            edit?.Invoke(c);
        });
        NativeTools.InstallProbe(bundle);
        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        return (s, id, (int)s.State(id)["pid"]!);
    }

    [Fact]
    public void Exec_joins_every_namespace_and_the_cgroups_of_the_container()
    {
        var (s, id, pid) = Running();
        using var _ = s;
        var lines = s.Berth("exec", id, "sh", "-c", "for n in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup")
            .Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var expected = new[] { "cgroup", "ipc", "mnt", "net", "pid", "uts" }.Select(n => new FileInfo($"/proc/{pid}/ns/{n}").LinkTarget).ToArray();
        Assert.Equal(expected, lines[..6]);
        // In the container's cgroup namespace, at its root, in every hierarchy.
        Assert.All(lines[6..], l => Assert.EndsWith(":/", l));
        var mine = File.ReadAllLines($"/proc/{pid}/cgroup").Length;
        Assert.Equal(mine, lines.Length - 6);
    }

    [Fact]
    public void Exec_env_replaces_a_variable_of_the_process_and_adds_a_new_one()
    {
        var (s, id, _) = Running(c => c["process"]!["env"] = new JsonArray("PATH=/bin:/usr/bin", "A=from-config", "B=kept"));
        using var _ = s;
        var lines = s.Berth("exec", "--env", "A=from-exec", "--env", "C=new", id, "sh", "-c", "env | grep -E '^(A|B|C)=' | sort").Ok().Stdout;
        Assert.Equal("A=from-exec\nB=kept\nC=new\n", lines);
    }

    [Fact]
    public void Exec_propagates_exit_status_and_forwards_signals()
    {
        var (s, id, _) = Running();
        using var __ = s;
        Assert.Equal(7, s.Berth("exec", id, "sh", "-c", "exit 7").ExitCode);
        using var p = s.Start("exec", id, "sh", "-c", "trap 'exit 9' TERM; echo ready; while true; do sleep 0.05; done");
        Assert.Equal("ready", p.StandardOutput.ReadLine());
        Sandbox.Exec("kill", "-TERM", p.Id.ToString()).Ok();
        Assert.True(p.WaitForExit(10_000));
        Assert.Equal(9, p.ExitCode);
    }

    [Fact]
    public void Exec_detach_writes_the_pid_file_of_a_process_in_the_container()
    {
        var (s, id, pid) = Running();
        using var _ = s;
        var pidFile = Path.Combine(s.Work, "exec.pid");
        s.Berth("exec", "--detach", "--pid-file", pidFile, id, "sleep", "30").Ok();
        var execPid = int.Parse(File.ReadAllText(pidFile));
        Assert.Equal(new FileInfo($"/proc/{pid}/ns/pid").LinkTarget, new FileInfo($"/proc/{execPid}/ns/pid").LinkTarget);
        // detach returns once init is ready; the execve into sleep follows right after.
        KillDeleteTests.WaitUntil(() => File.ReadAllText($"/proc/{execPid}/cmdline").StartsWith("sleep"));
    }

    [Fact]
    public void User_groups_env_cwd_and_caps_flags_apply()
    {
        var (s, id, _) = Running();
        using var __ = s;
        var r = s.Berth("exec", "--user", "1000:1001", "--additional-gids", "5", "--additional-gids", "6", "--env", "A=b c",
            "--cwd", "/tmp", "--cap", "CAP_SYS_CHROOT", id, "sh", "-c", "id -u; id -g; cat /proc/self/status | grep -E '^(Groups|CapEff)'; echo $A; pwd").Ok();
        var lines = r.Stdout.Split('\n');
        Assert.Equal("1000", lines[0]);
        Assert.Equal("1001", lines[1]);
        Assert.Equal("Groups:\t5 6 ", lines[2]);
        // As runc: --cap adds to bounding, effective and permitted, and to ambient only when the
        // spec has an inheritable set, so a non-root process keeps none of it across execve.
        Assert.Equal("CapEff:\t0000000000000000", lines[3]);
        Assert.Equal("b c", lines[4]);
        Assert.Equal("/tmp", lines[5]);
        var root = s.Berth("exec", "--cap", "CAP_SYS_CHROOT", id, "grep", "CapEff", "/proc/self/status").Ok().Stdout;
        Assert.Equal("CapEff:\t0000000020040420\n", root); // CAP_SYS_CHROOT (18) added to the default three
        s.Berth("exec", "--user", "root", id, "true").Ok();
        s.Berth("exec", "--user", "nosuchuser", id, "true").Fails("no user \"nosuchuser\"");
    }

    [Fact]
    public void Exec_takes_a_runtime_spec_process_file_as_podman_passes_it()
    {
        var (s, id, _) = Running();
        using var __ = s;
        var process = new JsonObject
        {
            ["args"] = new JsonArray("sh", "-c", "echo $WHO > /dev/shm/out; pwd >> /dev/shm/out"),
            ["env"] = new JsonArray("WHO=podman", "PATH=/bin"),
            ["cwd"] = "/dev",
            ["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0 },
        };
        var file = Path.Combine(s.Work, "process.json");
        File.WriteAllText(file, process.ToJsonString());
        var pidFile = Path.Combine(s.Work, "p.pid");
        s.Berth("exec", "--pid-file", pidFile, "--process", file, "--detach", id).Ok();
        KillDeleteTests.WaitUntil(() => s.Berth("exec", id, "cat", "/dev/shm/out").Stdout == "podman\n/dev\n");
    }

    [Fact]
    public void Exec_gets_the_containers_seccomp_profile_and_no_new_privileges()
    {
        var (s, id, _) = Running(c =>
        {
            c["process"]!["noNewPrivileges"] = false;
            c["linux"]!["seccomp"] = new JsonObject
            {
                ["defaultAction"] = "SCMP_ACT_ALLOW",
                ["syscalls"] = new JsonArray(new JsonObject { ["names"] = new JsonArray("getcpu"), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 77 }),
            };
        });
        using var _ = s;
        var lines = s.Berth("exec", "--no-new-privs", id, "sh", "-c", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; probe 309").Ok().Stdout.Split('\n');
        Assert.Equal("NoNewPrivs:\t1", lines[0]);
        Assert.Equal("Seccomp:\t2", lines[1]);
        Assert.Equal("err 77", lines[2]);
    }

    [Fact]
    public void Exec_into_a_user_namespace_container_is_root_there()
    {
        var (s, id, _) = Running(c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
            c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            foreach (var m in c["mounts"]!.AsArray())
                if ((string)m!["destination"]! == "/sys") { m["type"] = "bind"; m["source"] = "/sys"; m["options"] = new JsonArray("rbind", "ro"); }
        });
        using var _ = s;
        var lines = s.Berth("exec", id, "sh", "-c", "id -u; cat /proc/self/uid_map").Ok().Stdout.Split('\n');
        Assert.Equal("0", lines[0]);
        Assert.Equal("0 300000 65536", string.Join(' ', lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public void Exec_into_a_stopped_or_missing_container_or_of_a_missing_binary_fails_clearly()
    {
        var (s, id, _) = Running();
        using var __ = s;
        s.Berth("exec", id, "no-such-binary").Fails("executable file not found");
        s.Berth("exec", Sandbox.NewId(), "true").Fails("does not exist");
        s.Berth("kill", id, "KILL").Ok();
        s.WaitForStatus(id, "stopped");
        s.Berth("exec", id, "true").Fails("cannot exec in a stopped container");
    }
}
