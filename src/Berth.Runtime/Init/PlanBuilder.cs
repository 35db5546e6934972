using System.Text;
using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Protocol;
using Berth.Runtime.Rootfs;
using Capabilities = Berth.Linux.Security.Capabilities;

namespace Berth.Runtime.Init;

/// <summary>
/// Everything a container's init does, decided here in the launcher and written as an
/// <see cref="InitPlan"/> that native/init.c runs (DESIGN.md, "The runtime's process model").
/// The order of the steps is runc's, because the order is the security:
/// rootfs and mounts → /dev → hooks → pivot_root → console, names → sysctl, read-only and
/// masked paths, read-only root → process settings → the executable found → barrier →
/// rlimits → no_new_privs → bounding set → groups, gid, uid → capabilities → signals,
/// close-on-exec → seccomp → execve. Every step that can fail runs before the barrier, except
/// those that must come last.
/// </summary>
public sealed class PlanBuilder
{
    // Registers (native/init.c's reg[]): descriptors the plan opens or was given.
    const int RootReg = 0, TargetReg = 1, SourceReg = 2, DevReg = 3, DevNullReg = 4, ConsoleReg = 5, FifoReg = 6, ListenerReg = 7, ProcReg = 8;

    const ulong MS_RDONLY = MS.RDONLY;
    /// <summary>Open's "root" for a host path resolved with no symlink allowed on its way.</summary>
    const int HostPathNoSymlinks = -2;
    /// <summary>MAX_ARG_STRLEN: the kernel's limit on one argument or environment string, its NUL included.</summary>
    const int MaxArgStrlen = 32 * 4096;
    readonly InitConfig _cfg;
    readonly Spec _spec;
    readonly bool _userns;
    readonly InitPlan _plan = new();

    PlanBuilder(InitConfig cfg, bool userns)
    {
        _cfg = cfg;
        _spec = cfg.Spec;
        _userns = userns;
    }

    /// <summary>The plan for <paramref name="cfg"/>: create's (the container's world and its process) or exec's (a process in it).</summary>
    public static InitPlan Build(InitConfig cfg)
    {
        var ns = SpecValidator.ValidateNamespaces(cfg.Spec.Linux?.Namespaces);
        // In a user namespace — the config's, or the one the runtime itself runs in (rootless
        // podman) — mknod is refused and mounts keep the flags the kernel locked on them.
        var b = new PlanBuilder(cfg, ns.Has("user") || Namespaces.InUserNamespace());
        b.CheckRlimits();
        b.Descriptors();
        if (cfg.Exec)
        {
            // A container without a mount namespace of its own is a chroot: so is its exec.
            if (!ns.Has("mount"))
            {
                b.Add(PlanOp.Open, "chroot", RootReg, HostPathNoSymlinks, cfg.Rootfs, O.RDONLY | O.DIRECTORY, 0);
                b.Add(PlanOp.Chroot, "chroot", RootReg);
                b.Add(PlanOp.Close, "chroot", RootReg);
            }
            b.Console(bindDevConsole: false);
        }
        else b.World(ns);
        b.Process();
        b.Add(PlanOp.Ready, "ready");
        if (cfg.FifoFd >= 0)
        {
            b.Add(PlanOp.WaitFifo, "exec.fifo", FifoReg, ProcReg);
            b.Add(PlanOp.Close, "exec.fifo", FifoReg);
            b.Add(PlanOp.Close, "exec.fifo", ProcReg);
            b.StartContainerHooks();
        }
        b.LastSteps();
        return b._plan;
    }

    void Add(PlanOp op, string step, params object[] args) => _plan.Add(op, step, args);

    /// <summary>
    /// Rlimits are set after the barrier, so what can fail is checked here: init inherits the
    /// launcher's limits, and a hard limit above them needs CAP_SYS_RESOURCE.
    /// </summary>
    void CheckRlimits()
    {
        var rlimits = _spec.Process!.Rlimits ?? new();
        bool? canRaise = null;
        for (int i = 0; i < rlimits.Count; i++)
        {
            var r = rlimits[i];
            var (_, hard) = ProcessAttributes.GetRlimit(ProcessAttributes.Rlimits[r.Type!]);
            if (r.Hard!.Value <= hard) continue;
            canRaise ??= (Capabilities.StatusMask("CapEff") & (1UL << 24 /* CAP_SYS_RESOURCE */)) != 0;
            if (canRaise == false)
                throw new RuntimeException($"process.rlimits[{i}] {r.Type}: hard limit {r.Hard} is above the runtime's {hard}: raising it needs CAP_SYS_RESOURCE");
        }
    }

