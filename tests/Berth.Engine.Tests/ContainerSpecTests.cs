using Berth.Engine.Network;
using Berth.Engine.Specs;
using Berth.Engine.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>The config.json the engine hands the runtime, read as data: no root, no container.</summary>
public sealed class ContainerSpecTests : IDisposable
{
    readonly string _rootfs = Directory.CreateTempSubdirectory("berth-spec-").FullName;
    readonly ContainerPaths _paths;

    public ContainerSpecTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllText(Path.Combine(_rootfs, "etc/passwd"), "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        File.WriteAllText(Path.Combine(_rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
        _paths = new ContainerPaths(_rootfs, "/h/hostname", "/h/hosts", "/h/resolv.conf", null);
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    static ImageConfig Image(string? user = null, List<string>? entrypoint = null, List<string>? cmd = null) => new()
    {
        Config = new ContainerConfig { User = user, Entrypoint = entrypoint, Cmd = cmd ?? new() { "sh" }, Env = new() { "A=image", "PATH=/image/bin" }, WorkingDir = "/srv" },
    };

    Oci.Runtime.Spec Build(RunOptions o, ImageConfig? image = null) => ContainerSpec.Build(new string('a', 64), image ?? Image(), o, _paths, Array.Empty<Oci.Runtime.Mount>());

    [Fact]
    public void The_default_is_hardened()
    {
        var spec = Build(new RunOptions { Image = "x" });
        Assert.Equal(new[] { "CAP_NET_BIND_SERVICE" }, spec.Process!.Capabilities!.Bounding);
        Assert.True(spec.Process.NoNewPrivileges);
        Assert.NotNull(spec.Linux!.Seccomp);
        Assert.True(spec.Root!.Readonly);
        Assert.Contains(spec.Mounts!, m => m.Destination == "/tmp" && m.Type == "tmpfs");
        Assert.Contains(spec.Mounts!, m => m.Destination == "/run" && m.Type == "tmpfs");
        Assert.Contains("/proc/kcore", spec.Linux.MaskedPaths!);
        Assert.Equal(ContainerSpec.DefaultPidsLimit, spec.Linux.Resources!.Pids!.Limit);
        Assert.Equal(new[] { "pid", "network", "ipc", "uts", "mount", "cgroup" }, spec.Linux.Namespaces!.Select(n => n.Type));
        Assert.All(spec.Linux.Namespaces!, n => Assert.Null(n.Path));
        Assert.Equal("berth-" + new string('a', 64), spec.Linux.CgroupsPath);
    }

    [Fact]
    public void Each_opt_out_loosens_only_what_it_names()
    {
        var spec = Build(new RunOptions { Image = "x", ReadOnly = false, CapAdd = { "chown" }, CapDrop = { "NET_BIND_SERVICE" }, SecurityOpts = { "seccomp=unconfined" } });
        Assert.Equal(new[] { "CAP_CHOWN" }, spec.Process!.Capabilities!.Bounding);
        Assert.Null(spec.Linux!.Seccomp);
        Assert.False(spec.Root!.Readonly);
        Assert.DoesNotContain(spec.Mounts!, m => m.Destination == "/tmp" && m.Type == "tmpfs");
        Assert.True(spec.Process.NoNewPrivileges);
        Assert.NotNull(spec.Linux.MaskedPaths);

        var privileged = Build(new RunOptions { Image = "x", Privileged = true });
        Assert.Contains("CAP_SYS_ADMIN", privileged.Process!.Capabilities!.Bounding!);
        Assert.Null(privileged.Linux!.Seccomp);
        Assert.Null(privileged.Linux.MaskedPaths);
        Assert.True(privileged.Root!.Readonly); // --read-only=false is its own opt-out

        Assert.False(Build(new RunOptions { Image = "x", SecurityOpts = { "no-new-privileges=false" } }).Process!.NoNewPrivileges);
        Assert.DoesNotContain(Build(new RunOptions { Image = "x", Network = "host" }).Linux!.Namespaces!, n => n.Type == "network");
    }

    [Fact]
    public void Args_env_cwd_and_user_follow_dockers_rules()
    {
        var image = Image(user: "app", entrypoint: new() { "/entry" }, cmd: new() { "default" });
        var spec = Build(new RunOptions { Image = "x", Env = { "A=flag", "B=2" } }, image);
        Assert.Equal(new[] { "/entry", "default" }, spec.Process!.Args);
        Assert.Equal(new[] { "PATH=/image/bin", "A=flag", "B=2" }, spec.Process.Env);
        Assert.Equal("/srv", spec.Process.Cwd);
        Assert.Equal((1000u, 1000u), (spec.Process.User!.Uid!.Value, spec.Process.User.Gid!.Value));
        Assert.Equal(new List<uint> { 2000 }, spec.Process.User.AdditionalGids);

        Assert.Equal(new[] { "/entry", "mine" }, Build(new RunOptions { Image = "x", Command = { "mine" } }, image).Process!.Args);
        // --entrypoint replaces the image's and drops its CMD.
        Assert.Equal(new[] { "/other" }, Build(new RunOptions { Image = "x", Entrypoint = "/other" }, image).Process!.Args);
        Assert.Equal(new[] { ContainerSpec.InitPath, "--", "/entry", "default" }, Build(new RunOptions { Image = "x", Init = true }, image).Process!.Args);
        Assert.Equal((0u, 1000u), Build(new RunOptions { Image = "x", User = "0:app" }, image).Process!.User is { } u ? (u.Uid!.Value, u.Gid!.Value) : default);
        Assert.Throws<EngineException>(() => Build(new RunOptions { Image = "x", User = "ghost" }, image));
        Assert.Throws<EngineException>(() => Build(new RunOptions { Image = "x", WorkDir = "relative" }, image));
    }

    [Fact]
    public void Limits_become_cgroup_resources_and_rlimits()
    {
        var spec = Build(new RunOptions { Image = "x", Memory = 64 << 20, Cpus = 1.5, PidsLimit = 100, Ulimits = { "nofile=100:200", "nproc=50" } });
        var res = spec.Linux!.Resources!;
        Assert.Equal(64L << 20, res.Memory!.Limit);
        Assert.Equal((150_000L, 100_000UL), (res.Cpu!.Quota!.Value, res.Cpu.Period!.Value));
        Assert.Equal(100, res.Pids!.Limit);
        Assert.Contains(spec.Process!.Rlimits!, r => r.Type == "RLIMIT_NOFILE" && r.Soft == 100 && r.Hard == 200);
        Assert.Contains(spec.Process.Rlimits!, r => r.Type == "RLIMIT_NPROC" && r.Soft == 50 && r.Hard == 50);
        Assert.Throws<EngineException>(() => Build(new RunOptions { Image = "x", Ulimits = { "nofile=9:1" } }));
    }

    [Fact]
    public void A_record_survives_a_round_trip()
    {
        var r = new ContainerRecord
        {
            Id = new string('b', 64), Name = "n", Image = "img", Created = "2026-12-02T00:00:00Z", Command = { "sh", "-c", "x" }, Phase = Phase.Started,
            Pid = 42, PidStart = 7, ExitCode = 3, OomKilled = true, Ports = { new PortMapping("127.0.0.1", 8080, 80, "tcp") },
            Mounts = { new MountRequest("volume", "v", "/data", true, new[] { "nocopy" }) { Anonymous = true } }, Labels = { ["k"] = "v" },
        };
        var back = ContainerRecord.Parse(r.ToJson(), "test");
        Assert.Equal(r.ToJson(), back.ToJson());
        Assert.Equal("127.0.0.1:8080->80/tcp", back.Ports[0].ToString());
        Assert.True(back.Mounts[0].Anonymous);
    }
}
