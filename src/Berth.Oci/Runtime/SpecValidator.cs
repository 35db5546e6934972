namespace Berth.Oci.Runtime;

/// <summary>
/// The MUSTs of config.md and config-linux.md that can be checked without touching the host.
/// Each failure names the field, as "process.args: ..." or "linux.namespaces[2].type: ...".
/// </summary>
public static class SpecValidator
{
    public static readonly HashSet<string> Propagations = new()
    {
        "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable",
    };

    public static readonly HashSet<string> RlimitTypes = new()
    {
        "RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_LOCKS",
        "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC",
        "RLIMIT_RSS", "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
    };

    /// <summary>sched_setattr(2) policies and flags by runtime-spec name.</summary>
    public static readonly IReadOnlyDictionary<string, uint> SchedPolicies = new Dictionary<string, uint>
    {
        ["SCHED_OTHER"] = 0, ["SCHED_FIFO"] = 1, ["SCHED_RR"] = 2, ["SCHED_BATCH"] = 3,
        ["SCHED_ISO"] = 4, ["SCHED_IDLE"] = 5, ["SCHED_DEADLINE"] = 6,
    };

    public static readonly IReadOnlyDictionary<string, ulong> SchedFlags = new Dictionary<string, ulong>
    {
        ["SCHED_FLAG_RESET_ON_FORK"] = 0x01, ["SCHED_FLAG_RECLAIM"] = 0x02, ["SCHED_FLAG_DL_OVERRUN"] = 0x04,
        ["SCHED_FLAG_KEEP_POLICY"] = 0x08, ["SCHED_FLAG_KEEP_PARAMS"] = 0x10, ["SCHED_FLAG_UTIL_CLAMP_MIN"] = 0x20,
        ["SCHED_FLAG_UTIL_CLAMP_MAX"] = 0x40,
    };

    const long MaxMajor = (1 << 12) - 1, MaxMinor = (1 << 20) - 1;
    const long MaxTimeOffsetSecs = long.MaxValue / 1_000_000_000 / 2;

