using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// Debian's docker.io (dockerd 20.10 and its own containerd) with the runtime under test as its default runtime:
/// `--add-runtime berth=… --default-runtime berth`, run through containerd's runc shim as docker runs runc.
/// </summary>
[Collection("clients")]
public sealed class DockerTests : IClassFixture<DockerTests.Dockerd>, IDisposable
{
    /// <summary>
    /// A private dockerd: its own data-root, exec-root (its containerd's socket and state live there), pid file,
    /// socket, key and config; no bridge, no iptables, no ip_forward; cgroupfs driver with a unique relative
    /// cgroup parent. Stopped by its pid at the end; everything it made is removed and checked gone.
    /// </summary>
    public sealed class Dockerd : Engine
    {
        public const string Client = "/usr/bin/docker"; // Debian's; /usr/local/bin may hold another docker CLI
        public const string Image = "berth-test/busybox:latest";
        readonly Daemon _daemon;
        readonly HostCleanup.FixedPaths _fixed = new("/run/docker/plugins", "/run/docker", "/run/containerd/s", "/run/containerd/fifo", "/run/containerd");
        int _logMark;

        string Socket => Path.Combine(Dir, "docker.sock");
        string PidFile => Path.Combine(Dir, "dockerd.pid");

        public Dockerd() : base("docker")
        {
            // The trust key would go to /etc/docker/key.json: daemon.json moves it (20.10 has no flag for it).
            File.WriteAllText(Path.Combine(Dir, "daemon.json"), $"{{\"deprecated-key-path\": \"{Dir}/key.json\"}}\n");
            _daemon = Daemon.Start("/usr/sbin/dockerd", new[]
            {
                "--data-root", Path.Combine(Dir, "data"), "--exec-root", Path.Combine(Dir, "exec"),
                "--pidfile", PidFile, "-H", "unix://" + Socket,
                "--config-file", Path.Combine(Dir, "daemon.json"),
                "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--userland-proxy=false",
                "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", CgroupParent,
                "--storage-driver", "overlay2",
                "--add-runtime", "berth=" + Runtime.Path, "--default-runtime", "berth",
            }, Path.Combine(Dir, "dockerd.log"));
            try
            {
                _daemon.WaitReady(() => File.Exists(Socket) && Docker("version").ExitCode == 0, TimeSpan.FromSeconds(60));
                var archive = Busybox.DockerArchive(Path.Combine(Dir, "image"), Image);
                var load = Docker("load", "-i", archive);
                if (load.ExitCode != 0) throw new InvalidOperationException($"docker load failed:\n{load}");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Outcome Docker(params string[] args) => Tool.Run(Client, new[] { "-H", "unix://" + Socket }.Concat(args),
            new Dictionary<string, string> { ["DOCKER_CONFIG"] = Path.Combine(Dir, "client") });

        /// <summary>`docker run` without a network (the daemon has no bridge): what each test adds follows.</summary>
        public Outcome Run(params string[] args) => Docker(new[] { "run", "--network", "none" }.Concat(args).ToArray());

        /// <summary>Removes every container this daemon has (a test's leftovers after a failure).</summary>
        public void RemoveAll()
        {
            var ids = Docker("ps", "-aq").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (ids.Length > 0) Docker(new[] { "rm", "-f" }.Concat(ids).ToArray());
        }

        /// <summary>dockerd 20.10 gives every runtime `--root &lt;exec-root&gt;/runtime-runc/moby`.</summary>
        protected override IEnumerable<string> RuntimeStateRoots() =>
            Directory.Exists(Path.Combine(Dir, "exec")) ? Directory.GetDirectories(Path.Combine(Dir, "exec"), "runtime-*").Select(d => Path.Combine(d, "moby")) : [];

        protected override void MarkLog() => _logMark = _daemon.LineCount();

        protected override string EngineLog()
        {
            var problems = _daemon.Problems(_logMark);
            return problems.Length == 0 ? "" : $"dockerd log ({_daemon.Log}), warnings and errors:\n{problems}\n";
        }

        protected override void Shutdown()
        {
            if (!_daemon.Exited) RemoveAll();
            // dockerd stops its own containerd; its shims exit with their containers.
            _daemon.Stop(TimeSpan.FromSeconds(30), PidFile);
            Tool.WaitUntil(() => HostCleanup.ProcessesMentioning(Dir).Count == 0, TimeSpan.FromSeconds(15));
            Leaks.AddRange(HostCleanup.Kill(HostCleanup.ProcessesMentioning(Dir)));
            Leaks.AddRange(HostCleanup.UnmountAll(Dir).Select(m => $"mount {m}"));
            _fixed.RemoveCreated();
        }
    }

    readonly Dockerd _d;

    public DockerTests(Dockerd d)
    {
        _d = d;
        _d.BeginTest();
    }

    public void Dispose()
    {
        _d.RemoveAll();
        _d.AssertNoContainerCgroups("after docker rm");
        _d.AssertNoRuntimeState("after docker rm");
    }

    const string MemoryLimit = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max";

    [Fact]
    public void Run_rm_prints_the_output_and_gives_the_exit_code()
    {
        var r = _d.Exit(3, _d.Run("--rm", Dockerd.Image, "sh", "-c", "echo hello from docker; exit 3"));
        _d.Stdout("hello from docker\n", r);
        _d.Stdout("", _d.Ok(_d.Docker("ps", "-aq")));
    }

    [Fact]
    public void Run_detached_then_exec_then_stop()
    {
        var id = _d.Ok(_d.Run("-d", Dockerd.Image, "sleep", "300")).Stdout.Trim();
        var exec = _d.Ok(_d.Docker("exec", id, "sh", "-c", "echo exec-ok; tr '\\0' ' ' < /proc/1/cmdline"));
        _d.Stdout("exec-ok\nsleep 300 ", exec);
        // sleep as pid 1 ignores SIGTERM: stop kills it after the timeout, reported as 128+9.
        _d.Ok(_d.Docker("stop", "-t", "1", id));
        _d.Stdout("exited 137\n", _d.Ok(_d.Docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", id)));
    }

    [Fact]
    public void Run_tty_gives_the_process_a_terminal()
    {
        var r = _d.Ok(_d.Run("--rm", "-t", Dockerd.Image, "sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys"));
        _d.Stdout("/dev/pts/0\r\nboth-ttys\r\n", r);
    }

    [Fact]
    public void Read_only_root_is_writable_only_in_its_tmpfs()
    {
        var r = _d.Ok(_d.Run("--rm", "--read-only", "--tmpfs", "/x", Dockerd.Image, "sh", "-c",
            "echo data > /x/f && cat /x/f; if touch /f 2>/dev/null; then echo root-writable; else echo root-read-only; fi; " +
            "grep ' /x ' /proc/mounts | cut -d' ' -f3"));
        _d.Stdout("data\nroot-read-only\ntmpfs\n", r);
    }

    [Fact]
    public void A_process_over_its_memory_limit_is_OOM_killed_with_137()
    {
        var name = "oom-" + Guid.NewGuid().ToString("N")[..8];
        var r = _d.Exit(137, _d.Run("--name", name, "--memory", "32m", Dockerd.Image, "sh", "-c", $"{MemoryLimit}; tail /dev/zero"));
        _d.Stdout($"{32L << 20}\n", r);
        _d.Stdout("true 137\n", _d.Ok(_d.Docker("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", name)));
    }

    [Fact]
    public void Update_memory_changes_the_limit_the_container_sees()
    {
        var id = _d.Ok(_d.Run("-d", "--memory", "64m", Dockerd.Image, "sleep", "300")).Stdout.Trim();
        _d.Stdout($"{64L << 20}\n", _d.Ok(_d.Docker("exec", id, "sh", "-c", MemoryLimit)));
        _d.Ok(_d.Docker("update", "--memory", "48m", id));
        _d.Stdout($"{48L << 20}\n", _d.Ok(_d.Docker("exec", id, "sh", "-c", MemoryLimit)));
    }

    /// <summary>docker sends cpu.shares 0 and blockIO.weight 0 in every config: zero means "not set", not the kernel's minimum.</summary>
    [Fact]
    public void A_container_without_limits_keeps_the_cgroup_defaults()
    {
        var r = _d.Ok(_d.Run("--rm", Dockerd.Image, "sh", "-c",
            "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.soft_limit_in_bytes"));
        _d.Stdout("1024\n-1\n9223372036854771712\n", r);
    }

    /// <summary>`docker update` sends 0 for every field it does not change: those keep their values.</summary>
    [Fact]
    public void Update_leaves_the_limits_it_was_not_given_as_they_were()
    {
        var id = _d.Ok(_d.Run("-d", "--cpu-shares", "512", "--cpu-period", "50000", "--cpu-quota", "25000", "--memory", "64m",
            "--memory-reservation", "16m", Dockerd.Image, "sleep", "300")).Stdout.Trim();
        const string show = "cat /sys/fs/cgroup/cpu/cpu.shares /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us " +
                            "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes /sys/fs/cgroup/memory/memory.limit_in_bytes";
        _d.Stdout($"512\n50000\n25000\n{16L << 20}\n{64L << 20}\n", _d.Ok(_d.Docker("exec", id, "sh", "-c", show)));
        _d.Ok(_d.Docker("update", "--memory", "48m", id));
        _d.Stdout($"512\n50000\n25000\n{16L << 20}\n{48L << 20}\n", _d.Ok(_d.Docker("exec", id, "sh", "-c", show)));
    }

    [Fact]
    public void Cap_drop_all_leaves_the_process_no_capability()
    {
        var r = _d.Ok(_d.Run("--rm", "--cap-drop", "ALL", Dockerd.Image, "sh", "-c",
            "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status | tr -s '\\t' ' '; chown 1 /tmp 2>/dev/null || echo chown-denied"));
        _d.Stdout("CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n" +
                  "CapBnd: 0000000000000000\nCapAmb: 0000000000000000\nchown-denied\n", r);
    }
}

/// <summary>The engines run one at a time: they share /run/containerd/s and two cores with the rest of the suite.</summary>
[CollectionDefinition("clients", DisableParallelization = true)]
public class ClientsCollection { }
