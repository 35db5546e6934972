using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>open(2) flags and related constants (x86_64/arm64 generic values).</summary>
public static class O
{
    public const int RDONLY = 0, WRONLY = 1, RDWR = 2, CREAT = 0x40, EXCL = 0x80, NOCTTY = 0x100,
        TRUNC = 0x200, APPEND = 0x400, NONBLOCK = 0x800, DIRECTORY = 0x10000, NOFOLLOW = 0x20000,
        CLOEXEC = 0x80000, PATH = 0x200000;
}

public static class At
{
    public const int FDCWD = -100, SYMLINK_NOFOLLOW = 0x100, REMOVEDIR = 0x200, EMPTY_PATH = 0x1000;
}

/// <summary>openat2(2) resolve flags.</summary>
[Flags]
public enum Resolve : ulong
{
    None = 0,
    NoXdev = 0x01,
    NoMagicLinks = 0x02,
    NoSymlinks = 0x04,
    Beneath = 0x08,
    InRoot = 0x10,
}

/// <summary>What statx reports of a file that Berth cares about.</summary>
public readonly record struct FileStat(uint Mode, uint Uid, uint Gid, ulong Size, uint RdevMajor, uint RdevMinor, ulong Ino, uint DevMajor, uint DevMinor, uint Nlink)
{
    public const uint S_IFMT = 0xF000, S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000,
        S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000, S_IFSOCK = 0xC000;

    public bool IsDirectory => (Mode & S_IFMT) == S_IFDIR;
    public bool IsRegular => (Mode & S_IFMT) == S_IFREG;
    public bool IsSymlink => (Mode & S_IFMT) == S_IFLNK;
    public bool IsCharDevice => (Mode & S_IFMT) == S_IFCHR;
}

/// <summary>File system calls that Berth needs and .NET does not offer: fd-relative, no-follow, atomic.</summary>
public static unsafe class Files
{
    public static SafeFd Open(string path, int flags, uint mode = 0)
    {
        int fd = Libc.open(path, flags | O.CLOEXEC, (int)mode);
        if (fd < 0) throw LinuxException.FromLastError("open", path);
        return new SafeFd(fd);
    }

    public static SafeFd OpenAt(SafeFd dir, string path, int flags, uint mode = 0)
    {
        int fd = Libc.openat(dir.Number, path, flags | O.CLOEXEC, (int)mode);
        if (fd < 0) throw LinuxException.FromLastError("openat", path);
        return new SafeFd(fd);
    }

    [StructLayout(LayoutKind.Sequential)]
    struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    /// <summary>
    /// openat2(2): resolves <paramref name="path"/> with <paramref name="resolve"/> rules. With
    /// <see cref="Resolve.InRoot"/>, "..", absolute symlinks and absolute paths all stay inside
    /// <paramref name="root"/>: image content cannot point Berth at the host.
    /// </summary>
    public static SafeFd OpenAt2(SafeFd root, string path, int flags, Resolve resolve, uint mode = 0)
    {
        var how = new OpenHow { Flags = (ulong)(flags | O.CLOEXEC), Mode = mode, Resolve = (ulong)resolve };
        var bytes = Utf8z(path);
        long fd;
        fixed (byte* p = bytes)
        {
            // EAGAIN: a rename or mount somewhere raced the RESOLVE_IN_ROOT/BENEATH walk. Retried,
            // but not forever: a container renaming in a loop must not spin the runtime.
            int tries = 0;
            do fd = Libc.syscall(Sys.Openat2, root.Number, (long)p, (long)&how, sizeof(OpenHow), 0, 0);
            while (fd < 0 && Marshal.GetLastPInvokeError() is Errno.EAGAIN or Errno.EINTR && ++tries < 128);
        }
        if (fd < 0) throw LinuxException.FromLastError("openat2", path);
        return new SafeFd((int)fd);
    }

    public static byte[] Utf8z(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }

    /// <summary>close(2) of a raw descriptor this code owns outright (no SafeFd, no allocation).</summary>
    public static void Close(int fd) => Libc.close(fd);

