using Berth.Linux;
using Berth.Runtime.Protocol;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// The container's file system view, in runc's order: stop propagation to the host, make the
/// rootfs a mount point, mounts[] in order, /dev, then pivot_root (or MS_MOVE + chroot).
/// Masked and read-only paths and a read-only root follow once the root has moved.
/// </summary>
public static class RootfsSetup
{
    public static void BeforePivot(InitConfig cfg, bool inUserNamespace, Action<string> step)
    {
        var spec = cfg.Spec;
        var linux = spec.Linux;

        step("rootfs propagation");
        // Nothing mounted below may reach the host: rslave unless the spec asks otherwise.
        var propagation = linux?.RootfsPropagation is { } p ? MountOptions.Parse(new[] { p }).Propagation[0] : MS.SLAVE | MS.REC;
        Mounts.Mount(null, "/", null, propagation, null, "/");
        if ((propagation & MS.SHARED) != 0) MakeParentPrivate(cfg.Rootfs);

        step("bind rootfs");
        using (var dir = OpenRootfs(cfg.Rootfs, O.PATH))
            Mounts.Mount(dir.ProcPath, dir.ProcPath, null, MS.BIND | MS.REC, null, cfg.Rootfs);

        using var root = OpenRootfs(cfg.Rootfs, O.PATH);
        bool devIsTmpfs = false;
        foreach (var m in spec.Mounts ?? new())
        {
            step($"mount {m.Destination}");
            MountEntry.Mount(root, m, cfg, inUserNamespace);
            if (m.Destination!.TrimEnd('/') == "/dev") devIsTmpfs = !MountOptions.Parse(m.Options).IsBind && m.Type != "bind";
        }

        if (devIsTmpfs)
        {
            step("create devices");
            Devices.Create(root, linux?.Devices, inUserNamespace);
        }

        var cwd = spec.Process!.Cwd!;
        step($"create cwd {cwd}");
        InRoot.MkdirAll(root, cwd).Dispose();
    }

    /// <summary>
    /// The rootfs by a path that holds no symlink (runc's rule, which the launcher checked too):
    /// a component swapped for a link since then cannot point the container's root elsewhere.
    /// </summary>
    public static SafeFd OpenRootfs(string rootfs, int flags)
    {
        using var slash = Files.Open("/", O.PATH | O.DIRECTORY);
        try
        {
            return Files.OpenAt2(slash, rootfs.TrimStart('/') is { Length: > 0 } rel ? rel : ".", flags | O.DIRECTORY, Resolve.NoSymlinks | Resolve.NoMagicLinks);
        }
        catch (LinuxException e) when (e.Errno == Errno.ELOOP)
        {
            throw new RuntimeException($"root.path: {rootfs} is a symlink or has one on its way");
        }
    }

    /// <summary>pivot_root(".", "."): the old root ends up stacked on the new one and is detached from there.</summary>
    public static void Pivot(string rootfs)
    {
        using var oldRoot = Files.Open("/", O.RDONLY | O.DIRECTORY);
        using var newRoot = OpenRootfs(rootfs, O.RDONLY);
        Mounts.Fchdir(newRoot);
        Mounts.PivotRoot(".", ".");
        Mounts.Fchdir(oldRoot);
        // Slave first: the detach must not propagate to the host's mounts.
        Mounts.Mount(null, ".", null, MS.SLAVE | MS.REC, null, "old root");
        Mounts.Unmount(".", Mounts.MNT_DETACH);
        Mounts.Chdir("/");
    }

    /// <summary>--no-pivot: move the rootfs over / and chroot into it (for ramfs roots, where pivot_root fails).</summary>
    public static void MoveRoot(string rootfs)
    {
        using (var dir = OpenRootfs(rootfs, O.PATH)) Mounts.Fchdir(dir);
        Mounts.Mount(".", "/", null, MS.MOVE, null, rootfs);
        Mounts.Chroot(".");
        Mounts.Chdir("/");
    }

    public static void AfterPivot(InitConfig cfg, bool inUserNamespace, Action<string> step)
    {
        var linux = cfg.Spec.Linux;
        // The root that pivot_root left is a new mount: give it the propagation the spec asked for.
        if (linux?.RootfsPropagation is { } p)
            Mounts.Mount(null, "/", null, MountOptions.Parse(new[] { p }).Propagation[0], null, "/");
        // Before readonlyPaths: those usually include /proc/sys.
        if (linux?.Sysctl is { } sysctl) Sysctl.Apply(sysctl, step);
        using var root = Files.Open("/", O.PATH | O.DIRECTORY);
        foreach (var path in linux?.ReadonlyPaths ?? new())
        {
            step($"readonly path {path}");
            PathRules.Readonly(root, path, inUserNamespace);
        }
        SafeFd? devNull = null;
        try
        {
            foreach (var path in linux?.MaskedPaths ?? new())
            {
                step($"masked path {path}");
                PathRules.Mask(root, path, ref devNull);
            }
        }
        finally
        {
            devNull?.Dispose();
        }
        if (cfg.Spec.Root!.Readonly == true)
        {
            step("read-only root");
            // By path: the container may have no /proc for /proc/self/fd to name the root by.
            MountEntry.Remount(root, MS.RDONLY, "/", inUserNamespace: true, target: "/");
        }
    }

    /// <summary>pivot_root refuses a new root whose parent mount is shared; make just that parent private.</summary>
    static void MakeParentPrivate(string rootfs)
    {
        var parent = Path.GetDirectoryName(rootfs) ?? "/";
        string best = "/";
        foreach (var mp in MountInfo.Read().Select(m => m.MountPoint))
        {
            if ((parent == mp || parent.StartsWith(mp.TrimEnd('/') + "/")) && mp.Length > best.Length) best = mp;
        }
        Mounts.Mount(null, best, null, MS.PRIVATE, null, best);
    }
}
