using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>mount(2) flags.</summary>
public static class MS
{
    public const ulong RDONLY = 1, NOSUID = 2, NODEV = 4, NOEXEC = 8, SYNCHRONOUS = 16, REMOUNT = 32,
        MANDLOCK = 64, DIRSYNC = 128, NOSYMFOLLOW = 256, NOATIME = 1024, NODIRATIME = 2048, BIND = 4096,
        MOVE = 8192, REC = 16384, SILENT = 32768, POSIXACL = 1 << 16, UNBINDABLE = 1 << 17,
        PRIVATE = 1 << 18, SLAVE = 1 << 19, SHARED = 1 << 20, RELATIME = 1 << 21, STRICTATIME = 1 << 24,
        I_VERSION = 1 << 23, LAZYTIME = 1 << 25;

    public const ulong Propagation = SHARED | SLAVE | PRIVATE | UNBINDABLE;
}

public static unsafe class Mounts
{
    public static void Mount(string? source, string target, string? fstype, ulong flags, string? data, string? describe = null)
    {
        if (Libc.mount(source, target, fstype, flags, data) < 0)
            throw LinuxException.FromLastError("mount", describe ?? target);
    }

    public const int MNT_DETACH = 2, UMOUNT_NOFOLLOW = 8;

    public static void Unmount(string target, int flags) =>
        LinuxException.ThrowIfError(Libc.umount2(target, flags), "umount", target);

    public static void Chdir(string path) => LinuxException.ThrowIfError(Libc.chdir(path), "chdir", path);

    const uint AT_RECURSIVE = 0x8000, OPEN_TREE_CLONE = 1, OPEN_TREE_CLOEXEC = 0x80000;

    /// <summary>
    /// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at <paramref name="path"/> (with
    /// the mounts below it when <paramref name="recursive"/>), attached nowhere until a
    /// move_mount puts it somewhere — in another mount namespace too, where a plain bind of the
    /// path could not reach it.
    /// </summary>
    public static SafeFd CloneTree(string path, bool recursive)
    {
        var p = Files.Utf8z(path);
        long fd;
        fixed (byte* ptr = p)
            fd = Libc.syscall(Sys.OpenTree, At.FDCWD, (long)ptr, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0), 0, 0, 0);
        if (fd < 0) throw LinuxException.FromLastError("open_tree", path);
        return new SafeFd((int)fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MountAttr
    {
        public ulong AttrSet, AttrClr, Propagation, UsernsFd;
    }

    public const ulong MOUNT_ATTR_RDONLY = 0x1, MOUNT_ATTR_IDMAP = 0x100000;

    /// <summary>mount_setattr(2) on the mount (or detached tree) <paramref name="tree"/>; with <paramref name="userns"/>, MOUNT_ATTR_IDMAP takes its mappings.</summary>
    public static void SetAttr(SafeFd tree, ulong set, ulong clear, SafeFd? userns, bool recursive, string describe)
    {
        var attr = new MountAttr { AttrSet = set, AttrClr = clear, UsernsFd = userns is null ? 0 : (ulong)userns.Number };
        var empty = Files.Utf8z("");
        long rc;
        fixed (byte* e = empty)
            rc = Libc.syscall(Sys.MountSetattr, tree.Number, (long)e, At.EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), (long)&attr, sizeof(MountAttr), 0);
        if (rc < 0) throw LinuxException.FromLastError("mount_setattr", describe);
    }

    /// <summary>
    /// Makes a detached tree idmapped by <paramref name="userns"/>'s mappings (MOUNT_ATTR_IDMAP):
    /// a file owned by id N on disk is seen as the id N maps to there.
    /// </summary>
    public static void SetIdmap(SafeFd tree, SafeFd userns, bool recursive, string describe) =>
        SetAttr(tree, MOUNT_ATTR_IDMAP, 0, userns, recursive, describe);
}