    void Descriptors()
    {
        if (_cfg.ConsoleSocketFd >= 0) Add(PlanOp.RegFd, "console socket", ConsoleReg, _cfg.ConsoleSocketFd);
        if (_cfg.FifoFd >= 0)
        {
            Add(PlanOp.RegFd, "exec.fifo", FifoReg, _cfg.FifoFd);
            // The fifo is reopened for writing by /proc/thread-self/fd: through the runtime's
            // procfs, held from before pivot_root, as the container's root need not mount one.
            Add(PlanOp.Open, "exec.fifo", ProcReg, -1, "/proc", O.PATH | O.DIRECTORY, 0);
        }
        if (_cfg.SeccompListenerFd >= 0) Add(PlanOp.RegFd, "seccomp listener", ListenerReg, _cfg.SeccompListenerFd);
    }

    /// <summary>The container's world, made once by create: network, rootfs, pivot, names, sysctls, masked paths.</summary>
    void World(SpecValidator.NamespaceSet ns)
    {
        var linux = _spec.Linux;
        if (ns.New("network")) Add(PlanOp.LoopbackUp, "bring up lo");
        if (!ns.New("mount"))
        {
            SharedMountNamespace();
            return;
        }

        // Nothing mounted below may reach the host: rslave unless the spec asks otherwise.
        var propagation = linux?.RootfsPropagation is { } p ? MountOptions.Parse(new[] { p }).Propagation[0] : MS.SLAVE | MS.REC;
        Add(PlanOp.Mount, "rootfs propagation", -1, "", -1, "/", "", (long)propagation, "");
        if ((propagation & MS.SHARED) != 0)
        {
            // pivot_root refuses a new root whose parent mount is shared: make just that parent private.
            var parent = ParentMount(_cfg.Rootfs);
            Add(PlanOp.Mount, "rootfs propagation", -1, "", -1, parent, "", (long)MS.PRIVATE, "");
        }
        // The rootfs by a path that holds no symlink (runc's rule, which the launcher checked
        // too): a component swapped for a link since then cannot point the root elsewhere.
        Add(PlanOp.Open, "bind rootfs", RootReg, HostPathNoSymlinks, _cfg.Rootfs, O.PATH | O.DIRECTORY, 0);
        Add(PlanOp.Mount, "bind rootfs", RootReg, "", RootReg, "", "", (long)(MS.BIND | MS.REC), "");
        Add(PlanOp.Open, "bind rootfs", RootReg, HostPathNoSymlinks, _cfg.Rootfs, O.PATH | O.DIRECTORY, 0);

        // runc's rule: /dev is the runtime's to fill unless the config binds one in.
        bool setupDev = true;
        var mounts = _spec.Mounts ?? new();
        for (int i = 0; i < mounts.Count; i++)
        {
            var m = mounts[i];
            Mount(m, i);
            if (m.Destination!.TrimEnd('/') == "/dev") setupDev = !MountOptions.Parse(m.Options).IsBind && m.Type != "bind";
        }
        if (setupDev) Devices(linux?.Devices);

        var cwd = _spec.Process!.Cwd!;
        Add(PlanOp.MkdirAll, $"create cwd {cwd}", TargetReg, RootReg, cwd, 0x1ed);
        Add(PlanOp.Close, "create cwd", TargetReg);

        // runtime-spec lifecycle: prestart and createRuntime in the runtime's namespace (the
        // launcher runs them), then createContainer here, in the container's, before pivot_root.
        var hooks = _spec.Hooks;
        if (hooks?.Prestart is { Count: > 0 } || hooks?.CreateRuntime is { Count: > 0 })
            Add(PlanOp.RuntimeHooks, "runtime hooks");
        Hooks(hooks?.CreateContainer, "createContainer", Status.Creating);

        var pivot = _cfg.NoPivot ? "move root" : "pivot_root";
        Add(PlanOp.Open, pivot, RootReg, HostPathNoSymlinks, _cfg.Rootfs, O.RDONLY | O.DIRECTORY, 0);
        Add(_cfg.NoPivot ? PlanOp.MoveRoot : PlanOp.PivotRoot, pivot, RootReg);
        Add(PlanOp.Close, pivot, RootReg);

        // After pivot_root, so the pty is the container's devpts; before the root turns read-only.
        Console(bindDevConsole: true);
        if (!string.IsNullOrEmpty(_spec.Hostname)) Add(PlanOp.SetHostname, "sethostname", _spec.Hostname);
        if (!string.IsNullOrEmpty(_spec.Domainname)) Add(PlanOp.SetDomainname, "setdomainname", _spec.Domainname);

        // The root that pivot_root left is a new mount: give it the propagation the spec asked for.
        if (linux?.RootfsPropagation is { } rp)
            Add(PlanOp.Mount, "rootfs propagation", -1, "", -1, "/", "", (long)MountOptions.Parse(new[] { rp }).Propagation[0], "");
        // Before readonlyPaths: those usually include /proc/sys.
        foreach (var (key, value) in linux?.Sysctl ?? new())
            Add(PlanOp.ProcWrite, $"linux.sysctl[\"{key}\"]", "sys/" + key.Replace('.', '/'), value, "");
        Add(PlanOp.Open, "root", RootReg, -1, "/", O.PATH | O.DIRECTORY, 0);
        foreach (var path in linux?.ReadonlyPaths ?? new())
            Add(PlanOp.Readonly, $"readonly path {path}", RootReg, path, _userns ? 1 : 0);
        foreach (var path in linux?.MaskedPaths ?? new())
            Add(PlanOp.Mask, $"masked path {path}", RootReg, path, DevNullReg);
        // By path: the container may have no /proc for /proc/self/fd to name the root by.
        if (_spec.Root!.Readonly == true) Add(PlanOp.Remount, "read-only root", RootReg, "/", (long)MS_RDONLY, 1);
        Add(PlanOp.Close, "root", RootReg);
        Add(PlanOp.Close, "masked paths", DevNullReg);
    }

