using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// Debian's podman (4.3, rootful) driving the runtime under test, in a private store: the everyday commands of
/// an engine, through conmon (console socket, pid files, exec --process), and the mount and user-namespace
/// options podman users reach for (`--read-only`, `--tmpfs`, `--uidmap`).
/// </summary>
[Collection("clients")]
public sealed class PodmanTests : IClassFixture<PodmanTests.Store>, IDisposable
{
    /// <summary>
    /// A private podman store (vfs) with the busybox image imported from a tarball the test builds; a unique cgroup
    /// parent; network config in the store. Removed at the end.
    /// </summary>
    public sealed class Store : Engine
    {
        public const string Image = "localhost/berth-test/busybox:latest";
        // podman 4.3 passes the runtime no --root: it uses its default state root (/run/runc for the baseline).
        readonly HostCleanup.FixedPaths _fixed = new("/run/" + RuntimeUnderTest.Name);

        public Store() : base("podman")
        {
            try
            {
                var tar = Busybox.RootfsTar(Path.Combine(Dir, "image"));
                var r = Podman("import", tar, Image);
                if (r.ExitCode != 0) throw new InvalidOperationException($"podman import failed:\n{r}");
            }
            catch
            {
                try { Dispose(); } catch (InvalidOperationException) { }
                throw;
            }
        }

        public string[] Globals => new[]
        {
            "--root", Path.Combine(Dir, "root"), "--runroot", Path.Combine(Dir, "runroot"), "--tmpdir", Path.Combine(Dir, "tmp"),
            "--network-config-dir", Path.Combine(Dir, "net"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        };

        /// <summary>DESIGN.md host facts: this host's hard NOFILE is 20000, no network but none.</summary>
        public string[] RunFlags => new[]
        {
            "--network", "none", "--pull", "never", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
            "--runtime", Runtime.Path, "--cgroup-parent", CgroupParent,
        };

        public Outcome Podman(params string[] args) => Tool.Run("podman", Globals.Concat(args));

        public Outcome Run(params string[] args) => Podman(new[] { "run" }.Concat(RunFlags).Concat(args).ToArray());

        protected override bool IsContainerCgroup(string dir) => Path.GetFileName(dir).StartsWith("libpod-", StringComparison.Ordinal);

        protected override string EngineLog() => "";

        public void RemoveAll() => Podman("rm", "--all", "--force", "--time", "0");

        protected override void Shutdown()
        {
            RemoveAll();
            Podman("system", "reset", "--force");
            Leaks.AddRange(HostCleanup.Kill(HostCleanup.ProcessesMentioning(Dir)));
            _fixed.RemoveCreated();
        }
    }

    readonly Store _s;
    static readonly string[] MachineStores = { "/var/lib/containers/storage/overlay-containers", "/var/lib/containers/storage/vfs-containers" };
    readonly Dictionary<string, int> _machineBefore;

    public PodmanTests(Store s)
    {
        _s = s;
        _s.BeginTest();
        _machineBefore = MachineStores.ToDictionary(d => d, Count);
    }

    static int Count(string dir) => Directory.Exists(dir) ? Directory.GetFileSystemEntries(dir).Length : 0;

    /// <summary>Nothing of these tests may land in the machine's own podman store, nor stay in cgroups.</summary>
    public void Dispose()
    {
        _s.RemoveAll();
        foreach (var (dir, before) in _machineBefore) Assert.Equal(before, Count(dir));
        _s.AssertNoContainerCgroups("after podman rm");
    }

    [Fact]
    public void Run_rm_echo_prints_and_leaves_nothing()
    {
        var r = _s.Ok(_s.Run("--rm", Store.Image, "echo", "hello from podman"));
        _s.Stdout("hello from podman\n", r);
        _s.Stdout("", _s.Ok(_s.Podman("ps", "-aq")));
    }