    public static int Read(SafeFd fd, Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer) n = Libc.read(fd.Number, p, buffer.Length);
            if (n >= 0) return (int)n;
            if (Marshal.GetLastPInvokeError() != Errno.EINTR) throw LinuxException.FromLastError("read", fd.ToString());
        }
    }

    /// <summary>Reads until end of file.</summary>
    public static byte[] ReadToEnd(SafeFd fd)
    {
        var ms = new MemoryStream();
        Span<byte> buffer = stackalloc byte[4096];
        int n;
        while ((n = Read(fd, buffer)) > 0) ms.Write(buffer[..n]);
        return ms.ToArray();
    }

    public static void WriteAll(SafeFd fd, ReadOnlySpan<byte> data, string? what = null)
    {
        while (data.Length > 0)
        {
            nint n;
            fixed (byte* p = data) n = Libc.write(fd.Number, p, data.Length);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                throw LinuxException.FromLastError("write", what ?? fd.ToString());
            }
            data = data[(int)n..];
        }
    }

    /// <summary>Writes a whole small file such as a cgroup or /proc control file in one write(2).</summary>
    public static void WriteFile(string path, string content)
    {
        using var fd = Open(path, O.WRONLY | O.NOFOLLOW);
        WriteAll(fd, Encoding.UTF8.GetBytes(content), path);
    }

    public static (SafeFd Read, SafeFd Write) Pipe()
    {
        int* fds = stackalloc int[2];
        LinuxException.ThrowIfError(Libc.pipe2(fds, O.CLOEXEC), "pipe2");
        return (new SafeFd(fds[0]), new SafeFd(fds[1]));
    }

    /// <summary>A duplicate at or above <paramref name="min"/>, close-on-exec.</summary>
    public static SafeFd DupAbove(SafeFd fd, int min)
    {
        const int F_DUPFD_CLOEXEC = 1030;
        return new SafeFd(LinuxException.ThrowIfError(Libc.fcntl(fd.Number, F_DUPFD_CLOEXEC, min), "fcntl(F_DUPFD_CLOEXEC)"));
    }

    /// <summary>Whether <paramref name="fd"/> is an open descriptor of this process (fcntl F_GETFD).</summary>
    public static bool IsOpen(int fd) => Libc.fcntl(fd, 1 /* F_GETFD */, 0) >= 0;

    /// <summary>flock(2); false when <paramref name="nonBlocking"/> and another holder has it.</summary>
    public static bool Flock(SafeFd fd, bool exclusive, bool nonBlocking = false)
    {
        const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;
        int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonBlocking ? LOCK_NB : 0);
        while (Libc.flock(fd.Number, op) < 0)
        {
            int e = Marshal.GetLastPInvokeError();
            if (e == Errno.EINTR) continue;
            if (e == Errno.EAGAIN && nonBlocking) return false;
            throw new LinuxException(e, "flock", fd.ToString());
        }
        return true;
    }

    public static void MkFifo(string path)
    {
        if (Libc.mkfifoat(At.FDCWD, path, 0x180 /* 0600 */) < 0) throw LinuxException.FromLastError("mkfifo", path);
    }

    public static void Chmod(string path, uint mode) =>
        LinuxException.ThrowIfError(Libc.fchmodat(At.FDCWD, path, mode, 0), "chmod", path);

    public static void Chown(string path, uint uid, uint gid, bool follow = false) =>
        LinuxException.ThrowIfError(Libc.fchownat(At.FDCWD, path, uid, gid, follow ? 0 : At.SYMLINK_NOFOLLOW), "chown", path);

    /// <summary>mkdirat; false if it already existed.</summary>
    public static bool MkdirAt(SafeFd? dir, string path, uint mode)
    {
        if (Libc.mkdirat(dir?.Number ?? At.FDCWD, path, mode) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.EEXIST) return false;
        throw new LinuxException(e, "mkdir", path);
    }

    public static void MknodAt(SafeFd dir, string name, uint mode, uint major, uint minor)
    {
        ulong dev = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        if (Libc.mknodat(dir.Number, name, mode, dev) < 0) throw LinuxException.FromLastError("mknod", name);
    }

    public static void SymlinkAt(string target, SafeFd dir, string name)
    {
        if (Libc.symlinkat(target, dir.Number, name) < 0) throw LinuxException.FromLastError("symlink", name);
    }

    /// <summary>unlinkat; false if it did not exist.</summary>
    public static bool UnlinkAt(SafeFd? dir, string path, bool directory = false)
    {
        if (Libc.unlinkat(dir?.Number ?? At.FDCWD, path, directory ? At.REMOVEDIR : 0) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.ENOENT) return false;
        throw new LinuxException(e, directory ? "rmdir" : "unlink", path);
    }

    /// <summary>rename that fails with EEXIST rather than replace the target (even an empty directory).</summary>
    public static void RenameNoReplace(string from, string to)
    {
        const uint RENAME_NOREPLACE = 1;
        if (Libc.renameat2(At.FDCWD, from, At.FDCWD, to, RENAME_NOREPLACE) < 0)
            throw LinuxException.FromLastError("rename", to);
    }

    public static FileStat Stat(SafeFd? dir, string path, bool follow = true)
    {
        if (!TryStat(dir, path, follow, out var st, out int e)) throw new LinuxException(e, "statx", path);
        return st;
    }

    public static FileStat Fstat(SafeFd fd) => Stat(fd, "", follow: false);

    public static bool TryStat(SafeFd? dir, string path, bool follow, out FileStat stat, out int errno)
    {
        const uint STATX_BASIC_STATS = 0x7ff;
        StatxBuffer buf;
        int flags = (follow ? 0 : At.SYMLINK_NOFOLLOW) | (path.Length == 0 ? At.EMPTY_PATH : 0);
        if (Libc.statx(dir?.Number ?? At.FDCWD, path, flags, STATX_BASIC_STATS, &buf) < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            stat = default;
            return false;
        }
        errno = 0;
        stat = new FileStat(buf.Mode, buf.Uid, buf.Gid, buf.Size, buf.RdevMajor, buf.RdevMinor, buf.Ino, buf.DevMajor, buf.DevMinor, buf.Nlink);
        return true;
    }

    /// <summary>f_type of the file system holding <paramref name="fd"/> (PROC_SUPER_MAGIC, …).</summary>
    public static long FilesystemType(SafeFd fd)
    {
        StatfsBuffer buf;
        LinuxException.ThrowIfError(Libc.fstatfs(fd.Number, &buf), "fstatfs", fd.ToString());
        return buf.Type;
    }

    /// <summary>The ST_* mount flags (f_flags) of the mount holding <paramref name="fd"/>.</summary>
    public static ulong MountFlags(SafeFd fd)
    {
        StatfsBuffer buf;
        LinuxException.ThrowIfError(Libc.fstatfs(fd.Number, &buf), "fstatfs", fd.ToString());
        return (ulong)buf.Flags;
    }

    public static string? ReadLinkAt(SafeFd? dir, string path)
    {
        var buf = stackalloc byte[4096];
        nint n = Libc.readlinkat(dir?.Number ?? At.FDCWD, path, buf, 4096);
        if (n < 0) return null;
        return Encoding.UTF8.GetString(buf, (int)n);
    }

    /// <summary>faccessat(2) with the effective ids.</summary>
    public static bool Access(string path, int mode) => Libc.faccessat(At.FDCWD, path, mode, 0x200 /* AT_EACCESS */) == 0;

    public static uint Umask(uint mask) => Libc.umask(mask);

    /// <summary>
    /// poll(2) on one descriptor; true when any of <paramref name="events"/> (or an error/hang-up)
    /// is ready within <paramref name="timeoutMs"/>.
    /// </summary>
    public static bool Poll(SafeFd fd, short events, int timeoutMs, out short revents)
    {
        var p = new PollFd { Fd = fd.Number, Events = events };
        int n;
        do n = Libc.poll(&p, 1, timeoutMs);
        while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (n < 0) throw LinuxException.FromLastError("poll", fd.ToString());
        revents = p.Revents;
        return n > 0;
    }

    public const short POLLIN = 1, POLLHUP = 16;
}

public static unsafe class EventFds
{
    /// <summary>eventfd(2), close-on-exec.</summary>
    public static SafeFd Create() =>
        new(LinuxException.ThrowIfError(Interop.Libc.eventfd(0, O.CLOEXEC), "eventfd"));

    /// <summary>Reads and resets the counter; 0 if nothing has been signalled (non-blocking callers poll first).</summary>
    public static ulong Read(SafeFd fd)
    {
        ulong v;
        return Interop.Libc.read(fd.Number, (byte*)&v, 8) == 8 ? v : 0;
    }
}
