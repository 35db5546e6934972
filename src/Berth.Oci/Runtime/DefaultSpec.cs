namespace Berth.Oci.Runtime;

/// <summary>The config `runc spec` writes, field for field, so tools and docs written for runc carry over.</summary>
public static class DefaultSpec
{
    static readonly string[] DefaultCaps = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };

    public static Spec Create()
    {
        return new Spec
        {
            OciVersion = SpecVersion.Current,
            Process = new Process
            {
                Terminal = true,
                User = new User { Uid = 0, Gid = 0 },
                Args = new() { "sh" },
                Env = new() { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm" },
                Cwd = "/",
                Capabilities = new Capabilities
                {
                    Bounding = new(DefaultCaps),
                    Effective = new(DefaultCaps),
                    Permitted = new(DefaultCaps),
                    Ambient = new(DefaultCaps),
                },
                Rlimits = new() { new Rlimit { Type = "RLIMIT_NOFILE", Hard = 1024, Soft = 1024 } },
                NoNewPrivileges = true,
            },
            Root = new Root { Path = "rootfs", Readonly = true },
            Hostname = "berth",
            Mounts = new()
            {
                new Mount { Destination = "/proc", Type = "proc", Source = "proc" },
                new Mount { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "strictatime", "mode=755", "size=65536k" } },
                new Mount { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = new() { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
                new Mount { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = new() { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
                new Mount { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = new() { "nosuid", "noexec", "nodev" } },
                new Mount { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = new() { "nosuid", "noexec", "nodev", "ro" } },
                new Mount { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = new() { "nosuid", "noexec", "nodev", "relatime", "ro" } },
            },
            Linux = new Linux
            {
                Resources = new Resources { Devices = new() { new DeviceCgroup { Allow = false, Access = "rwm" } } },
                Namespaces = new()
                {
                    new LinuxNamespace { Type = "pid" },
                    new LinuxNamespace { Type = "network" },
                    new LinuxNamespace { Type = "ipc" },
                    new LinuxNamespace { Type = "uts" },
                    new LinuxNamespace { Type = "mount" },
                },
                MaskedPaths = new()
                {
                    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                },
                ReadonlyPaths = new() { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" },
            },
        };
    }

    /// <summary>
    /// `berth spec --hardened`: every capability dropped but CAP_NET_BIND_SERVICE, no new
    /// privileges, a read-only root with tmpfs /tmp and /run, a cgroup namespace, and the
    /// seccomp allowlist in Profiles/seccomp-hardened.json for this machine's architectures.
    /// </summary>
    public static Spec Hardened(string machineArchitecture)
    {
        var spec = Create();
        var only = new[] { "CAP_NET_BIND_SERVICE" };
        var p = spec.Process!;
        p.Capabilities = new Capabilities
        {
            Bounding = new(only), Effective = new(only), Permitted = new(only), Inheritable = new(only), Ambient = new(only),
        };
        p.NoNewPrivileges = true;
        spec.Root!.Readonly = true;
        spec.Mounts!.Add(new Mount { Destination = "/tmp", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "nodev", "noexec", "mode=1777", "size=65536k" } });
        spec.Mounts.Add(new Mount { Destination = "/run", Type = "tmpfs", Source = "tmpfs", Options = new() { "nosuid", "nodev", "noexec", "mode=755", "size=16384k" } });
        spec.Linux!.Namespaces!.Add(new LinuxNamespace { Type = "cgroup" });
        var seccomp = HardenedSeccomp();
        seccomp.Architectures = machineArchitecture switch
        {
            "aarch64" or "arm64" => new() { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM" },
            _ => new() { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" },
        };
        spec.Linux.Seccomp = seccomp;
        return spec;
    }

    /// <summary>The allowlist as shipped (an OCI seccomp object; its "comment" fields are ignored like any unknown property).</summary>
    public static Seccomp HardenedSeccomp()
    {
        using var stream = typeof(DefaultSpec).Assembly.GetManifestResourceStream("seccomp-hardened.json")
            ?? throw new InvalidOperationException("seccomp-hardened.json is not embedded");
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        return Json.JsonIn.Parse(ms.ToArray(), "seccomp-hardened.json", Seccomp.Read);
    }

    /// <summary>runc's --rootless rewrite: a user namespace mapping the caller to root, no network namespace, /sys bind-mounted, no uid=/gid= mount options, no cgroup resources.</summary>
    public static Spec ToRootless(Spec spec, uint uid, uint gid)
    {
        var linux = spec.Linux ??= new Linux();
        linux.Namespaces = (linux.Namespaces ?? new())
            .Where(n => n.Type is not ("network" or "user"))
            .Append(new LinuxNamespace { Type = "user" })
            .ToList();
        linux.UidMappings = new() { new IdMapping { ContainerId = 0, HostId = uid, Size = 1 } };
        linux.GidMappings = new() { new IdMapping { ContainerId = 0, HostId = gid, Size = 1 } };
        linux.Resources = null;
        spec.Mounts = spec.Mounts?.Select(m => m.Destination?.TrimEnd('/') == "/sys"
            ? new Mount { Destination = "/sys", Type = "none", Source = "/sys", Options = new() { "rbind", "nosuid", "noexec", "nodev", "ro" } }
            : new Mount
            {
                Destination = m.Destination, Type = m.Type, Source = m.Source,
                Options = m.Options?.Where(o => !o.StartsWith("uid=") && !o.StartsWith("gid=")).ToList(),
            }).ToList();
        return spec;
    }
}
