using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// Debian's containerd (1.6) and ctr with the runtime under test as the runc shim's binary (`ctr run --runc-binary`):
/// the task lifecycle as containerd drives it — create/start, exec, kill, pause/resume, delete — and a memory limit.
/// </summary>
[Collection("clients")]
public sealed class ContainerdTests : IClassFixture<ContainerdTests.Containerd>, IDisposable
{
    /// <summary>
    /// A private containerd: its own config (CRI and the snapshotters that cannot work here disabled), root, state and
    /// socket; its own namespace; started and stopped by its pid. Everything it made is removed and checked gone.
    /// </summary>
    public sealed class Containerd : Engine
    {
        public const string Namespace = "berth-test";
        public const string Image = "docker.io/berth-test/busybox:latest";
        readonly Daemon _daemon;
        readonly HostCleanup.FixedPaths _fixed = new("/run/containerd/s", "/run/containerd/fifo", "/run/containerd");
        int _logMark;

        string Socket => Path.Combine(Dir, "containerd.sock");

        public Containerd() : base("ctr")
        {
            var config = Path.Combine(Dir, "config.toml");
            File.WriteAllText(config, $"""
                version = 2
                root = "{Dir}/root"
                state = "{Dir}/state"
                disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]
                [grpc]
                  address = "{Socket}"
                [ttrpc]
                  address = "{Socket}.ttrpc"
                [debug]
                  address = ""
                [metrics]
                  address = ""
                [plugins."io.containerd.internal.v1.opt"]
                  path = "{Dir}/opt"

                """);
            _daemon = Daemon.Start("/usr/bin/containerd", new[] { "--config", config, "--log-level", "info" }, Path.Combine(Dir, "containerd.log"));
            try
            {
                _daemon.WaitReady(() => File.Exists(Socket) && Ctr("version").ExitCode == 0, TimeSpan.FromSeconds(60));
                var archive = Busybox.DockerArchive(Path.Combine(Dir, "image"), "berth-test/busybox:latest");
                var import = Ctr("image", "import", archive);
                if (import.ExitCode != 0) throw new InvalidOperationException($"ctr image import failed:\n{import}");
            }
            catch
            {
                try { Dispose(); } catch (InvalidOperationException) { }
                throw;
            }
        }

        public Outcome Ctr(params string[] args) => Tool.Run("/usr/bin/ctr", new[] { "--address", Socket, "--namespace", Namespace }.Concat(args));

        /// <summary>`ctr run` with the runtime under test, its root and a relative cgroup under the fixture's parent.</summary>
        public Outcome Run(string id, string[] flags, params string[] command) => Ctr(new[]
        {
            "run", "--runc-binary", Runtime.Path, "--runc-root", Path.Combine(Dir, "runtime-root"),
            "--cgroup", $"{CgroupParent}/{id}", "--fifo-dir", Path.Combine(Dir, "fifo"),
        }.Concat(flags).Append(Image).Append(id).Concat(command).ToArray());

        /// <summary>(pid, status) of a task from `ctr task ls`, or null when there is none.</summary>
        /// <summary>`ctr task exec` with its fifos in the fixture (ctr's default is /run/containerd/fifo).</summary>
        public Outcome Exec(string id, string execId, params string[] command) =>
            Ctr(new[] { "task", "exec", "--fifo-dir", Path.Combine(Dir, "fifo"), "--exec-id", execId, id }.Concat(command).ToArray());

        public (int Pid, string Status)? Task(string id)
        {
            foreach (var line in Ctr("task", "ls").Stdout.Split('\n').Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length >= 3 && f[0] == id) return (int.Parse(f[1]), f[2]);
            }
            return null;
        }

