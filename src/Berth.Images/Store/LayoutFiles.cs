using Berth.Linux;

namespace Berth.Images.Store;

/// <summary>
/// Every file Berth reads from a layout, the store or an unpacked archive is opened the one way
/// image content must be: resolved beneath the layout's root with no symlink anywhere
/// (RESOLVE_NO_SYMLINKS: a link to /dev/zero is refused, not followed), opened O_PATH first so
/// that a FIFO or a device is never opened (no hang, no side effect), required to be a regular
/// file, then reopened through its descriptor — the same inode, no second lookup — and read
/// with a cap.
/// </summary>
public static class LayoutFiles
{
    /// <summary>The file <paramref name="rel"/> of the layout at <paramref name="root"/>, open for reading; null if it does not exist. Errors start with <paramref name="what"/> (what the file is to the image) when given.</summary>
    public static SafeFd? TryOpen(string root, string rel, string? what = null)
    {
        var path = (what is null ? "" : what + ": ") + Path.Combine(root, rel);
        SafeFd dir;
        try
        {
            dir = Files.Open(root, O.PATH | O.DIRECTORY);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
        SafeFd node;
        using (dir)
        {
            try
            {
                node = Files.OpenAt2(dir, rel, O.PATH | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks | Resolve.NoMagicLinks);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT)
            {
                return null;
            }
            catch (LinuxException e) when (e.Errno is Errno.ELOOP or Errno.EXDEV)
            {
                throw new ImageException($"{path}: is or passes through a symbolic link (a layout holds directories and regular files only)");
            }
        }
        using (node)
        {
            var st = Files.Fstat(node);
            if (!st.IsRegular) throw new ImageException($"{path}: not a regular file but {Kind(st)}");
            return Files.Open(node.ProcPath, O.RDONLY);
        }
    }

    /// <summary>A regular file named by the user (an archive, a tarball to import): links followed, as for any path given on a command line, but a FIFO or device refused without being opened for I/O.</summary>
    public static Stream OpenUserFile(string path) => new BufferedStream(OpenUserFd(path), 1 << 16);

    /// <summary><see cref="OpenUserFile"/> unbuffered, for reading at offsets.</summary>
    public static FdStream OpenUserFd(string path)
    {
        SafeFd node;
        try
        {
            node = Files.Open(path, O.PATH);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            throw new ImageException($"{path}: no such file");
        }
        using (node)
        {
            var st = Files.Fstat(node);
            if (!st.IsRegular) throw new ImageException($"{path}: not a regular file but {Kind(st)}");
            return new FdStream(Files.Open(node.ProcPath, O.RDONLY), path);
        }
    }

    /// <summary>A buffered stream that owns <paramref name="fd"/>; its errors name <paramref name="what"/>.</summary>
    public static Stream AsStream(SafeFd fd, string what, bool write = false) =>
        new BufferedStream(new FdStream(fd, what, read: true, write: write), 1 << 16);

    /// <summary>Reads the whole file, or fails when it holds more than <paramref name="max"/> bytes (one byte over tells).</summary>
    public static byte[] ReadAll(SafeFd fd, long max, string what)
    {
        var buffer = new byte[Math.Min(max + 1, 1 << 16)];
        var ms = new MemoryStream();
        int n;
        while ((n = Files.Read(fd, buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > max) throw new ImageException($"{what}: more than {max} bytes");
        }
        return ms.ToArray();
    }

    static string Kind(FileStat st) => (st.Mode & FileStat.S_IFMT) switch
    {
        FileStat.S_IFDIR => "a directory",
        FileStat.S_IFIFO => "a FIFO",
        FileStat.S_IFCHR => "a character device",
        FileStat.S_IFBLK => "a block device",
        FileStat.S_IFSOCK => "a socket",
        FileStat.S_IFLNK => "a symbolic link",
        _ => "not a file",
    };
}
