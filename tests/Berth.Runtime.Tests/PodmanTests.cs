using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// Debian's podman driving out/berth as its OCI runtime, in a private store: the everyday
/// commands of an engine, through conmon (console socket, pid files, exec --process).
/// </summary>
[Collection("podman")]
public sealed class PodmanTests : IClassFixture<PodmanTests.Store>, IDisposable
{
    /// <summary>A private podman store with a busybox image imported from a tarball the test builds; removed at the end.</summary>
    public sealed class Store : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("berth-podman-").FullName;
        public string Image => "localhost/berth-test/busybox:latest";

        public Store()
        {
            var rootfs = Path.Combine(Dir, "rootfs");
            Rootfs.Make(rootfs);
            var tar = Path.Combine(Dir, "busybox.tar");
            Sandbox.Exec("tar", "-C", rootfs, "-cf", tar, ".").Ok();
            Podman("import", tar, Image).Ok();
        }

        public Result Podman(params string[] args) => Sandbox.Exec("podman", new[]
        {
            "--root", Path.Combine(Dir, "root"), "--runroot", Path.Combine(Dir, "runroot"), "--tmpdir", Path.Combine(Dir, "tmp"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        }.Concat(args).ToArray());

        public Result Run(params string[] args) => Podman(new[]
        {
            "run", "--network", "none", "--pull", "never", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768",
            "--runtime", Sandbox.Binary,
        }.Concat(args).ToArray());

        public void Dispose()
        {
            Podman("rm", "--all", "--force");
            Podman("system", "reset", "--force");
            try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
        }
    }

    readonly Store _store;
    static readonly string[] MachineStores = { "/var/lib/containers/storage/overlay-containers", "/var/lib/containers/storage/vfs-containers" };
    readonly Dictionary<string, int> _machineBefore;

    public PodmanTests(Store store)
    {
        _store = store;
        _machineBefore = MachineStores.ToDictionary(d => d, Count);
    }

    static int Count(string dir) => Directory.Exists(dir) ? Directory.GetFileSystemEntries(dir).Length : 0;

    /// <summary>Nothing of these tests may land in the machine's own podman store.</summary>
    public void Dispose()
    {
        foreach (var (dir, before) in _machineBefore) Assert.Equal(before, Count(dir));
    }

    [Fact]
    public void Run_rm_echo_prints_and_leaves_nothing()
    {
        var r = _store.Run("--rm", _store.Image, "echo", "hello from podman").Ok();
        Assert.Equal("hello from podman\n", r.Stdout);
        Assert.Equal("", _store.Podman("ps", "-aq").Ok().Stdout);
    }

    [Fact]
    public void Run_detached_then_exec_stop_and_rm()
    {
        var id = _store.Run("-d", _store.Image, "sleep", "60").Ok().Stdout.Trim();
        var r = _store.Podman("exec", id, "sh", "-c", "echo exec-ok; cat /proc/1/cmdline").Ok();
        Assert.StartsWith("exec-ok\nsleep", r.Stdout);
        _store.Podman("stop", "-t", "1", id).Ok();
        Assert.Contains("Exited", _store.Podman("ps", "-a", "--format", "{{.Status}}").Ok().Stdout);
        _store.Podman("rm", id).Ok();
        Assert.Equal("", _store.Podman("ps", "-aq").Ok().Stdout);
    }

    [Fact]
    public void Run_tty_hands_conmon_a_terminal()
    {
        var r = Sandbox.Exec("script", "-qec", string.Join(' ', new[]
        {
            "podman", "--root", Path.Combine(_store.Dir, "root"), "--runroot", Path.Combine(_store.Dir, "runroot"),
            "--tmpdir", Path.Combine(_store.Dir, "tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "run", "--rm", "-t", "--network", "none", "--pull", "never",
            "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768", "--runtime", Sandbox.Binary, _store.Image, "tty",
        }), "/dev/null").Ok();
        Assert.Contains("/dev/pts/0", r.Stdout);
    }

    [Fact]
    public void A_memory_limit_is_seen_inside()
    {
        var r = _store.Run("--rm", "--memory", "64m", _store.Image, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").Ok();
        Assert.Equal((64L << 20).ToString(), r.Stdout.Trim());
    }

    [Fact]
    public void A_failing_command_gives_its_exit_code_and_a_missing_binary_podmans_usual_error()
    {
        Assert.Equal(42, _store.Run("--rm", _store.Image, "sh", "-c", "exit 42").ExitCode);
        var id = _store.Run("-d", _store.Image, "sleep", "60").Ok().Stdout.Trim();
        var r = _store.Podman("exec", id, "no-such-binary");
        Assert.Equal(127, r.ExitCode);
        Assert.Contains("executable file not found", r.Stderr);
        _store.Podman("rm", "-f", id).Ok();
    }
}

[CollectionDefinition("podman", DisableParallelization = true)]
public class PodmanCollection { }