        /// <summary>Kills and deletes every task and container in the namespace.</summary>
        public void RemoveAll()
        {
            foreach (var line in Ctr("task", "ls", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Ctr("task", "resume", line);
                Ctr("task", "kill", "-s", "SIGKILL", line);
                Tool.WaitUntil(() => Task(line) is not { Status: "RUNNING" or "PAUSED" or "PAUSING" }, TimeSpan.FromSeconds(10));
                Ctr("task", "delete", "--force", line);
            }
            foreach (var line in Ctr("container", "ls", "-q").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                Ctr("container", "delete", line);
        }

        /// <summary>The runc shim passes `--root &lt;runc-root&gt;/&lt;namespace&gt;`.</summary>
        protected override IEnumerable<string> RuntimeStateRoots() => [Path.Combine(Dir, "runtime-root", Namespace)];

        protected override void MarkLog() => _logMark = _daemon.LineCount();

        protected override string EngineLog()
        {
            var problems = _daemon.Problems(_logMark);
            return problems.Length == 0 ? "" : $"containerd log ({_daemon.Log}), warnings and errors:\n{problems}\n";
        }

        protected override void Shutdown()
        {
            if (_daemon is null) return;
            if (!_daemon.Exited) RemoveAll();
            _daemon.Stop(TimeSpan.FromSeconds(20));
            Tool.WaitUntil(() => HostCleanup.ProcessesMentioning(Dir).Count == 0, TimeSpan.FromSeconds(10));
            Leaks.AddRange(HostCleanup.Kill(HostCleanup.ProcessesMentioning(Dir)));
            Leaks.AddRange(HostCleanup.UnmountAll(Dir).Select(m => $"mount {m}"));
            _fixed.RemoveCreated();
        }
    }

    readonly Containerd _c;

    public ContainerdTests(Containerd c)
    {
        _c = c;
        _c.BeginTest();
    }

    public void Dispose()
    {
        _c.RemoveAll();
        _c.AssertNoContainerCgroups("after ctr task delete");
        _c.AssertNoRuntimeState("after ctr task delete");
    }

    static string NewId() => "t-" + Guid.NewGuid().ToString("N")[..10];

    void WaitForStatus(string id, string status, Outcome context)
    {
        (int Pid, string Status)? last = null;
        if (!Tool.WaitUntil(() => (last = _c.Task(id))?.Status == status, TimeSpan.FromSeconds(15)))
            _c.Holds(false, $"task {id} becomes {status} in 15 s (last: {last?.Status ?? "no task"})", context);
    }

    /// <summary>ctr 1.6's `task delete` exits 0 and reports the task's status as a warning.</summary>
    void ExitedWith(int code, Outcome delete) =>
        _c.Holds(delete.Stderr.Contains($"exit with non-zero exit code {code}\"", StringComparison.Ordinal), $"the task exited {code}", delete);

    [Fact]
    public void Run_rm_prints_the_output_and_gives_the_exit_code()
    {
        var id = NewId();
        var r = _c.Exit(3, _c.Run(id, new[] { "--rm" }, "sh", "-c", "echo hello from containerd; exit 3"));
        _c.Stdout("hello from containerd\n", r);
        _c.Stdout("", _c.Ok(_c.Ctr("container", "ls", "-q")));
    }

    [Fact]
    public void Run_detached_then_task_exec()
    {
        var id = NewId();
        var run = _c.Ok(_c.Run(id, new[] { "-d" }, "sleep", "300"));
        WaitForStatus(id, "RUNNING", run);
        var exec = _c.Ok(_c.Exec(id, "e1", "sh", "-c", "echo exec-ok; tr '\\0' ' ' < /proc/1/cmdline"));
        _c.Stdout("exec-ok\nsleep 300 ", exec);
        _c.Exit(5, _c.Exec(id, "e2", "sh", "-c", "exit 5"));
    }

    [Fact]
    public void Task_kill_delivers_the_signal_and_delete_reports_the_exit()
    {
        var id = NewId();
        var run = _c.Ok(_c.Run(id, new[] { "-d" }, "sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"));
        WaitForStatus(id, "RUNNING", run);
        var kill = _c.Ok(_c.Ctr("task", "kill", id)); // SIGTERM: the shell's trap exits 7
        WaitForStatus(id, "STOPPED", kill);
        ExitedWith(7, _c.Ok(_c.Ctr("task", "delete", id)));

        var id2 = NewId();
        WaitForStatus(id2, "RUNNING", _c.Ok(_c.Run(id2, new[] { "-d" }, "sleep", "300")));
        var kill9 = _c.Ok(_c.Ctr("task", "kill", "--signal", "SIGKILL", id2));
        WaitForStatus(id2, "STOPPED", kill9);
        ExitedWith(137, _c.Ok(_c.Ctr("task", "delete", id2)));
    }

    [Fact]
    public void Pause_freezes_the_task_and_resume_thaws_it()
    {
        var id = NewId();
        var run = _c.Ok(_c.Run(id, new[] { "-d" }, "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n.new; mv /tmp/n.new /tmp/n; sleep 0.05; done"));
        WaitForStatus(id, "RUNNING", run);
        var pause = _c.Ok(_c.Ctr("task", "pause", id));
        WaitForStatus(id, "PAUSED", pause);
        var pid = _c.Task(id)!.Value.Pid;
        _c.Holds(HostCgroup.Frozen(pid) == true, $"the task's freezer cgroup is frozen ({HostCgroup.Describe(pid, "freezer")})", pause);
        var resume = _c.Ok(_c.Ctr("task", "resume", id));
        WaitForStatus(id, "RUNNING", resume);
        _c.Holds(HostCgroup.Frozen(pid) == false, "the task's freezer cgroup is thawed", resume);
        // The counter is renamed into place: a read never sees the file half-written.
        var first = long.Parse(_c.Ok(_c.Exec(id, "n1", "cat", "/tmp/n")).Stdout.Trim());
        // Bounded wait for the counter to move: however slow the machine, a thawed loop advances.
        var second = _c.Ok(_c.Exec(id, "n2", "cat", "/tmp/n"));
        for (int i = 3; i < 60 && long.Parse(second.Stdout.Trim()) <= first; i++)
        {
            Thread.Sleep(100);
            second = _c.Ok(_c.Exec(id, $"n{i}", "cat", "/tmp/n"));
        }
        _c.Holds(long.Parse(second.Stdout.Trim()) > first, $"the loop runs again after resume (counter {first} then {second.Stdout.Trim()})", second);
    }

    [Fact]
    public void A_memory_limit_is_set_on_the_task_cgroup_and_enforced()
    {
        var id = NewId();
        var run = _c.Ok(_c.Run(id, new[] { "-d", "--memory-limit", $"{32L << 20}" }, "sleep", "300"));
        WaitForStatus(id, "RUNNING", run);
        var pid = _c.Task(id)!.Value.Pid;
        _c.Holds(HostCgroup.MemoryLimit(pid) == 32L << 20, $"memory limit {32L << 20} on the task's cgroup (found {HostCgroup.MemoryLimit(pid)?.ToString() ?? "none"})", run);
        // ctr's default spec mounts no /sys/fs/cgroup: what the container sees of the limit is the OOM killer.
        _c.Exit(137, _c.Exec(id, "oom", "tail", "/dev/zero"));
    }
}