    /// <summary>
    /// No new mount namespace: the runtime's own (or one joined) is the container's, as
    /// runtime-spec allows. Nothing may be mounted in it (the validator refused mounts, masked
    /// and read-only paths and a read-only root): the process is chrooted into the rootfs, as
    /// runc does without one, with its hostname and settings.
    /// </summary>
    void SharedMountNamespace()
    {
        Add(PlanOp.Open, "rootfs", RootReg, HostPathNoSymlinks, _cfg.Rootfs, O.PATH | O.DIRECTORY, 0);
        // Device nodes are files in the rootfs, not mounts — except the binds a user namespace
        // needs, which would land in the shared namespace: those are left out.
        if (!_userns) Devices(_spec.Linux?.Devices);
        var cwd = _spec.Process!.Cwd!;
        Add(PlanOp.MkdirAll, $"create cwd {cwd}", TargetReg, RootReg, cwd, 0x1ed);
        Add(PlanOp.Close, "create cwd", TargetReg);
        Add(PlanOp.Close, "rootfs", RootReg);
        var hooks = _spec.Hooks;
        if (hooks?.Prestart is { Count: > 0 } || hooks?.CreateRuntime is { Count: > 0 })
            Add(PlanOp.RuntimeHooks, "runtime hooks");
        Hooks(hooks?.CreateContainer, "createContainer", Status.Creating);
        Add(PlanOp.Open, "chroot", RootReg, HostPathNoSymlinks, _cfg.Rootfs, O.RDONLY | O.DIRECTORY, 0);
        Add(PlanOp.Chroot, "chroot", RootReg);
        Add(PlanOp.Close, "chroot", RootReg);
        Console(bindDevConsole: false);
        if (!string.IsNullOrEmpty(_spec.Hostname)) Add(PlanOp.SetHostname, "sethostname", _spec.Hostname);
        if (!string.IsNullOrEmpty(_spec.Domainname)) Add(PlanOp.SetDomainname, "setdomainname", _spec.Domainname);
        foreach (var (key, value) in _spec.Linux?.Sysctl ?? new())
            Add(PlanOp.ProcWrite, $"linux.sysctl[\"{key}\"]", "sys/" + key.Replace('.', '/'), value, "");
    }

    /// <summary>The mount of <paramref name="rootfs"/>'s parent directory, from this (the launcher's) view, which init's new mount namespace copies.</summary>
    static string ParentMount(string rootfs)
    {
        var parent = Path.GetDirectoryName(rootfs) ?? "/";
        string best = "/";
        foreach (var mp in MountInfo.Read().Select(m => m.MountPoint))
            if ((parent == mp || parent.StartsWith(mp.TrimEnd('/') + "/")) && mp.Length > best.Length) best = mp;
        return best;
    }

