using System.Diagnostics;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`berth run` as a user types it, on a private store: exit codes, the hardened baseline and its opt-outs, logs, exec, volumes, --init, stop, OOM.</summary>
public sealed class RunTests : IDisposable
{
    readonly EngineSandbox _e = new();
    const string Image = EngineSandbox.Image;

    public void Dispose() => _e.Dispose();

    [Fact]
    public void Run_prints_the_containers_output_and_exits_with_its_code()
    {
        var r = _e.Run("run", "--rm", Image, "sh", "-c", "echo out; echo err >&2; exit 3");
        Assert.Equal(3, r.ExitCode);
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
        Assert.Empty(_e.ContainerDirs());
    }

    [Fact]
    public void A_command_not_found_exits_127_and_one_not_executable_126()
    {
        var missing = _e.Run("run", "--rm", Image, "no-such-command");
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("no-such-command", missing.Stderr);
        var notExec = _e.Run("run", "--rm", Image, "/etc/passwd");
        Assert.Equal(126, notExec.ExitCode);
        Assert.Single(notExec.Stderr.Trim().Split('\n'));
        Assert.Empty(_e.ContainerDirs());
    }

    [Fact]
    public void Hardened_by_default_caps_nnp_seccomp_and_a_read_only_root_are_visible_inside()
    {
        var r = _e.Run("run", "--rm", Image, "sh", "-c",
            "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; touch /probe 2>/dev/null && echo root-writable || echo root-read-only; touch /tmp/ok && echo tmp-writable; id -u").Ok();
        Assert.Contains("CapEff:\t0000000000000400", r.Stdout); // CAP_NET_BIND_SERVICE only
        Assert.Contains("CapPrm:\t0000000000000400", r.Stdout);
        Assert.Contains("CapBnd:\t0000000000000400", r.Stdout);
        Assert.Contains("NoNewPrivs:\t1", r.Stdout);
        Assert.Contains("Seccomp:\t2", r.Stdout);
        Assert.Contains("root-read-only", r.Stdout);
        Assert.Contains("tmp-writable", r.Stdout);
    }

    [Fact]
    public void Opt_outs_are_explicit_and_inspect_shows_the_effective_settings()
    {
        var rw = _e.Run("run", "--rm", "--read-only=false", "--cap-add", "CAP_CHOWN", "--security-opt", "seccomp=unconfined", Image, "sh", "-c",
            "grep -E '^(CapEff|Seccomp):' /proc/self/status; touch /probe && echo root-writable").Ok();
        Assert.Contains("root-writable", rw.Stdout);
        Assert.Contains("CapEff:\t0000000000000401", rw.Stdout);
        Assert.Contains("Seccomp:\t0", rw.Stdout);

        var privileged = _e.Run("run", "--rm", "--privileged", Image, "grep", "-E", "^(CapEff|Seccomp|NoNewPrivs):", "/proc/self/status").Ok().Stdout;
        Assert.DoesNotContain("CapEff:\t0000000000000400", privileged);
        Assert.Contains("Seccomp:\t0", privileged);
        Assert.Contains("NoNewPrivs:\t0", privileged);

        var id = _e.Run("create", "--name", "inspected", "-u", "nobody", Image, "true").Ok().Stdout.Trim();
        var json = _e.Run("inspect", "inspected").Ok().Stdout;
        Assert.Contains(id, json);
        Assert.Contains("\"ReadonlyRootfs\": true", json);
        Assert.Contains("\"NoNewPrivileges\": true", json);
        Assert.Contains("\"Seccomp\": \"filtered\"", json);
        Assert.Contains("\"User\": \"65534:65534\"", json);
        Assert.Contains("\"PidsLimit\": 2048", json);
        Assert.Contains("CAP_NET_BIND_SERVICE", json);
        Assert.DoesNotContain("CAP_SYS_ADMIN", json);
        Assert.Equal("created\n", _e.Run("inspect", "--format", "{{.State.Status}}", id[..12]).Ok().Stdout);
    }

    [Fact]
    public void The_images_user_is_honoured_and_resolved_in_its_own_passwd()
    {
        var r = _e.Run("run", "--rm", "-u", "nobody", Image, "id").Ok();
        Assert.Equal("uid=65534(nobody) gid=65534(nogroup)\n", r.Stdout);
        var bad = _e.Run("run", "--rm", "-u", "nosuchuser", Image, "id");
        Assert.Equal(125, bad.ExitCode);
        Assert.Contains("nosuchuser", bad.Stderr);
        Assert.Empty(_e.ContainerDirs());
    }

    [Fact]
    public void Logs_follow_a_detached_container_while_it_writes()
    {
        var id = _e.Run("run", "-d", Image, "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done").Ok().Stdout.Trim();
        Assert.Equal(64, id.Length);
        var sw = Stopwatch.StartNew();
        var follow = _e.Run("logs", "-f", id[..12]).Ok();
        Assert.Equal("line1\nline2\nline3\nline4\nline5\n", follow.Stdout);
        Assert.True(sw.ElapsedMilliseconds > 300, "logs -f returned before the container finished writing");
        Assert.Equal("line4\nline5\n", _e.Run("logs", "--tail", "2", id).Ok().Stdout);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line1\n", _e.Run("logs", "-t", id).Ok().Stdout);
        Assert.Equal("0\n", _e.Run("wait", id).Ok().Stdout);
    }

