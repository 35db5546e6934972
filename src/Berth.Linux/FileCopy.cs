using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>A file's bytes copied to another with its holes kept (SEEK_DATA/SEEK_HOLE), and its mtime read from its descriptor.</summary>
public static unsafe class FileCopy
{
    const int SEEK_SET = 0, SEEK_DATA = 3, SEEK_HOLE = 4;

    /// <summary>Copies the data extents of <paramref name="from"/> at their offsets and sets the length: a sparse file stays sparse.</summary>
    public static void Content(SafeFd from, SafeFd to)
    {
        long length = (long)Files.Fstat(from).Size;
        var buffer = new byte[1 << 16];
        long at = 0;
        while (at < length)
        {
            long data = Libc.lseek(from.Number, at, SEEK_DATA);
            if (data < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.ENXIO) break; // only a hole is left
                throw LinuxException.FromLastError("lseek(SEEK_DATA)", from.ToString());
            }
            long hole = LinuxException.ThrowIfError(Libc.lseek(from.Number, data, SEEK_HOLE), "lseek(SEEK_HOLE)", from.ToString());
            LinuxException.ThrowIfError(Libc.lseek(from.Number, data, SEEK_SET), "lseek", from.ToString());
            for (long left = hole - data, offset = data; left > 0;)
            {
                int n = Files.Read(from, buffer.AsSpan(0, (int)Math.Min(left, buffer.Length)));
                if (n == 0) break; // it shrank meanwhile
                FileMeta.WriteAt(to, buffer.AsSpan(0, n), offset);
                offset += n;
                left -= n;
            }
            at = hole;
        }
        FileMeta.Truncate(to, length);
    }

    /// <summary>st_mtime of the file (an O_PATH descriptor will do: statx with AT_EMPTY_PATH).</summary>
    public static DateTimeOffset ModificationTime(SafeFd fd)
    {
        StatxBuffer buf;
        const uint STATX_MTIME = 0x40;
        LinuxException.ThrowIfError(Libc.statx(fd.Number, "", At.EMPTY_PATH | At.SYMLINK_NOFOLLOW, STATX_MTIME, &buf), "statx", fd.ToString());
        return DateTimeOffset.FromUnixTimeSeconds(buf.Mtime.Sec).AddTicks(buf.Mtime.Nsec / 100);
    }
}
