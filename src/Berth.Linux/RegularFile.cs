namespace Berth.Linux;

/// <summary>
/// Files that Berth reads from a bundle, an image or a state root, read so that what sits at the
/// path cannot hang or exhaust the runtime: opened O_NONBLOCK|O_NOCTTY (a FIFO does not block the
/// open, a tty is not acquired), checked to be a regular file before a byte is read, read up to a
/// cap, and opened O_NOFOLLOW where a symlink is not expected. Written files replace the old
/// one atomically and are created with an explicit mode.
/// </summary>
public static class RegularFile
{
    /// <summary>
    /// The whole content of the regular file at <paramref name="path"/> (relative to
    /// <paramref name="dir"/>, or absolute), at most <paramref name="maxBytes"/>.
    /// </summary>
    public static byte[] Read(string path, long maxBytes, bool followLinks, SafeFd? dir = null)
    {
        using var fd = Open(path, followLinks, dir);
        return ReadAll(fd, path, maxBytes);
    }

    /// <summary>Like <see cref="Read"/>, but null when nothing is at the path.</summary>
    public static byte[]? TryRead(string path, long maxBytes, bool followLinks, SafeFd? dir = null)
    {
        SafeFd fd;
        try { fd = Open(path, followLinks, dir); }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT) { return null; }
        using (fd) return ReadAll(fd, path, maxBytes);
    }

    static SafeFd Open(string path, bool followLinks, SafeFd? dir)
    {
        int flags = O.RDONLY | O.NONBLOCK | O.NOCTTY | (followLinks ? 0 : O.NOFOLLOW);
        try
        {
            return dir is null ? Files.Open(path, flags) : Files.OpenAt(dir, path, flags);
        }
        catch (LinuxException e) when (e.Errno == Errno.ELOOP && !followLinks)
        {
            throw new LinuxException(Errno.ELOOP, "open", path, "is a symlink, where a regular file is expected");
        }
    }

    static byte[] ReadAll(SafeFd fd, string path, long maxBytes)
    {
        var st = Files.Fstat(fd);
        if (!st.IsRegular) throw new LinuxException(Errno.EINVAL, "read", path, $"is {Describe(st.Mode)}, not a regular file");
        if ((long)st.Size > maxBytes) throw TooLarge(path, maxBytes);
        // Sized from the file, one byte over to see it end: a file that grows while read is still capped.
        // /proc and /sys files say size 0, and an integer sysctl answers only a read at offset 0
        // (proc_dointvec: EOF at any other position): a 1-byte first read made cap_last_cap "4".
        var buffer = new byte[(int)Math.Min(st.Size == 0 ? 4096 : (long)st.Size + 1, maxBytes + 1)];
        int total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (total > maxBytes) throw TooLarge(path, maxBytes);
                Array.Resize(ref buffer, (int)Math.Min(Math.Max(buffer.Length * 2L, 4096), maxBytes + 1));
            }
            int n = Files.Read(fd, buffer.AsSpan(total));
            if (n == 0) break;
            total += n;
        }
        if (total > maxBytes) throw TooLarge(path, maxBytes);
        return total == buffer.Length ? buffer : buffer[..total];
    }

    static LinuxException TooLarge(string path, long maxBytes) =>
        new(Errno.EFBIG, "read", path, $"is larger than {maxBytes} bytes, the most Berth reads of it");

    /// <summary>"a FIFO", "a character device", … for an st_mode.</summary>
    public static string Describe(uint mode) => (mode & FileStat.S_IFMT) switch
    {
        FileStat.S_IFREG => "a regular file",
        FileStat.S_IFDIR => "a directory",
        FileStat.S_IFLNK => "a symlink",
        FileStat.S_IFCHR => "a character device",
        FileStat.S_IFBLK => "a block device",
        FileStat.S_IFIFO => "a FIFO",
        FileStat.S_IFSOCK => "a socket",
        _ => $"of type 0{Convert.ToString(mode & FileStat.S_IFMT, 8)}",
    };

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="bytes"/>: written to
    /// <paramref name="tempPath"/> and renamed over it, so a reader sees the old content or the
    /// new, never half. The temporary file is made new (O_EXCL, after removing any stale one),
    /// with <paramref name="mode"/>: whatever was planted at its name — a symlink, a hard link,
    /// a FIFO — is replaced, never written through. A failure names <paramref name="path"/>,
    /// the file the caller asked for, whichever step it was.
    /// </summary>
    public static void WriteAtomic(string path, string tempPath, ReadOnlySpan<byte> bytes, uint mode)
    {
        try
        {
            Files.UnlinkAt(null, tempPath);
            using (var fd = Files.Open(tempPath, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, mode))
                Files.WriteAll(fd, bytes, tempPath);
            if (Interop.Libc.renameat2(At.FDCWD, tempPath, At.FDCWD, path, 0) < 0)
                throw LinuxException.FromLastError("rename", path);
        }
        catch (LinuxException e)
        {
            try { Files.UnlinkAt(null, tempPath); }
            catch (LinuxException) { }
            throw e.Detail is null ? new LinuxException(e.Errno, "writing", path) : new LinuxException(e.Errno, "writing", path, e.Detail);
        }
    }
}
