using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

public class LifecycleTests
{
    [Fact]
    public void Create_then_start_runs_the_process_and_state_follows_it_to_stopped()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "read line < /dev/shm/never 2>/dev/null; sleep 0.3" });
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", bundle, id).Ok();
        var state = s.State(id);
        Assert.Equal("created", (string)state["status"]!);
        int pid = (int)state["pid"]!;
        Assert.True(pid > 0 && Directory.Exists($"/proc/{pid}"));
        Assert.Equal(bundle, (string)state["bundle"]!);
        Assert.Equal(Path.Combine(bundle, "rootfs"), (string)state["rootfs"]!);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", (string)state["created"]!);

        s.Berth("start", id).Ok();
        Assert.Equal("running", s.Status(id));
        s.WaitForStatus(id, "stopped");
        Assert.Equal(0, (int)s.State(id)["pid"]!);

        s.Berth("start", id).Fails("cannot start a container that has stopped");
        s.Berth("delete", id).Ok();
        s.Berth("state", id).Fails("does not exist");
    }

    [Fact]
    public void Create_holds_the_process_at_the_barrier_until_start()
    {
        using var s = new Sandbox();
        var mark = Path.Combine(s.Work, "mark");
        Directory.CreateDirectory(mark);
        var bundle = s.Bundle(new[] { "touch", "/mark/ran" }, c =>
            c["mounts"]!.AsArray().Add(new JsonObject
            {
                ["destination"] = "/mark", ["type"] = "bind", ["source"] = mark, ["options"] = new JsonArray("bind"),
            }));
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", bundle, id).Ok();
        // Not a sleep: wait until init is blocked opening exec.fifo (the kernel's wchan for a
        // FIFO open without a partner). From there only `start` can move it on to execve.
        int pid = (int)s.State(id)["pid"]!;
        KillDeleteTests.WaitUntil(() => File.ReadAllText($"/proc/{pid}/wchan") == "wait_for_partner");
        Assert.Equal("berth\0init\0", File.ReadAllText($"/proc/{pid}/cmdline"));
        Assert.False(File.Exists(Path.Combine(mark, "ran")), "the process ran before start");
        Assert.Equal("created", s.Status(id));
        s.Berth("start", id).Ok();
        s.WaitForStatus(id, "stopped");
        Assert.True(File.Exists(Path.Combine(mark, "ran")));
    }

    [Fact]
    public void Start_on_a_running_container_is_an_error()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        s.Berth("start", id).Fails("cannot start an already running container");
    }

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 3", 3)]
    [InlineData("exit 255", 255)]
    public void Run_exits_with_the_process_status(string script, int expected)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", script }), id);
        Assert.Equal(expected, r.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)), "run without --keep deletes the container");
    }

    [Fact]
    public void A_death_by_signal_is_reported_as_128_plus_the_signal()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        using var run = s.Start("run", "--bundle", s.Bundle(new[] { "sleep", "60" }), id);
        s.WaitForStatus(id, "running");
        s.Berth("kill", id, "KILL").Ok();
        Assert.True(run.WaitForExit(10_000));
        Assert.Equal(137, run.ExitCode);
    }

    [Fact]
    public void Run_forwards_signals_to_the_container()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        using var run = s.Start("run", "--bundle", s.Bundle(new[] { "sh", "-c", "trap 'exit 7' TERM; echo ready; while true; do sleep 0.05; done" }), id);
        Assert.Equal("ready", run.StandardOutput.ReadLine());
        Sandbox.Exec("kill", "-TERM", run.Id.ToString()).Ok();
        Assert.True(run.WaitForExit(10_000));
        Assert.Equal(7, run.ExitCode);
    }

    [Fact]
    public void Run_keep_leaves_a_stopped_container_and_detach_returns_at_once()
    {
        using var s = new Sandbox();
        var kept = Sandbox.NewId();
        s.Berth("run", "--keep", "--bundle", s.Bundle(new[] { "true" }, name: "a"), kept).Ok();
        Assert.Equal("stopped", s.Status(kept));

        var detached = Sandbox.NewId();
        var pidFile = Path.Combine(s.Work, "pid");
        var sw = Stopwatch.StartNew();
        s.Berth("run", "--detach", "--pid-file", pidFile, "--bundle", s.Bundle(new[] { "sleep", "60" }, name: "b"), detached).Ok();
        Assert.True(sw.ElapsedMilliseconds < 10_000);
        Assert.Equal("running", s.Status(detached));
        Assert.Equal((int)s.State(detached)["pid"]!, int.Parse(File.ReadAllText(pidFile)));
    }

    [Fact]
    public void Create_writes_the_pid_file_and_stdio_is_inherited()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var pidFile = Path.Combine(s.Work, "init.pid");
        s.Berth("create", "--pid-file", pidFile, "--bundle", s.Bundle(new[] { "true" }), id).Ok();
        Assert.Equal((int)s.State(id)["pid"]!, int.Parse(File.ReadAllText(pidFile)));

        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", "echo out; echo err >&2" }, name: "io"), Sandbox.NewId()).Ok();
        Assert.Equal("out\n", r.Stdout);
        Assert.Equal("err\n", r.Stderr);
    }

    [Fact]
    public void Concurrent_state_during_start_always_reads_a_whole_state()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var r = s.Berth("state", id).Ok();
                statuses.Add((string)JsonNode.Parse(r.Stdout)!["status"]!);
            }
        })).ToArray();
        // Readers must be going before start, and see it through: wait on what they read, not on a clock.
        KillDeleteTests.WaitUntil(() => statuses.Count >= 3, 20_000);
        s.Berth("start", id).Ok();
        KillDeleteTests.WaitUntil(() => statuses.Contains("running"), 20_000);
        stop.Cancel();
        Task.WaitAll(readers);
        Assert.All(statuses, st => Assert.Contains(st, new[] { "created", "running" }));
        Assert.Contains("running", statuses);
        Assert.Equal("running", s.Status(id));
    }

    [Fact]
    public void A_taken_id_is_refused_and_the_first_container_is_untouched()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "60" });
        s.Berth("create", "--bundle", bundle, id).Ok();
        s.Berth("create", "--bundle", bundle, id).Fails("container with id exists");
        Assert.Equal("created", s.Status(id));
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData("has space")]
    [InlineData("")]
    public void An_invalid_id_is_refused(string id)
    {
        using var s = new Sandbox();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }), id).Fails("invalid container id");
    }

    [Fact]
    public void List_shows_containers_in_table_json_and_quiet_forms()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        Assert.Equal(id + "\n", s.Berth("list", "-q").Ok().Stdout);
        var table = s.Berth("list").Ok().Stdout.Split('\n');
        Assert.StartsWith("ID", table[0]);
        Assert.Contains("created", table[1]);
        var json = JsonNode.Parse(s.Berth("list", "--format", "json").Ok().Stdout)!.AsArray();
        Assert.Equal(id, (string)json[0]!["id"]!);
    }
    /// <summary>
    /// A failure after the barrier (here execve itself: a file that is executable but not a
    /// program) reaches `start`, `run` and `exec` as init's message and a non-zero exit, not
    /// only the container's stderr.
    /// </summary>
    [Fact]
    public void A_process_that_never_got_to_run_fails_start_run_and_exec_with_inits_message()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "/bin/not-a-program" });
        var fake = Path.Combine(bundle, "rootfs", "bin", "not-a-program");
        File.WriteAllText(fake, "neither ELF nor #!\n");
        File.SetUnixFileMode(fake, (UnixFileMode)0x1ed);
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", bundle, id).Ok();
        s.Berth("start", id).Fails("init: execve");
        s.WaitForStatus(id, "stopped");
        s.Berth("delete", id).Ok();

        var run = s.Berth("run", "--bundle", bundle, Sandbox.NewId());
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("ENOEXEC", run.Stderr);

        var sleeper = s.Bundle(new[] { "sleep", "60" }, name: "sleeper");
        File.Copy(fake, Path.Combine(sleeper, "rootfs", "bin", "not-a-program"));
        File.SetUnixFileMode(Path.Combine(sleeper, "rootfs", "bin", "not-a-program"), (UnixFileMode)0x1ed);
        var live = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", sleeper, live).Ok();
        s.Berth("exec", live, "/bin/not-a-program").Fails("ENOEXEC");
        s.Berth("exec", "--detach", live, "/bin/not-a-program").Fails("ENOEXEC");
        s.Berth("delete", "--force", live).Ok();
    }

    /// <summary>Limits too small for a runtime's own setup bind only the container's process: init applies them last.</summary>
    [Theory]
    [InlineData("RLIMIT_AS", 4L << 20)]
    [InlineData("RLIMIT_STACK", 16L << 10)]
    [InlineData("RLIMIT_NOFILE", 8L)]
    public void A_tiny_limit_binds_the_process_not_init(string type, long value)
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "echo ran" }, c =>
            c["process"]!["rlimits"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["type"] = type, ["soft"] = value, ["hard"] = value }));
        Assert.Equal("ran\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
    }
}