    /// <summary>One mounts[] entry, onto a target resolved inside the rootfs and named by descriptor: a symlink in the image cannot redirect it.</summary>
    void Mount(Mount m, int index)
    {
        var field = $"mounts[{index}]";
        var opts = MountOptions.Parse(m.Options);
        var dest = m.Destination!;
        var type = m.Type ?? "";
        var step = $"{field} {dest}";
        bool bind = opts.IsBind || type == "bind";
        // Options a kernel mount would take as file system data where they mean nothing, or worse.
        if (bind && opts.Data.Count > 0)
            throw new RuntimeException($"{field}.options: \"{opts.Data[0]}\" is not an option of a bind mount");
        if (opts.TmpCopyUp && type != "tmpfs")
            throw new RuntimeException($"{field}.options: tmpcopyup is for tmpfs mounts, not {(bind ? "bind" : $"\"{type}\"")}");
        if ((opts.IdMap || m.UidMappings is { Count: > 0 } || m.GidMappings is { Count: > 0 }) && !bind)
            throw new RuntimeException($"{field}: idmapped mounts (idmap, ridmap, uidMappings, gidMappings) are bind mounts here");
        if (bind) Bind(m, opts, step, index);
        else if (type == "cgroup") Cgroup(dest, opts, step);
        else if (opts.TmpCopyUp)
        {
            // runc's tmpcopyup: what the directory held before the tmpfs covered it is copied in
            // (the covered directory is opened first, so it stays reachable under the mount).
            Add(PlanOp.Open, step, SourceReg, RootReg, dest, O.RDONLY | O.DIRECTORY, 1);
            Add(PlanOp.MkdirAll, step, TargetReg, RootReg, dest, 0x1ed);
            CheckProc(step, -1, proc: false);
            Add(PlanOp.Mount, step, -1, m.Source ?? type, TargetReg, "", type, (long)(opts.Flags & ~MS.Propagation), opts.DataString ?? "");
            Add(PlanOp.Open, step, TargetReg, RootReg, dest, O.RDONLY | O.DIRECTORY, 0);
            Add(PlanOp.CopyTree, step, SourceReg, TargetReg);
            Add(PlanOp.Close, step, SourceReg);
        }
        else
        {
            Add(PlanOp.MkdirAll, step, TargetReg, RootReg, dest, 0x1ed);
            CheckProc(step, -1, proc: type == "proc");
            Add(PlanOp.Mount, step, -1, m.Source ?? type, TargetReg, "", type, (long)(opts.Flags & ~MS.Propagation), opts.DataString ?? "");
        }
        // Propagation and recursive attributes act on the new mount, so the target is opened again.
        if (opts.Propagation.Count == 0 && opts.RecursiveSet == 0 && opts.RecursiveClear == 0) return;
        Add(PlanOp.Open, step, TargetReg, RootReg, dest, O.PATH, 0);
        foreach (var p in opts.Propagation) Add(PlanOp.Mount, step, -1, "", TargetReg, "", "", (long)p, "");
        if (opts.RecursiveSet != 0 || opts.RecursiveClear != 0)
            Add(PlanOp.SetAttr, step, TargetReg, (long)opts.RecursiveSet, (long)opts.RecursiveClear, 1);
        Add(PlanOp.Close, step, TargetReg);
    }

    /// <summary>
    /// runc's rule for mounts on /proc (ProcMounts), checked by init on the target as it resolved
    /// inside the rootfs: the launcher checked the destination's text, but a symlink in the image
    /// could still route a mount into /proc.
    /// </summary>
    void CheckProc(string step, int sourceReg, bool proc) =>
        Add(PlanOp.CheckProc, step, TargetReg, sourceReg, proc ? 1 : 0, _cfg.Rootfs, ProcMounts.Allowed);

    /// <summary>
    /// The source's detached tree (opened by the launcher, BindSources) attached at the target,
    /// its options set on it first with mount_setattr: the top mount's only, as a remount of a
    /// bind would (rro and the other recursive options reach the mounts below).
    /// </summary>
    void Bind(Mount m, MountOptions opts, string step, int index)
    {
        var dest = m.Destination!;
        if (!_cfg.BindTrees.TryGetValue(index, out var tree))
        {
            BindByPath(m, opts, step);
            return;
        }
        Add(PlanOp.RegFd, step, SourceReg, tree.Fd);
        var (set, clear) = MountAttributes(opts);
        if (set != 0 || clear != 0) Add(PlanOp.SetAttr, step, SourceReg, (long)set, (long)clear, 0);
        // A directory source gets a directory target, anything else a file.
        Add(tree.Directory ? PlanOp.MkdirAll : PlanOp.MkFile, step, TargetReg, RootReg, dest, 0x1ed);
        CheckProc(step, SourceReg, proc: false);
        Add(PlanOp.MoveMount, step, SourceReg, TargetReg);
        Add(PlanOp.Close, step, SourceReg);
        Add(PlanOp.Close, step, TargetReg);
    }

    /// <summary>
    /// Rootless, where the launcher could not clone the source: init opens it by path inside the
    /// container's user namespace and binds it; flags come from a remount that keeps what the
    /// kernel locked on it.
    /// </summary>
    void BindByPath(Mount m, MountOptions opts, string step)
    {
        var dest = m.Destination!;
        var source = Path.IsPathRooted(m.Source) ? m.Source : Path.Combine(_cfg.Bundle, m.Source!);
        bool dir = Files.TryStat(null, source, follow: true, out var st, out _) && st.IsDirectory;
        Add(PlanOp.Open, step, SourceReg, -1, source, O.PATH, 0);
        Add(dir ? PlanOp.MkdirAll : PlanOp.MkFile, step, TargetReg, RootReg, dest, 0x1ed);
        CheckProc(step, SourceReg, proc: false);
        Add(PlanOp.Mount, step, SourceReg, "", TargetReg, "", "", (long)(MS.BIND | (opts.Flags & MS.REC)), "");
        Add(PlanOp.Close, step, SourceReg);
        ulong extra = opts.Flags & ~(MS.BIND | MS.REC | MS.REMOUNT | MS.Propagation);
        if (extra != 0)
        {
            Add(PlanOp.Open, step, TargetReg, RootReg, dest, O.PATH, 0);
            Add(PlanOp.Remount, step, TargetReg, "", (long)extra, _userns ? 1 : 0);
        }
        Add(PlanOp.Close, step, TargetReg);
    }

    /// <summary>mount(2) flags as mount_setattr(2) attributes; superblock flags (sync, dirsync, lazytime…) mean nothing to a bind.</summary>
    static (ulong Set, ulong Clear) MountAttributes(MountOptions opts)
    {
        const ulong RDONLY = 0x1, NOSUID = 0x2, NODEV = 0x4, NOEXEC = 0x8, ATIME = 0x70, NOATIME = 0x10, STRICTATIME = 0x20,
            NODIRATIME = 0x80, NOSYMFOLLOW = 0x200000;
        ulong set = 0, clear = 0;
        void Map(ulong flag, ulong attr)
        {
            if ((opts.Flags & flag) != 0) set |= attr;
            else if ((opts.Cleared & flag) != 0) clear |= attr;
        }
        Map(MS.RDONLY, RDONLY);
        Map(MS.NOSUID, NOSUID);
        Map(MS.NODEV, NODEV);
        Map(MS.NOEXEC, NOEXEC);
        Map(MS.NODIRATIME, NODIRATIME);
        Map(MS.NOSYMFOLLOW, NOSYMFOLLOW);
        // The atime modes are an enum: setting one clears the field as a whole.
        if ((opts.Flags & MS.NOATIME) != 0) (set, clear) = (set | NOATIME, clear | ATIME);
        else if ((opts.Flags & MS.STRICTATIME) != 0) (set, clear) = (set | STRICTATIME, clear | ATIME);
        else if ((opts.Flags & MS.RELATIME) != 0) clear |= ATIME;
        return (set, clear);
    }

    /// <summary>
    /// `type: cgroup`: the container's own cgroups at the destination. With a new cgroup
    /// namespace each hierarchy is mounted afresh (the kernel roots it at the namespace);
    /// without one, the container's host directories are bind-mounted. On a hybrid host that
    /// is a tmpfs of v1 hierarchies plus cgroup2 at "unified", as the host has it.
    /// </summary>
    void Cgroup(string dest, MountOptions opts, string step)
    {
        Add(PlanOp.MkdirAll, step, TargetReg, RootReg, dest, 0x1ed);
        CheckProc(step, -1, proc: false);
        Add(PlanOp.Close, step, TargetReg);
        var flags = opts.Flags & ~(MS.Propagation | MS.REMOUNT | MS.BIND | MS.REC);
        bool newNs = _spec.Linux?.Namespaces?.Any(n => n.Type == "cgroup" && string.IsNullOrEmpty(n.Path)) == true;
        var v1 = _cfg.Cgroups.Where(c => !c.Unified).ToList();
        var unified = _cfg.Cgroups.FirstOrDefault(c => c.Unified);
        if (v1.Count == 0 && unified is not null)
        {
            CgroupOne(dest, unified, flags, newNs, step);
            return;
        }
        Add(PlanOp.MkdirAll, step, TargetReg, RootReg, dest, 0x1ed);
        Add(PlanOp.Mount, step, -1, "tmpfs", TargetReg, "", "tmpfs", (long)((flags & ~MS_RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC), "mode=755");
        Add(PlanOp.Close, step, TargetReg);
        foreach (var c in _cfg.Cgroups)
        {
            var name = c.Unified ? "unified" : c.Name.StartsWith("name=") ? c.Name[5..] : c.Name;
            CgroupOne(dest.TrimEnd('/') + "/" + name, c, flags, newNs, step);
        }
        if ((flags & MS_RDONLY) != 0)
        {
            Add(PlanOp.Open, step, TargetReg, RootReg, dest, O.PATH, 0);
            Add(PlanOp.Remount, step, TargetReg, "", (long)(MS_RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC), 0);
            Add(PlanOp.Close, step, TargetReg);
        }
    }

    void CgroupOne(string dest, CgroupDir c, ulong flags, bool newNs, string step)
    {
        Add(PlanOp.MkdirAll, step, TargetReg, RootReg, dest, 0x1ed);
        if (newNs)
        {
            if (c.Unified) Add(PlanOp.Mount, step, -1, "cgroup2", TargetReg, "", "cgroup2", (long)flags, "");
            else Add(PlanOp.Mount, step, -1, "cgroup", TargetReg, "", "cgroup", (long)flags, c.Name);
            Add(PlanOp.Close, step, TargetReg);
            return;
        }
        Add(PlanOp.Open, step, SourceReg, -1, c.Dir, O.PATH | O.DIRECTORY, 0);
        Add(PlanOp.Mount, step, SourceReg, "", TargetReg, "", "", (long)MS.BIND, "");
        Add(PlanOp.Close, step, SourceReg);
        Add(PlanOp.Open, step, TargetReg, RootReg, dest, O.PATH, 0);
        Add(PlanOp.Remount, step, TargetReg, "", (long)flags, 0);
        Add(PlanOp.Close, step, TargetReg);
    }

    /// <summary>/dev for a container whose /dev is a fresh tmpfs: the default devices, linux.devices, and the usual symlinks.</summary>
    void Devices(IEnumerable<Device>? extra)
    {
        var all = Rootfs.Devices.Defaults.Concat(extra ?? Enumerable.Empty<Device>()).GroupBy(d => d.Path).Select(g => g.Last());
        foreach (var d in all)
        {
            var step = $"create device {d.Path}";
            uint type = d.Type switch
            {
                "c" or "u" => FileStat.S_IFCHR,
                "b" => FileStat.S_IFBLK,
                "p" => FileStat.S_IFIFO,
                _ => throw new RuntimeException($"linux.devices: {d.Path}: type \"{d.Type}\" is not c, b, u or p"),
            };
            if (_userns)
            {
                // A user namespace may not mknod: bind the host's node onto an empty file instead,
                // as runc does — the node the config names, not whatever the host has at that path.
                Add(PlanOp.Open, step, SourceReg, -1, d.Path!, O.PATH | O.NOFOLLOW, 0);
                Add(PlanOp.CheckNode, step, SourceReg, (long)type, d.Major ?? 0, d.Minor ?? 0, d.Path!);
                Add(PlanOp.MkFile, step, TargetReg, RootReg, d.Path!);
                Add(PlanOp.Mount, step, SourceReg, "", TargetReg, "", "", (long)MS.BIND, "");
                Add(PlanOp.Close, step, SourceReg);
                Add(PlanOp.Close, step, TargetReg);
                continue;
            }
            uint mode = (d.FileMode ?? 0x1b6 /* 0666 */) & 0xfff;
            bool owned = d.Uid is not null || d.Gid is not null;
            Add(PlanOp.Mknod, step, RootReg, d.Path!, (long)(type | mode), d.Major ?? 0, d.Minor ?? 0,
                owned ? (long)(d.Uid ?? 0) : -1, (long)(d.Gid ?? 0));
        }
        Add(PlanOp.MkdirAll, "create devices", DevReg, RootReg, "/dev", 0x1ed);
        var links = new List<(string Target, string Name)>
        {
            ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"), ("/proc/self/fd/2", "stderr"),
        };
        if (File.Exists("/proc/kcore")) links.Add(("/proc/kcore", "core"));
        foreach (var (target, name) in links) Add(PlanOp.Symlink, "create devices", DevReg, target, name, 0);
        // /dev/ptmx must be the ptmx of the container's own devpts instance.
        Add(PlanOp.Symlink, "create devices", DevReg, "pts/ptmx", "ptmx", 1);
        Add(PlanOp.Close, "create devices", DevReg);
    }

    /// <summary>
    /// process.terminal: a pty from the container's own devpts, its master sent to the console
    /// socket, the slave made stdio and controlling terminal, and for the container's first
    /// process bound over /dev/console.
    /// </summary>
    void Console(bool bindDevConsole)
    {
        if (_cfg.ConsoleSocketFd < 0) return;
        var size = _spec.Process!.ConsoleSize;
        Add(PlanOp.Console, "console", ConsoleReg, (long)(size?.Height ?? 0), (long)(size?.Width ?? 0), bindDevConsole ? 1 : 0);
    }

    void Hooks(List<Hook>? hooks, string phase, string status)
    {
        if (hooks is null) return;
        var state = HookRunner.StateFor(_cfg.Id, status, _cfg.HostPid, _cfg.Bundle, _spec.Annotations);
        for (int i = 0; i < hooks.Count; i++)
        {
            var h = hooks[i];
            var args = h.Args is { Count: > 0 } a ? a : new List<string> { h.Path! };
            Add(PlanOp.Hook, $"hooks.{phase}[{i}]", h.Path!, args, h.Env ?? HookRunner.RuntimeEnvironment(), (long)(h.Timeout ?? 0), state);
        }
    }

    /// <summary>startContainer: in the container, after start, before the process runs; a failure stops it (runtime-spec lifecycle, step 9).</summary>
    void StartContainerHooks() => Hooks(_spec.Hooks?.StartContainer, "startContainer", Status.Created);

    /// <summary>process.*, after the root moved and before the barrier, so every failure is create's (or exec's) error.</summary>
    void Process()
    {
        var p = _spec.Process!;
        var linux = _spec.Linux;
        Add(PlanOp.Chdir, $"chdir {p.Cwd}", p.Cwd!);

        if (p.OomScoreAdj is { } oom)
        {
            // Raising is free; lowering below the least the runtime was ever given needs
            // CAP_SYS_RESOURCE (this VM's bounding set lacks it). Only the kernel knows that least.
            Add(PlanOp.ProcWrite, "process.oomScoreAdj", "self/oom_score_adj", oom.ToString(), "lowering oom_score_adj needs CAP_SYS_RESOURCE");
        }
        if (linux?.Personality is { } pers)
        {
            ulong persona = pers.Domain == "LINUX32" ? 0x0008UL : 0UL;
            foreach (var f in pers.Flags ?? new()) persona |= SpecValidator.PersonalityFlags[f];
            Add(PlanOp.Personality, "linux.personality", (long)persona);
        }
        if (linux?.MemoryPolicy is { } mp)
        {
            int mode = SpecValidator.MemoryPolicyModes[mp.Mode!];
            foreach (var f in mp.Flags ?? new()) mode |= SpecValidator.MemoryPolicyFlags[f];
            var nodes = string.IsNullOrEmpty(mp.Nodes) ? Array.Empty<ulong>() : ProcessAttributes.CpuMask(CpuList.Parse(mp.Nodes, "linux.memoryPolicy.nodes"));
            Add(PlanOp.MemoryPolicy, "linux.memoryPolicy", mode, MaskBytes(nodes));
        }
        if (p.IoPriority is { } io)
        {
            int ioClass = io.Class switch { "IOPRIO_CLASS_RT" => 1, "IOPRIO_CLASS_BE" => 2, _ => 3 };
            Add(PlanOp.IoPriority, "process.ioPriority", (ioClass << 13) | (io.Priority ?? 0));
        }
        if (p.Scheduler is { } s)
        {
            ulong flags = 0;
            foreach (var f in s.Flags ?? new()) flags |= SpecValidator.SchedFlags[f];
            Add(PlanOp.Scheduler, "process.scheduler", SpecValidator.SchedPolicies[s.Policy!], (long)flags, s.Nice ?? 0, (long)(s.Priority ?? 0),
                (long)(s.Runtime ?? 0), (long)(s.Deadline ?? 0), (long)(s.Period ?? 0));
        }

        // A keyring of the container's own, so keys of the caller's session do not leak in.
        // Permissions as runc sets them: possessor all; user view, read, search, link; group view.
        if (!_cfg.NoNewKeyring) Add(PlanOp.Keyring, "session keyring", "_ses." + _cfg.Id, 0x3f1b0100L);

        if (!string.IsNullOrEmpty(p.ApparmorProfile))
            Add(PlanOp.ProcWrite, "process.apparmorProfile", Directory.Exists("/proc/self/attr/apparmor") ? "self/attr/apparmor/exec" : "self/attr/exec", "exec " + p.ApparmorProfile, "");
        if (!string.IsNullOrEmpty(p.SelinuxLabel)) Add(PlanOp.ProcWrite, "process.selinuxLabel", "self/attr/exec", p.SelinuxLabel, "");

        // args[0] resolved as execvp would, with the container's PATH, so a typo fails create.
        var pathVar = p.Env?.LastOrDefault(e => e.StartsWith("PATH="))?[5..] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        Add(PlanOp.FindExec, $"look up {p.Args![0]}", p.Args[0], pathVar);

        if (_userns)
            Add(PlanOp.CheckMapped, "process.user", (long)(p.User?.Uid ?? 0), (long)(p.User?.Gid ?? 0),
                (p.User?.AdditionalGids ?? new()).Select(g => g.ToString()).ToList());
        // HOME from the container's /etc/passwd when the env does not set it, as runc does.
        if (!(p.Env ?? new()).Any(e => e.StartsWith("HOME="))) Add(PlanOp.Home, "HOME", (long)(p.User?.Uid ?? 0));
        Add(PlanOp.Umask, "umask", (long)(p.User?.Umask ?? 0x12 /* 022 */));
        var env = new List<string>(p.Env ?? new());
        env.AddRange(_cfg.ExtraEnv);
        CheckStrings(p.Args!, env, p.Env?.Count ?? 0);
        // Init checks the total against the stack limit the process will have (execve's E2BIG).
        ulong stack = p.Rlimits?.LastOrDefault(r => r.Type == "RLIMIT_STACK")?.Soft ?? 0;
        Add(PlanOp.PrepareExec, "prepare exec", p.Args!, env, (long)Math.Min(stack, long.MaxValue));
    }

    /// <summary>
    /// After the barrier, in the order that is the security. The seccomp filter comes last, so
    /// that execve is the only system call the container's profile must allow for init: with
    /// noNewPrivileges false, loading it needs CAP_SYS_ADMIN, so that one capability stays in
    /// the effective set until then. It cannot outlive execve: a process that is not root
    /// keeps only its ambient set, and root gets its bounding set (which is already cut).
    /// </summary>
    void LastSteps()
    {
        var p = _spec.Process!;
        bool nnp = p.NoNewPrivileges == true;
        var seccomp = _cfg.SeccompProgram;
        // After everything init itself needs (a small RLIMIT_AS or RLIMIT_STACK binds the
        // process, not its setup), before the uid switch (raising a hard limit needs
        // CAP_SYS_RESOURCE); CheckRlimits made sure each can be set.
        var rlimits = p.Rlimits ?? new();
        for (int i = 0; i < rlimits.Count; i++)
            Add(PlanOp.Rlimit, $"process.rlimits[{i}] {rlimits[i].Type}", ProcessAttributes.Rlimits[rlimits[i].Type!],
                (long)rlimits[i].Soft!.Value, (long)rlimits[i].Hard!.Value);
        if (nnp) Add(PlanOp.NoNewPrivileges, "no_new_privs");
        int lastCap = Capabilities.LastCap();
        if (_cfg.Capabilities is { } caps)
        {
            Add(PlanOp.DropBounding, "capabilities", (long)caps.Bounding, lastCap);
            Add(PlanOp.KeepCaps, "capabilities", 1);
        }
        Add(PlanOp.SetGroups, "process.user.additionalGids", (p.User?.AdditionalGids ?? new()).Select(g => g.ToString()).ToList());
        Add(PlanOp.SetGid, "process.user.gid", (long)(p.User?.Gid ?? 0));
        Add(PlanOp.SetUid, "process.user.uid", (long)(p.User?.Uid ?? 0));
        if (_cfg.Capabilities is { } c)
        {
            ulong forSeccomp = seccomp is not null && !nnp ? 1UL << 21 /* CAP_SYS_ADMIN */ : 0;
            Add(PlanOp.Capset, "capabilities", (long)(c.Effective | forSeccomp), (long)(c.Permitted | forSeccomp), (long)c.Inheritable);
            Add(PlanOp.Ambient, "capabilities", (long)c.Ambient, lastCap);
        }
        if (p.ExecCpuAffinity?.Final is { } final)
            Add(PlanOp.Affinity, "process.execCPUAffinity.final", MaskBytes(ProcessAttributes.CpuMask(CpuList.Parse(final, "process.execCPUAffinity.final"))));
        Add(PlanOp.ResetSignals, "signals");
        Add(PlanOp.CloseOnExecFrom, "close descriptors", 3 + _cfg.PreserveFds);
        if (seccomp is not null)
            Add(PlanOp.Seccomp, "seccomp", seccomp, (long)_cfg.SeccompFlags,
                _cfg.SeccompListenerFd >= 0 ? ListenerReg : -1, Encoding.UTF8.GetBytes(_cfg.SeccompListenerState ?? ""));
        Add(PlanOp.Exec, "execve");
    }

    /// <summary>execve's E2BIG for one string, found before anything starts and named by its field.</summary>
    static void CheckStrings(List<string> args, List<string> env, int specEnv)
    {
        for (int i = 0; i < args.Count + env.Count; i++)
        {
            var text = i < args.Count ? args[i] : env[i - args.Count];
            int bytes = Encoding.UTF8.GetByteCount(text) + 1;
            if (bytes <= MaxArgStrlen) continue;
            var field = i < args.Count ? $"process.args[{i}]" : i - args.Count < specEnv ? $"process.env[{i - args.Count}]" : "process.env";
            throw new RuntimeException($"{field}: {bytes} bytes, more than the {MaxArgStrlen} execve takes for one string (MAX_ARG_STRLEN)");
        }
    }

    static byte[] MaskBytes(ulong[] mask)
    {
        var bytes = new byte[mask.Length * 8];
        for (int i = 0; i < mask.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), mask[i]);
        return bytes;
    }
}
