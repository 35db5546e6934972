using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Ownership, modes, times, xattrs and links set on descriptors or on one name in a directory descriptor, never through a path walk.</summary>
public static unsafe class FileMeta
{
    public static void Chown(SafeFd fd, uint uid, uint gid) =>
        LinuxException.ThrowIfError(Libc.fchown(fd.Number, uid, gid), "fchown", fd.ToString());

    /// <summary>chown of <paramref name="name"/> itself (a symlink is not followed).</summary>
    public static void ChownAt(SafeFd dir, string name, uint uid, uint gid) =>
        LinuxException.ThrowIfError(Libc.fchownat(dir.Number, name, uid, gid, At.SYMLINK_NOFOLLOW), "fchownat", name);

    public static void Chmod(SafeFd fd, uint mode) =>
        LinuxException.ThrowIfError(Libc.fchmod(fd.Number, mode), "fchmod", fd.ToString());

    /// <summary>Access and modification time of an open file.</summary>
    public static void SetTimes(SafeFd fd, DateTimeOffset mtime)
    {
        long* ts = stackalloc long[4];
        Fill(ts, mtime);
        LinuxException.ThrowIfError(Libc.futimens(fd.Number, ts), "futimens", fd.ToString());
    }

    /// <summary>Times of <paramref name="name"/> in <paramref name="dir"/> itself (a symlink is not followed).</summary>
    public static void SetTimesAt(SafeFd dir, string name, DateTimeOffset mtime)
    {
        long* ts = stackalloc long[4];
        Fill(ts, mtime);
        LinuxException.ThrowIfError(Libc.utimensat(dir.Number, name, ts, At.SYMLINK_NOFOLLOW), "utimensat", name);
    }

    /// <summary>struct timespec[2] (atime, mtime), both set to <paramref name="time"/>.</summary>
    static void Fill(long* ts, DateTimeOffset time)
    {
        long ticks = (time.UtcDateTime - DateTime.UnixEpoch).Ticks;
        long sec = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rem);
        if (rem < 0)
        {
            sec--;
            rem += TimeSpan.TicksPerSecond;
        }
        ts[0] = ts[2] = sec;
        ts[1] = ts[3] = rem * 100;
    }

    public static void SetXattr(SafeFd fd, string name, ReadOnlySpan<byte> value)
    {
        fixed (byte* p = value)
            LinuxException.ThrowIfError(Libc.fsetxattr(fd.Number, name, p, value.Length, 0), "fsetxattr", name);
    }

    /// <summary>A hard link: <paramref name="newName"/> in <paramref name="newDir"/> to <paramref name="oldName"/> in <paramref name="oldDir"/> (not following a symlink there).</summary>
    public static void LinkAt(SafeFd oldDir, string oldName, SafeFd newDir, string newName) =>
        LinuxException.ThrowIfError(Libc.linkat(oldDir.Number, oldName, newDir.Number, newName, 0), "linkat", newName);

    public static void WriteAt(SafeFd fd, ReadOnlySpan<byte> data, long offset)
    {
        while (data.Length > 0)
        {
            nint n;
            fixed (byte* p = data) n = Libc.pwrite(fd.Number, p, data.Length, offset);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                throw LinuxException.FromLastError("pwrite", fd.ToString());
            }
            data = data[(int)n..];
            offset += n;
        }
    }

    public static void Truncate(SafeFd fd, long length) =>
        LinuxException.ThrowIfError(Libc.ftruncate(fd.Number, length), "ftruncate", fd.ToString());
}