    static readonly HashSet<string> NamespaceTypes = new() { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" };

    /// <summary>Validates a config for create/run: the process is required then.</summary>
    public static void Validate(Spec spec)
    {
        ValidateVersion(spec.OciVersion);

        if (spec.Root is null) throw new SpecException("root", "is required on Linux");
        if (string.IsNullOrEmpty(spec.Root.Path)) throw new SpecException("root.path", "is required");

        if (spec.Process is null) throw new SpecException("process", "is required to create a container");
        ValidateProcess(spec.Process, "process");

        if (spec.Mounts is { } mounts)
            for (int i = 0; i < mounts.Count; i++)
            {
                var m = mounts[i] ?? throw new SpecException($"mounts[{i}]", "is null");
                if (string.IsNullOrEmpty(m.Destination)) throw new SpecException($"mounts[{i}].destination", "is required");
                if (!m.Destination.StartsWith('/')) throw new SpecException($"mounts[{i}].destination", $"\"{m.Destination}\" is not an absolute path");
                if (m.Options is { } opts && opts.Any(o => o is null)) throw new SpecException($"mounts[{i}].options", "holds a null");
            }

        if (spec.Hooks is { } hooks) ValidateHooks(hooks);

        var linux = spec.Linux;
        var ns = ValidateNamespaces(linux?.Namespaces);

        // runc's rule: a uts namespace of the container's, new or joined (the launcher refuses a
        // joined one that is the host's).
        if (!string.IsNullOrEmpty(spec.Hostname) && !ns.Has("uts"))
            throw new SpecException("hostname", "needs the container's own uts namespace (linux.namespaces has no uts entry)");
        if (!string.IsNullOrEmpty(spec.Domainname) && !ns.Has("uts"))
            throw new SpecException("domainname", "needs the container's own uts namespace (linux.namespaces has no uts entry)");
        // Without a mount namespace of its own the container's is the runtime's (or one joined):
        // anything mounted would be mounted there.
        if (!ns.New("mount"))
        {
            const string why = "needs a new mount namespace (a \"mount\" entry without a path); without one the runtime's own would get it";
            if (spec.Mounts is { Count: > 0 }) throw new SpecException("mounts", why);
            if (spec.Linux?.MaskedPaths is { Count: > 0 }) throw new SpecException("linux.maskedPaths", why);
            if (spec.Linux?.ReadonlyPaths is { Count: > 0 }) throw new SpecException("linux.readonlyPaths", why);
            if (spec.Root?.Readonly == true) throw new SpecException("root.readonly", why);
            if (!string.IsNullOrEmpty(spec.Linux?.RootfsPropagation)) throw new SpecException("linux.rootfsPropagation", why);
        }

        if (linux is null) return;

        if (ns.New("user"))
        {
            if (linux.UidMappings is not { Count: > 0 }) throw new SpecException("linux.uidMappings", "is required with a new user namespace");
            if (linux.GidMappings is not { Count: > 0 }) throw new SpecException("linux.gidMappings", "is required with a new user namespace");
        }
        else if (!ns.Has("user") && (linux.UidMappings is { Count: > 0 } || linux.GidMappings is { Count: > 0 }))
        {
            throw new SpecException("linux.uidMappings", "needs a user namespace in linux.namespaces");
        }
        ValidateMappings(linux.UidMappings, "linux.uidMappings");
        ValidateMappings(linux.GidMappings, "linux.gidMappings");
        if (ns.New("user")) ValidateUserMapped(spec.Process, linux, "process");

        if (linux.TimeOffsets is not null && !ns.New("time"))
            throw new SpecException("linux.timeOffsets", "needs a new time namespace");
        foreach (var (clock, offset) in new[] { ("monotonic", linux.TimeOffsets?.Monotonic), ("boottime", linux.TimeOffsets?.Boottime) })
        {
            if (offset is null) continue;
            // The kernel's bounds (timens_offsets): nanoseconds below one second, seconds within KTIME_SEC_MAX/2.
            if (offset.Nanosecs is >= 1_000_000_000) throw new SpecException($"linux.timeOffsets.{clock}.nanosecs", $"{offset.Nanosecs} is out of range (0..999999999)");
            if (offset.Secs is < -MaxTimeOffsetSecs or > MaxTimeOffsetSecs) throw new SpecException($"linux.timeOffsets.{clock}.secs", $"{offset.Secs} is out of range (±{MaxTimeOffsetSecs})");
        }

        if (linux.RootfsPropagation is { } prop && !Propagations.Contains(prop))
            throw new SpecException("linux.rootfsPropagation", $"\"{prop}\" is not one of {string.Join(", ", Propagations)}");

        ValidatePaths(linux.MaskedPaths, "linux.maskedPaths");
        ValidatePaths(linux.ReadonlyPaths, "linux.readonlyPaths");
        ValidateSysctl(linux.Sysctl, ns, spec);
        if (linux.Devices is { } devices)
            for (int i = 0; i < devices.Count; i++)
            {
                var d = devices[i] ?? throw new SpecException($"linux.devices[{i}]", "is null");
                // Any absolute path (runc creates devices wherever the config says), but a clean one:
                // "/dev/../../x" is not where it seems, and in a user namespace the host's node at
                // that path is bound in (init checks it is the node asked for).
                if (string.IsNullOrEmpty(d.Path) || !d.Path.StartsWith('/') || d.Path.Length == 1 || d.Path[1..].Split('/').Any(c => c is "" or "." or ".."))
                    throw new SpecException($"linux.devices[{i}].path", $"\"{d.Path}\" is not a clean absolute path (no \".\", \"..\" or empty components)");
                if (d.Type is not ("c" or "b" or "u" or "p")) throw new SpecException($"linux.devices[{i}].type", $"\"{d.Type}\" is not c, b, u or p");
                if (d.Type != "p" && (d.Major is null || d.Minor is null)) throw new SpecException($"linux.devices[{i}]", "major and minor are required for a c, b or u device");
                // The kernel's dev_t has 12 bits of major and 20 of minor: larger numbers would name another device.
                if (d.Major is < 0 or > MaxMajor) throw new SpecException($"linux.devices[{i}].major", $"{d.Major} is out of range (0..{MaxMajor})");
                if (d.Minor is < 0 or > MaxMinor) throw new SpecException($"linux.devices[{i}].minor", $"{d.Minor} is out of range (0..{MaxMinor})");
                if (d.FileMode is > 0xfff) throw new SpecException($"linux.devices[{i}].fileMode", $"{d.FileMode} is not a mode (0 to 07777)");
                CheckId(d.Uid, $"linux.devices[{i}].uid");
                CheckId(d.Gid, $"linux.devices[{i}].gid");
            }
        if (linux.MemoryPolicy is { } mp)
        {
            if (mp.Mode is null || !MemoryPolicyModes.ContainsKey(mp.Mode))
                throw new SpecException("linux.memoryPolicy.mode", $"\"{mp.Mode}\" is not one of {string.Join(", ", MemoryPolicyModes.Keys)}");
            foreach (var f in mp.Flags ?? new())
                if (!MemoryPolicyFlags.ContainsKey(f)) throw new SpecException("linux.memoryPolicy.flags", $"\"{f}\" is not a memory policy flag");
            if (mp.Mode is not ("MPOL_DEFAULT" or "MPOL_LOCAL") && string.IsNullOrEmpty(mp.Nodes))
                throw new SpecException("linux.memoryPolicy.nodes", $"is required with {mp.Mode}");
            if (!string.IsNullOrEmpty(mp.Nodes)) CpuList.Parse(mp.Nodes, "linux.memoryPolicy.nodes");
        }
        if (linux.NetDevices is { Count: > 0 } net)
        {
            if (!ns.New("network")) throw new SpecException("linux.netDevices", "needs a new network namespace to move devices into");
            foreach (var (name, dev) in net)
            {
                if (name.Length is 0 or > 15 || name.Contains('/')) throw new SpecException($"linux.netDevices[\"{name}\"]", "is not an interface name");
                if (dev?.Name is { } n && (n.Length is 0 or > 15 || n.Contains('/'))) throw new SpecException($"linux.netDevices[\"{name}\"].name", $"\"{n}\" is not an interface name");
            }
        }
        // closID names a directory under /sys/fs/resctrl: one plain name, never a path.
        if (linux.IntelRdt?.ClosId is { } clos && (clos.Length == 0 || clos.Contains('/') || clos is "." or ".."))
            throw new SpecException("linux.intelRdt.closID", $"\"{clos}\" is not a resctrl group name");

        if (linux.Personality is { } pers)
        {
            if (pers.Domain is not ("LINUX" or "LINUX32")) throw new SpecException("linux.personality.domain", $"\"{pers.Domain}\" is not LINUX or LINUX32");
            foreach (var f in pers.Flags ?? new())
                if (!PersonalityFlags.ContainsKey(f)) throw new SpecException("linux.personality.flags", $"\"{f}\" is not a personality flag");
        }
    }

    /// <summary>set_mempolicy(2) modes and flags by runtime-spec name.</summary>
    public static readonly IReadOnlyDictionary<string, int> MemoryPolicyModes = new Dictionary<string, int>
    {
        ["MPOL_DEFAULT"] = 0, ["MPOL_PREFERRED"] = 1, ["MPOL_BIND"] = 2, ["MPOL_INTERLEAVE"] = 3,
        ["MPOL_LOCAL"] = 4, ["MPOL_PREFERRED_MANY"] = 5, ["MPOL_WEIGHTED_INTERLEAVE"] = 6,
    };

    public static readonly IReadOnlyDictionary<string, int> MemoryPolicyFlags = new Dictionary<string, int>
    {
        ["MPOL_F_NUMA_BALANCING"] = 1 << 13, ["MPOL_F_RELATIVE_NODES"] = 1 << 14, ["MPOL_F_STATIC_NODES"] = 1 << 15,
    };

    /// <summary>personality(2) flag bits by name (include/uapi/linux/personality.h).</summary>
    public static readonly IReadOnlyDictionary<string, ulong> PersonalityFlags = new Dictionary<string, ulong>
    {
        ["UNAME26"] = 0x0020000, ["ADDR_NO_RANDOMIZE"] = 0x0040000, ["FDPIC_FUNCPTRS"] = 0x0080000,
        ["MMAP_PAGE_ZERO"] = 0x0100000, ["ADDR_COMPAT_LAYOUT"] = 0x0200000, ["READ_IMPLIES_EXEC"] = 0x0400000,
        ["ADDR_LIMIT_32BIT"] = 0x0800000, ["SHORT_INODE"] = 0x1000000, ["WHOLE_SECONDS"] = 0x2000000,
        ["STICKY_TIMEOUTS"] = 0x4000000, ["ADDR_LIMIT_3GB"] = 0x8000000,
    };

    static readonly HashSet<string> IpcSysctls = new()
    {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
    };

    /// <summary>
    /// The namespace type ("ipc", "network", "uts") that scopes sysctl <paramref name="key"/>, or
    /// null if the kernel scopes it to none the container can own: IPC limits and fs.mqueue.*
    /// are per ipc namespace, net.* per network namespace, kernel.hostname/domainname per uts
    /// namespace (runc's list). Whether the container's namespace of that type is its own, and
    /// not the host's, is the runtime's to judge, by identity.
    /// </summary>
    public static string? SysctlNamespace(string key) =>
        IpcSysctls.Contains(key) || key.StartsWith("fs.mqueue.", StringComparison.Ordinal) ? "ipc"
        : key.StartsWith("net.", StringComparison.Ordinal) ? "network"
        : key is "kernel.hostname" or "kernel.domainname" ? "uts"
        : null;

    static void ValidateSysctl(Dictionary<string, string>? sysctl, NamespaceSet ns, Spec spec)
    {
        if (sysctl is null) return;
        foreach (var (key, value) in sysctl)
        {
            var field = $"linux.sysctl[\"{key}\"]";
            if (key.Length == 0 || key.Contains("..") || key.StartsWith('.') || key.EndsWith('.') || key.Contains('/'))
                throw new SpecException(field, "is not a sysctl name (dotted form, as net.ipv4.ip_forward)");
            var type = SysctlNamespace(key) ?? throw new SpecException(field, "is not in a namespace the container owns; it would change the host");
            if (!ns.Has(type))
                throw new SpecException(field, $"needs the container's own {type} namespace (linux.namespaces has no {type} entry), or it would change the host's");
            // runc's rule: kernel.hostname has its own field; kernel.domainname has none, so it
            // stays, unless it contradicts the domainname field.
            if (key == "kernel.hostname")
                throw new SpecException(field, "is not allowed: it conflicts with the hostname field (set that instead)");
            if (key == "kernel.domainname" && !string.IsNullOrEmpty(spec.Domainname) && spec.Domainname != value)
                throw new SpecException(field, $"conflicts with domainname \"{spec.Domainname}\"");
        }
    }

    static void ValidateVersion(string? version)
    {
        if (string.IsNullOrEmpty(version)) throw new SpecException("ociVersion", "is required");
        var core = version.Split('-', '+')[0].Split('.');
        if (core.Length != 3 || !core.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)))
            throw new SpecException("ociVersion", $"\"{version}\" is not a SemVer version");
        if (core[0] != "1") throw new SpecException("ociVersion", $"\"{version}\" is not supported (Berth implements 1.x)");
    }

    public static void ValidateProcess(Process p, string field)
    {
        if (p.Args is not { Count: > 0 }) throw new SpecException($"{field}.args", "is required and must not be empty");
        for (int i = 0; i < p.Args.Count; i++)
            if (p.Args[i] is null) throw new SpecException($"{field}.args[{i}]", "is null");
        if (string.IsNullOrEmpty(p.Cwd)) throw new SpecException($"{field}.cwd", "is required");
        if (!p.Cwd.StartsWith('/')) throw new SpecException($"{field}.cwd", $"\"{p.Cwd}\" is not an absolute path");
        if (p.Env is { } env)
            for (int i = 0; i < env.Count; i++)
                if (env[i] is null || !env[i].Contains('=')) throw new SpecException($"{field}.env[{i}]", $"\"{env[i]}\" is not KEY=VALUE");
        if (p.Rlimits is { } rl)
        {
            var seen = new HashSet<string>();
            for (int i = 0; i < rl.Count; i++)
            {
                var r = rl[i] ?? throw new SpecException($"{field}.rlimits[{i}]", "is null");
                if (r.Type is null || !RlimitTypes.Contains(r.Type)) throw new SpecException($"{field}.rlimits[{i}].type", $"\"{r.Type}\" is not a known rlimit");
                if (!seen.Add(r.Type)) throw new SpecException($"{field}.rlimits[{i}].type", $"{r.Type} is given twice");
                if (r.Hard is null) throw new SpecException($"{field}.rlimits[{i}].hard", "is required");
                if (r.Soft is null) throw new SpecException($"{field}.rlimits[{i}].soft", "is required");
                if (r.Soft > r.Hard) throw new SpecException($"{field}.rlimits[{i}]", $"soft limit {r.Soft} is above hard limit {r.Hard}");
            }
        }
        if (p.User is { AdditionalGids: { } gids } && gids.Count > 65536)
            throw new SpecException($"{field}.user.additionalGids", "has more than 65536 entries");
        CheckId(p.User?.Uid, $"{field}.user.uid");
        CheckId(p.User?.Gid, $"{field}.user.gid");
        if (p.User?.AdditionalGids is { } groups)
            for (int i = 0; i < groups.Count; i++) CheckId(groups[i], $"{field}.user.additionalGids[{i}]");
        if (p.User?.Umask is > 0x1ff) throw new SpecException($"{field}.user.umask", $"{p.User.Umask} is not a mode (0 to 0777)");
        if (p.OomScoreAdj is < -1000 or > 1000) throw new SpecException($"{field}.oomScoreAdj", $"{p.OomScoreAdj} is out of range (-1000..1000)");
        if (p.Scheduler is { } sched)
        {
            if (sched.Policy is null || !SchedPolicies.ContainsKey(sched.Policy))
                throw new SpecException($"{field}.scheduler.policy", $"\"{sched.Policy}\" is not one of {string.Join(", ", SchedPolicies.Keys)}");
            foreach (var f in sched.Flags ?? new())
                if (!SchedFlags.ContainsKey(f)) throw new SpecException($"{field}.scheduler.flags", $"\"{f}\" is not a scheduler flag");
            if (sched.Nice is < -20 or > 19) throw new SpecException($"{field}.scheduler.nice", $"{sched.Nice} is out of range (-20..19)");
            // sched_priority: 1..99 for the real-time policies, 0 for the others (sched(7)).
            if (sched.Priority is < 0 or > 99) throw new SpecException($"{field}.scheduler.priority", $"{sched.Priority} is out of range (0..99)");
        }
        if (p.IoPriority is { } io)
        {
            if (io.Class is not ("IOPRIO_CLASS_RT" or "IOPRIO_CLASS_BE" or "IOPRIO_CLASS_IDLE"))
                throw new SpecException($"{field}.ioPriority.class", $"\"{io.Class}\" is not IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE");
            if (io.Priority is < 0 or > 7) throw new SpecException($"{field}.ioPriority.priority", $"{io.Priority} is out of range (0..7)");
        }
        if (p.ExecCpuAffinity is { } aff)
        {
            if (aff.Initial is { } i) CpuList.Parse(i, $"{field}.execCPUAffinity.initial");
            if (aff.Final is { } f) CpuList.Parse(f, $"{field}.execCPUAffinity.final");
        }
        if (p.ConsoleSize is { } box && (box.Height is null || box.Width is null))
            throw new SpecException($"{field}.consoleSize", "height and width are both required");
        // struct winsize holds 16 bits of each.
        if (p.ConsoleSize?.Height is > ushort.MaxValue) throw new SpecException($"{field}.consoleSize.height", $"{p.ConsoleSize.Height} is out of range (0..{ushort.MaxValue})");
        if (p.ConsoleSize?.Width is > ushort.MaxValue) throw new SpecException($"{field}.consoleSize.width", $"{p.ConsoleSize.Width} is out of range (0..{ushort.MaxValue})");
    }

    static void ValidateHooks(Hooks hooks)
    {
        void Check(List<Hook>? list, string name)
        {
            if (list is null) return;
            for (int i = 0; i < list.Count; i++)
            {
                var h = list[i] ?? throw new SpecException($"hooks.{name}[{i}]", "is null");
                if (string.IsNullOrEmpty(h.Path)) throw new SpecException($"hooks.{name}[{i}].path", "is required");
                if (!h.Path.StartsWith('/')) throw new SpecException($"hooks.{name}[{i}].path", $"\"{h.Path}\" is not an absolute path");
                if (h.Timeout is <= 0) throw new SpecException($"hooks.{name}[{i}].timeout", "must be greater than zero");
            }
        }
        Check(hooks.Prestart, "prestart");
        Check(hooks.CreateRuntime, "createRuntime");
        Check(hooks.CreateContainer, "createContainer");
        Check(hooks.StartContainer, "startContainer");
        Check(hooks.Poststart, "poststart");
        Check(hooks.Poststop, "poststop");
    }

    /// <summary>Which namespaces the config asks for, and whether each is new or joined.</summary>
    public sealed class NamespaceSet
    {
        readonly Dictionary<string, string?> _byType = new();
        public void Add(string type, string? path) => _byType[type] = path;
        public bool Has(string type) => _byType.ContainsKey(type);
        public bool New(string type) => _byType.TryGetValue(type, out var p) && string.IsNullOrEmpty(p);
        public bool Joined(string type) => _byType.TryGetValue(type, out var p) && !string.IsNullOrEmpty(p);
        public string? PathOf(string type) => _byType.TryGetValue(type, out var p) ? p : null;
    }

    public static NamespaceSet ValidateNamespaces(List<LinuxNamespace>? list)
    {
        var set = new NamespaceSet();
        if (list is null) return set;
        for (int i = 0; i < list.Count; i++)
        {
            var n = list[i] ?? throw new SpecException($"linux.namespaces[{i}]", "is null");
            if (string.IsNullOrEmpty(n.Type)) throw new SpecException($"linux.namespaces[{i}].type", "is required");
            if (!NamespaceTypes.Contains(n.Type)) throw new SpecException($"linux.namespaces[{i}].type", $"\"{n.Type}\" is not a namespace type");
            if (set.Has(n.Type)) throw new SpecException($"linux.namespaces[{i}].type", $"namespace \"{n.Type}\" is given twice");
            if (!string.IsNullOrEmpty(n.Path) && !n.Path.StartsWith('/'))
                throw new SpecException($"linux.namespaces[{i}].path", $"\"{n.Path}\" is not an absolute path");
            set.Add(n.Type, n.Path);
        }
        return set;
    }

    /// <summary>(uid_t)-1: setresuid, chown and the id maps read it as "leave unchanged", so it can never name an id.</summary>
    public const uint NoChangeId = uint.MaxValue;

    /// <summary>Refuses the kernel's -1 in an id field.</summary>
    public static void CheckId(uint? id, string field)
    {
        if (id == NoChangeId)
            throw new SpecException(field, $"{NoChangeId} is the kernel's -1 (\"leave unchanged\"), not an id: a process given it would keep the runtime's");
    }

    /// <summary>The kernel's limit on uid_map/gid_map lines (since 4.15).</summary>
    const int MaxMappings = 340;

    /// <summary>
    /// The rules the kernel applies when the map is written (it would refuse the write with a
    /// bare EINVAL), checked up front with the field named: every range complete and non-empty,
    /// no range reaching id 4294967295 on either side, no two ranges overlapping on either side.
    /// </summary>
    static void ValidateMappings(List<IdMapping>? maps, string field)
    {
        if (maps is null) return;
        if (maps.Count > MaxMappings) throw new SpecException(field, $"has {maps.Count} ranges, more than the kernel's {MaxMappings}");
        for (int i = 0; i < maps.Count; i++)
        {
            var m = maps[i] ?? throw new SpecException($"{field}[{i}]", "is null");
            if (m.Size is null or 0) throw new SpecException($"{field}[{i}].size", "must be greater than zero");
            if (m.ContainerId is null) throw new SpecException($"{field}[{i}].containerID", "is required");
            if (m.HostId is null) throw new SpecException($"{field}[{i}].hostID", "is required");
            if ((ulong)m.ContainerId.Value + m.Size.Value > NoChangeId)
                throw new SpecException($"{field}[{i}]", $"container ids {m.ContainerId}..{(ulong)m.ContainerId.Value + m.Size.Value - 1} reach past {NoChangeId - 1} ({NoChangeId} is the kernel's -1)");
            if ((ulong)m.HostId.Value + m.Size.Value > NoChangeId)
                throw new SpecException($"{field}[{i}]", $"host ids {m.HostId}..{(ulong)m.HostId.Value + m.Size.Value - 1} reach past {NoChangeId - 1} ({NoChangeId} is the kernel's -1)");
            for (int j = 0; j < i; j++)
            {
                var o = maps[j];
                if (Overlap(m.ContainerId.Value, o.ContainerId!.Value, m.Size.Value, o.Size!.Value))
                    throw new SpecException($"{field}[{i}]", $"its container ids overlap those of {field}[{j}]");
                if (Overlap(m.HostId.Value, o.HostId!.Value, m.Size.Value, o.Size!.Value))
                    throw new SpecException($"{field}[{i}]", $"its host ids overlap those of {field}[{j}]");
            }
        }

        static bool Overlap(ulong a, ulong b, ulong sizeA, ulong sizeB) => a < b + sizeB && b < a + sizeA;
    }

    /// <summary>
    /// With a new user namespace the maps are the config's own: the ids the process switches to
    /// (and root, which init runs as until then) must be mapped, or setresuid fails after the
    /// exec barrier.
    /// </summary>
    public static void ValidateUserMapped(Process p, Linux linux, string field)
    {
        static bool Mapped(List<IdMapping>? maps, uint id) => maps is null || IdMapping.Map(maps, id) is not null;
        if (!Mapped(linux.UidMappings, 0)) throw new SpecException("linux.uidMappings", "does not map container uid 0, which the container's init runs as");
        if (!Mapped(linux.GidMappings, 0)) throw new SpecException("linux.gidMappings", "does not map container gid 0, which the container's init runs as");
        if (p.User?.Uid is { } uid && !Mapped(linux.UidMappings, uid))
            throw new SpecException($"{field}.user.uid", $"{uid} is not mapped by linux.uidMappings");
        if (p.User?.Gid is { } gid && !Mapped(linux.GidMappings, gid))
            throw new SpecException($"{field}.user.gid", $"{gid} is not mapped by linux.gidMappings");
        var groups = p.User?.AdditionalGids ?? new();
        for (int i = 0; i < groups.Count; i++)
            if (!Mapped(linux.GidMappings, groups[i]))
                throw new SpecException($"{field}.user.additionalGids[{i}]", $"{groups[i]} is not mapped by linux.gidMappings");
    }

    static void ValidatePaths(List<string>? paths, string field)
    {
        if (paths is null) return;
        for (int i = 0; i < paths.Count; i++)
            if (paths[i] is null || !paths[i].StartsWith('/')) throw new SpecException($"{field}[{i}]", $"\"{paths[i]}\" is not an absolute path");
    }
}
