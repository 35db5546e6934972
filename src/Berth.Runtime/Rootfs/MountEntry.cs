using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Protocol;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// One mounts[] entry, mounted onto a target resolved inside the rootfs and named by
/// descriptor (/proc/self/fd/N): a symlink planted in the image cannot redirect it.
/// </summary>
public static class MountEntry
{
    public static void Mount(SafeFd root, Mount m, InitConfig cfg, bool inUserNamespace)
    {
        var opts = MountOptions.Parse(m.Options);
        var dest = m.Destination!;
        var type = m.Type ?? "";
        if (opts.IsBind || type == "bind")
            Bind(root, m, opts, cfg, inUserNamespace);
        else if (type == "cgroup")
            Cgroup(root, m, opts, cfg);
        else
        {
            using var target = InRoot.MkdirAll(root, dest);
            ProcMounts.CheckTarget(target, m, cfg.Rootfs, null);
            Mounts.Mount(m.Source ?? type, target.ProcPath, type, opts.Flags & ~MS.Propagation, opts.DataString, dest);
        }
        Finish(root, dest, opts);
    }

    /// <summary>Propagation and recursive attributes act on the new mount, so the target is opened again.</summary>
    static void Finish(SafeFd root, string dest, MountOptions opts)
    {
        if (opts.Propagation.Count == 0 && opts.RecursiveSet == 0 && opts.RecursiveClear == 0) return;
        using var mounted = InRoot.Open(root, dest);
        foreach (var p in opts.Propagation) Mounts.Mount(null, mounted.ProcPath, null, p, null, dest);
        if (opts.RecursiveSet != 0 || opts.RecursiveClear != 0)
            Mounts.SetAttrRecursive(mounted, opts.RecursiveSet, opts.RecursiveClear, dest);
    }

    static void Bind(SafeFd root, Mount m, MountOptions opts, InitConfig cfg, bool inUserNamespace)
    {
        var dest = m.Destination!;
        if (string.IsNullOrEmpty(m.Source)) throw new RuntimeException($"mount {dest}: a bind mount needs a source");
        // A relative source is relative to the bundle (runc runs from there).
        var sourcePath = Path.IsPathRooted(m.Source) ? m.Source : Path.Combine(cfg.Bundle, m.Source);
        using var source = Files.Open(sourcePath, O.PATH);
        var st = Files.Fstat(source);
        using (var target = st.IsDirectory ? InRoot.MkdirAll(root, dest) : InRoot.MkFile(root, dest))
        {
            ProcMounts.CheckTarget(target, m, cfg.Rootfs, source);
            Mounts.Mount(source.ProcPath, target.ProcPath, null, MS.BIND | (opts.Flags & MS.REC), null, dest);
        }

        // A bind mount takes its flags only from a remount of the new mount.
        ulong extra = opts.Flags & ~(MS.BIND | MS.REC | MS.REMOUNT | MS.Propagation);
        if (extra == 0) return;
        using var mounted = InRoot.Open(root, dest);
        Remount(mounted, extra, dest, inUserNamespace);
    }

    /// <summary>
    /// MS_REMOUNT|MS_BIND with <paramref name="flags"/>. In a user namespace the kernel locks
    /// nosuid/nodev/noexec and atime flags the mount already had; dropping them is EPERM, so
    /// they are carried over.
    /// </summary>
    public static void Remount(SafeFd mounted, ulong flags, string describe, bool inUserNamespace, string? target = null)
    {
        if (inUserNamespace) flags |= LockedFlags(Files.MountFlags(mounted), flags);
        Mounts.Mount(null, target ?? mounted.ProcPath, null, MS.BIND | MS.REMOUNT | flags, null, describe);
    }

    static ulong LockedFlags(ulong st, ulong requested)
    {
        const ulong ST_RELATIME = 4096;
        ulong locked = st & (MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RDONLY);
        if ((requested & (MS.NOATIME | MS.RELATIME | MS.STRICTATIME)) == 0)
        {
            locked |= st & (MS.NOATIME | MS.NODIRATIME);
            if ((st & ST_RELATIME) != 0) locked |= MS.RELATIME;
        }
        return locked;
    }

    /// <summary>
    /// `type: cgroup`: the container's own cgroups at the destination. With a new cgroup
    /// namespace each hierarchy is mounted afresh (the kernel roots it at the namespace);
    /// without one, the container's host directories are bind-mounted. On a hybrid host that
    /// is a tmpfs of v1 hierarchies plus cgroup2 at "unified", as the host has it.
    /// </summary>
    static void Cgroup(SafeFd root, Mount m, MountOptions opts, InitConfig cfg)
    {
        var dest = m.Destination!;
        using (var top = InRoot.MkdirAll(root, dest)) ProcMounts.CheckTarget(top, m, cfg.Rootfs, null);
        var flags = opts.Flags & ~(MS.Propagation | MS.REMOUNT | MS.BIND | MS.REC);
        bool newNs = cfg.Spec.Linux?.Namespaces?.Any(n => n.Type == "cgroup" && string.IsNullOrEmpty(n.Path)) == true;
        var v1 = cfg.Cgroups.Where(c => !c.Unified).ToList();
        var unified = cfg.Cgroups.FirstOrDefault(c => c.Unified);

        if (v1.Count == 0 && unified is not null)
        {
            MountOne(root, dest, unified, flags, newNs);
            return;
        }

        using (var target = InRoot.MkdirAll(root, dest))
            Mounts.Mount("tmpfs", target.ProcPath, "tmpfs", (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755", dest);
        foreach (var c in cfg.Cgroups)
        {
            var name = c.Unified ? "unified" : c.Name.StartsWith("name=") ? c.Name[5..] : c.Name;
            MountOne(root, dest.TrimEnd('/') + "/" + name, c, flags, newNs);
        }
        if ((flags & MS.RDONLY) != 0)
        {
            using var mounted = InRoot.Open(root, dest);
            Mounts.Mount(null, mounted.ProcPath, null, MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, null, dest);
        }
    }

    static void MountOne(SafeFd root, string dest, CgroupDir c, ulong flags, bool newNs)
    {
        using (var target = InRoot.MkdirAll(root, dest))
        {
            if (newNs)
            {
                if (c.Unified) Mounts.Mount("cgroup2", target.ProcPath, "cgroup2", flags, null, dest);
                else Mounts.Mount("cgroup", target.ProcPath, "cgroup", flags, c.Name, dest);
                return;
            }
            using var source = Files.Open(c.Dir, O.PATH | O.DIRECTORY);
            Mounts.Mount(source.ProcPath, target.ProcPath, null, MS.BIND, null, dest);
        }
        using var mounted = InRoot.Open(root, dest);
        Mounts.Mount(null, mounted.ProcPath, null, MS.BIND | MS.REMOUNT | flags, null, dest);
    }
}
