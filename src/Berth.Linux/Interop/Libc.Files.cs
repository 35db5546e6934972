using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, int mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int openat(int dirfd, string path, int flags, int mode);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nint count);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int flock(int fd, int operation);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkfifoat(int dirfd, string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mkdirat(int dirfd, string path, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mknodat(int dirfd, string path, uint mode, ulong dev);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlinkat(int dirfd, string path, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int symlinkat(string target, int newdirfd, string linkpath);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint readlinkat(int dirfd, string path, byte* buf, nint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchownat(int dirfd, string path, uint owner, uint group, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fchmodat(int dirfd, string path, uint mode, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int statx(int dirfd, string path, int flags, uint mask, StatxBuffer* buf);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int faccessat(int dirfd, string path, int mode, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fstatfs(int fd, StatfsBuffer* buf);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int memfd_create(string name, uint flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendfile(int outFd, int inFd, long* offset, nint count);

    [LibraryImport(Lib)]
    public static partial uint umask(uint mask);
}

[StructLayout(LayoutKind.Sequential)]
internal struct StatxTimestamp
{
    public long Sec;
    public uint Nsec;
    public int Reserved;
}

/// <summary>struct statx (include/uapi/linux/stat.h), 256 bytes.</summary>
[StructLayout(LayoutKind.Sequential, Size = 256)]
internal struct StatxBuffer
{
    public uint Mask;
    public uint Blksize;
    public ulong Attributes;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public ushort Mode;
    public ushort Spare0;
    public ulong Ino;
    public ulong Size;
    public ulong Blocks;
    public ulong AttributesMask;
    public StatxTimestamp Atime, Btime, Ctime, Mtime;
    public uint RdevMajor, RdevMinor, DevMajor, DevMinor;
    public ulong MntId;
}

/// <summary>struct statfs on 64-bit Linux, 120 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 120)]
internal struct StatfsBuffer
{
    [FieldOffset(0)] public long Type;
    [FieldOffset(80)] public long Flags;
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial long lseek(int fd, long offset, int whence);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pread(int fd, byte* buf, nint count, long offset);
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchown(int fd, uint owner, uint group);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fchmod(int fd, uint mode);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int utimensat(int dirfd, string? path, long* times, int flags);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int fsetxattr(int fd, string name, byte* value, nint size, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fsetxattr(int fd, byte* name, byte* value, nint size, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint fgetxattr(int fd, byte* name, byte* value, nint size);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint flistxattr(int fd, byte* list, nint size);

    [LibraryImport(Lib, SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint pwrite(int fd, byte* buf, nint count, long offset);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ftruncate(int fd, long length);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int fsync(int fd);
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int futimens(int fd, long* times);
}