    [Fact]
    public void Run_detached_then_exec_stop_and_rm()
    {
        var id = _s.Ok(_s.Run("-d", Store.Image, "sleep", "60")).Stdout.Trim();
        var r = _s.Ok(_s.Podman("exec", id, "sh", "-c", "echo exec-ok; tr '\\0' ' ' < /proc/1/cmdline"));
        _s.Stdout("exec-ok\nsleep 60 ", r);
        _s.Ok(_s.Podman("stop", "-t", "1", id));
        _s.StdoutHas("Exited", _s.Ok(_s.Podman("ps", "-a", "--format", "{{.Status}}")));
        _s.Ok(_s.Podman("rm", id));
        _s.Stdout("", _s.Ok(_s.Podman("ps", "-aq")));
    }

    [Fact]
    public void Run_tty_hands_conmon_a_terminal()
    {
        // podman wants a terminal on its own stdin for -t: script(1) gives it one.
        var line = string.Join(' ', new[] { "podman" }.Concat(_s.Globals).Concat(new[] { "run", "--rm", "-t" }).Concat(_s.RunFlags)
            .Concat(new[] { Store.Image, "tty" }).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        var r = _s.Ok(Tool.Run("script", "-qec", line, "/dev/null"));
        _s.StdoutHas("/dev/pts/0", r);
    }

    [Fact]
    public void A_memory_limit_is_seen_inside()
    {
        var r = _s.Ok(_s.Run("--rm", "--memory", "64m", Store.Image, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"));
        _s.Stdout($"{64L << 20}\n", r);
    }

    [Fact]
    public void A_failing_command_gives_its_exit_code_and_a_missing_binary_podmans_usual_error()
    {
        _s.Exit(42, _s.Run("--rm", Store.Image, "sh", "-c", "exit 42"));
        var id = _s.Ok(_s.Run("-d", Store.Image, "sleep", "60")).Stdout.Trim();
        var r = _s.Exit(127, _s.Podman("exec", id, "no-such-binary"));
        _s.Holds(r.Stderr.Contains("executable file not found", StringComparison.Ordinal), "podman's \"executable file not found\"", r);
    }

    [Fact]
    public void Read_only_root_is_writable_only_in_the_tmpfs_podman_adds()
    {
        // --read-only adds tmpfs on /tmp, /var/tmp and /run, with the tmpcopyup option.
        var r = _s.Ok(_s.Run("--rm", "--read-only", Store.Image, "sh", "-c",
            "echo data > /tmp/f && cat /tmp/f; if touch /f 2>/dev/null; then echo root-writable; else echo root-read-only; fi; " +
            "grep -E ' /(tmp|var/tmp|run) ' /proc/mounts | cut -d' ' -f2,3 | sort"));
        _s.Stdout("data\nroot-read-only\n/run tmpfs\n/tmp tmpfs\n/var/tmp tmpfs\n", r);
    }

    [Fact]
    public void A_tmpfs_mount_is_writable_and_starts_with_the_image_content_under_it()
    {
        var dir = Path.GetDirectoryName(Busybox.SeedFile)!;
        var r = _s.Ok(_s.Run("--rm", "--tmpfs", dir, Store.Image, "sh", "-c",
            $"cat {Busybox.SeedFile}; echo new > {dir}/new && cat {dir}/new; grep ' {dir} ' /proc/mounts | cut -d' ' -f3"));
        _s.Stdout(Busybox.SeedContent + "new\ntmpfs\n", r);
    }

    [Fact]
    public void Uidmap_runs_the_container_as_the_mapped_host_uids()
    {
        var id = _s.Ok(_s.Run("-d", "--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536", Store.Image, "sleep", "300")).Stdout.Trim();
        var inside = _s.Ok(_s.Podman("exec", id, "sh", "-c", "id -u; tr -s ' ' < /proc/self/uid_map; tr -s ' ' < /proc/self/gid_map"));
        _s.Stdout("0\n 0 200000 65536\n 0 200000 65536\n", inside);
        var pid = _s.Ok(_s.Podman("inspect", "--format", "{{.State.Pid}}", id)).Stdout.Trim();
        var uid = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        _s.Holds(uid.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1] == "200000", $"the container's pid 1 runs as host uid 200000 (status: {uid})", inside);
    }
}
