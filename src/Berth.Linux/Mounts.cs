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
        LAZYTIME = 1 << 25;

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

    public static void PivotRoot(string newRoot, string putOld)
    {
        byte[] n = Files.Utf8z(newRoot), o = Files.Utf8z(putOld);
        fixed (byte* pn = n, po = o)
            LinuxException.ThrowIfError(Libc.syscall(Sys.PivotRoot, (long)pn, (long)po, 0, 0, 0, 0), "pivot_root", newRoot);
    }

    public static void Chroot(string path) => LinuxException.ThrowIfError(Libc.chroot(path), "chroot", path);

    public static void Chdir(string path) => LinuxException.ThrowIfError(Libc.chdir(path), "chdir", path);

    public static void Fchdir(SafeFd dir) => LinuxException.ThrowIfError(Libc.fchdir(dir.Number), "fchdir", dir.ToString());

    [StructLayout(LayoutKind.Sequential)]
    struct MountAttr
    {
        public ulong AttrSet, AttrClr, Propagation, UsernsFd;
    }

    const uint AT_RECURSIVE = 0x8000;

    /// <summary>mount_setattr(2) over a whole tree: how "rro" (recursive read-only) is done.</summary>
    public static void SetAttrRecursive(SafeFd mount, ulong set, ulong clear, string describe)
    {
        var attr = new MountAttr { AttrSet = set, AttrClr = clear };
        var empty = Files.Utf8z("");
        fixed (byte* p = empty)
            LinuxException.ThrowIfError(Libc.syscall(Sys.MountSetattr, mount.Number, (long)p, At.EMPTY_PATH | AT_RECURSIVE, (long)&attr, sizeof(MountAttr), 0), "mount_setattr", describe);
    }
}