    [Fact]
    public void Exec_it_runs_under_a_pty_in_the_running_container()
    {
        _e.Run("run", "-d", "--name", "ex", Image, "sleep", "60").Ok();
        var cmd = $"{EngineSandbox.Berth} {string.Join(' ', _e.Global)} exec -it ex sh -c 'tty; echo pid $$'";
        var r = Commands.Exec("script", "-qec", cmd, "/dev/null").Ok();
        Assert.Contains("/dev/pts/", r.Stdout);
        Assert.Equal(5, _e.Run("exec", "ex", "sh", "-c", "exit 5").ExitCode);
        Assert.NotEqual(0, _e.Run("exec", "ex", "no-such-command").ExitCode);
    }

    [Fact]
    public void A_named_volume_is_seeded_from_the_image_and_outlives_its_container()
    {
        var first = _e.Run("run", "--rm", "-v", "keep:/data", Image, "sh", "-c", "cat /data/seed.txt; echo written > /data/mine").Ok();
        Assert.Equal("from the image\n", first.Stdout);
        Assert.Contains("keep", _e.Run("volume", "ls").Ok().Stdout);
        Assert.Equal("written\n", _e.Run("run", "--rm", "-v", "keep:/data:ro", Image, "cat", "/data/mine").Ok().Stdout);
        Assert.NotEqual(0, _e.Run("run", "--rm", "-v", "keep:/data:ro", Image, "touch", "/data/x").ExitCode);
        _e.Run("volume", "rm", "keep").Ok();
        Assert.DoesNotContain("keep", _e.Run("volume", "ls", "-q").Ok().Stdout);
    }

    [Fact]
    public void Init_is_pid_1_and_reaps_orphaned_zombies()
    {
        // The orphan's parent exits at once; its child is re-parented to pid 1, which must reap it.
        var script = "cat /proc/1/cmdline | tr '\\0' ' '; echo; (sleep 0.2 &) ; sleep 1; " +
                     "for s in /proc/[0-9]*/stat; do cut -d' ' -f3 $s; done | grep -c Z || true";
        var with = _e.Run("run", "--rm", "--init", Image, "sh", "-c", script).Ok().Stdout.Split('\n');
        Assert.StartsWith("/run/berth-init", with[0]);
        Assert.Equal("0", with[1].Trim());
    }

    [Fact]
    public void Stop_escalates_to_SIGKILL_after_the_timeout()
    {
        // sleep as pid 1 has no SIGTERM handler: the kernel ignores the signal, so only SIGKILL ends it.
        _e.Run("run", "-d", "--name", "stubborn", Image, "sleep", "600").Ok();
        var sw = Stopwatch.StartNew();
        _e.Run("stop", "-t", "1", "stubborn").Ok();
        Assert.InRange(sw.ElapsedMilliseconds, 900, 8000);
        Assert.Equal("exited 137\n", _e.Run("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "stubborn").Ok().Stdout);
        Assert.Equal("", _e.RuntimeList());
        Assert.Empty(_e.Mounts());
        // And it starts again, from the same root.
        _e.Run("start", "stubborn").Ok();
        Assert.Equal("running\n", _e.Run("inspect", "--format", "{{.State.Status}}", "stubborn").Ok().Stdout);
        _e.Run("rm", "-f", "stubborn").Ok();
    }

    [Fact]
    public void A_memory_limit_kill_shows_as_OOMKilled()
    {
        var r = _e.Run("run", "--name", "hog", "--memory", "16m", Image, "sh", "-c", "tail /dev/zero");
        Assert.Equal(137, r.ExitCode);
        Assert.Equal("true 137\n", _e.Run("inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog").Ok().Stdout);
    }

    [Fact]
    public void Ps_lists_containers_in_table_json_and_template_forms()
    {
        var id = _e.Run("run", "-d", "--name", "lister", Image, "sleep", "60").Ok().Stdout.Trim();
        _e.Run("create", "--name", "waiting", Image, "true").Ok();
        var table = _e.Run("ps").Ok().Stdout;
        Assert.StartsWith("CONTAINER ID", table);
        Assert.Contains("lister", table);
        Assert.DoesNotContain("waiting", table);
        Assert.Contains("waiting", _e.Run("ps", "-a").Ok().Stdout);
        Assert.Equal(id[..12] + "\n", _e.Run("ps", "-q").Ok().Stdout);
        Assert.Equal("lister running\n", _e.Run("ps", "--format", "{{.Names}} {{.State}}").Ok().Stdout);
        Assert.Contains("\"Names\": \"lister\"", _e.Run("ps", "--format", "json").Ok().Stdout);
    }
}
