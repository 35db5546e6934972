using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>
/// What Berth did with System.IO's File and Directory, done with system calls so that every
/// failure is a <see cref="LinuxException"/> naming the operation and the path ("writing
/// /b/config.json: EROFS (Read-only file system)"), never a .NET IOException worded for
/// another platform and naming neither. A helper that takes several calls names what it was
/// doing ("writing", "reading", "listing"); one that is a single call names the call.
/// </summary>
public static unsafe class FileSystem
{
    /// <summary>The most read of a text file here (/proc and cgroup files, mountinfo with thousands of mounts).</summary>
    public const long MaxTextBytes = 64L << 20;

    /// <summary>The whole file as UTF-8 text.</summary>
    public static string ReadText(string path, long maxBytes = MaxTextBytes)
    {
        try { return Encoding.UTF8.GetString(RegularFile.Read(path, maxBytes, followLinks: true)); }
        catch (LinuxException e) { throw Named(e, "reading", path); }
    }

    /// <summary>The whole regular file, at most <paramref name="maxBytes"/>.</summary>
    public static byte[] ReadBytes(string path, long maxBytes = MaxTextBytes)
    {
        try { return RegularFile.Read(path, maxBytes, followLinks: true); }
        catch (LinuxException e) { throw Named(e, "reading", path); }
    }

    /// <summary>Like <see cref="ReadText"/>, null when nothing is at the path (or, for /proc/PID files, the process is gone).</summary>
    public static string? TryReadText(string path, long maxBytes = MaxTextBytes)
    {
        try { return ReadText(path, maxBytes); }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ESRCH) { return null; }
    }

    /// <summary>
    /// Creates <paramref name="path"/> with <paramref name="content"/>: O_EXCL, so never through a
    /// link or over a file someone put there (EEXIST then), with <paramref name="mode"/> less the umask.
    /// </summary>
    public static void WriteNew(string path, ReadOnlySpan<byte> content, uint mode = 0x1a4 /* 0644 */)
    {
        try
        {
            using var fd = Files.Open(path, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, mode);
            Files.WriteAll(fd, content, path);
        }
        catch (LinuxException e)
        {
            throw Named(e, "writing", path);
        }
    }

    /// <summary>Opens <paramref name="path"/> as a new file (O_EXCL, never through a link), for writing or, with <paramref name="read"/>, both.</summary>
    public static SafeFd CreateNew(string path, uint mode = 0x180 /* 0600 */, bool read = false)
    {
        try { return Files.Open(path, (read ? O.RDWR : O.WRONLY) | O.CREAT | O.EXCL | O.NOFOLLOW, mode); }
        catch (LinuxException e) { throw Named(e, "creating", path); }
    }

    /// <summary>rename(2), replacing <paramref name="to"/> if it exists.</summary>
    public static void Rename(string from, string to)
    {
        if (Libc.renameat2(At.FDCWD, from, At.FDCWD, to, 0) < 0)
            throw new LinuxException(Marshal.GetLastPInvokeError(), "rename", $"{from} to {to}");
    }

    /// <summary>Removes a file (not a directory); false if there was none.</summary>
    public static bool Delete(string path) => Files.UnlinkAt(null, path);

    /// <summary>Removes a file and ignores every failure: for temporary files on the way out of an error, which must not hide it.</summary>
    public static void TryDelete(string path)
    {
        try { Files.UnlinkAt(null, path); }
        catch (LinuxException) { }
    }

    /// <summary>Removes an empty directory; false if there was none.</summary>
    public static bool DeleteDirectory(string path) => Files.UnlinkAt(null, path, directory: true);

    /// <summary>
    /// mkdir -p: <paramref name="path"/> and its missing parents, each with <paramref name="mode"/>
    /// (less the umask). Fine if it exists as a directory (or a link to one); an error naming the
    /// path that could not be made otherwise.
    /// </summary>
    public static void CreateDirectory(string path, uint mode = 0x1ed /* 0755 */)
    {
        path = Path.GetFullPath(path);
        if (Libc.mkdirat(At.FDCWD, path, mode) == 0) return;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.ENOENT && Path.GetDirectoryName(path) is { } parent && parent != path)
        {
            CreateDirectory(parent, mode);
            if (Libc.mkdirat(At.FDCWD, path, mode) == 0) return;
            e = Marshal.GetLastPInvokeError();
        }
        if (e == Errno.EEXIST)
        {
            if (Files.TryStat(null, path, follow: true, out var st, out _) && st.IsDirectory) return;
            throw new LinuxException(Errno.EEXIST, "mkdir", path, "exists and is not a directory");
        }
        throw new LinuxException(e, "mkdir", path);
    }

    /// <summary>
    /// A new directory of mode 0700 under the temporary directory ($TMPDIR or /tmp), named
    /// <paramref name="prefix"/> and a random suffix: mkdtemp(3)'s rules.
    /// </summary>
    public static string CreateTempDirectory(string prefix)
    {
        var tmp = Path.GetTempPath();
        for (int i = 0; ; i++)
        {
            var path = Path.Combine(tmp, prefix + Guid.NewGuid().ToString("N")[..12]);
            if (Libc.mkdirat(At.FDCWD, path, 0x1c0) == 0) return path;
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EEXIST || i >= 100) throw new LinuxException(e, "mkdir", path);
        }
    }

    /// <summary>One entry of a directory: its name and, where the file system reports it, whether it is a directory.</summary>
    public readonly record struct Entry(string Name, bool? IsDirectory);

    /// <summary>The entries of the directory at <paramref name="path"/> ("." and ".." left out), symlinks not followed.</summary>
    public static List<Entry> Entries(string path)
    {
        using var fd = Open(path, "listing");
        return Entries(fd, path);
    }

    /// <summary>The entries of an open directory, read from its start (getdents64; the descriptor's offset moves).</summary>
    public static List<Entry> Entries(SafeFd dir, string? what = null)
    {
        const int SEEK_SET = 0;
        const byte DT_UNKNOWN = 0, DT_DIR = 4;
        var list = new List<Entry>();
        if (Libc.lseek(dir.Number, 0, SEEK_SET) < 0) throw LinuxException.FromLastError("listing", what ?? dir.ToString());
        var buffer = new byte[32 << 10];
        fixed (byte* b = buffer)
        {
            while (true)
            {
                long n = Libc.syscall(Sys.Getdents64, dir.Number, (long)b, buffer.Length, 0, 0, 0);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw LinuxException.FromLastError("listing", what ?? dir.ToString());
                }
                if (n == 0) return list;
                // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[].
                for (long at = 0; at < n;)
                {
                    byte* rec = b + at;
                    int reclen = *(ushort*)(rec + 16);
                    byte type = rec[18];
                    var name = new ReadOnlySpan<byte>(rec + 19, reclen - 19);
                    int end = name.IndexOf((byte)0);
                    if (end >= 0) name = name[..end];
                    at += reclen;
                    if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)) continue;
                    list.Add(new Entry(Encoding.UTF8.GetString(name), type == DT_UNKNOWN ? null : type == DT_DIR));
                }
            }
        }
    }

    /// <summary>The names in an open directory.</summary>
    public static List<string> Names(SafeFd dir, string? what = null) => Entries(dir, what).Select(e => e.Name).ToList();

    /// <summary>The names in the directory at <paramref name="path"/>.</summary>
    public static List<string> Names(string path) => Entries(path).Select(e => e.Name).ToList();

    /// <summary>The subdirectories of the directory at <paramref name="path"/> (symlinks to directories are not), by name.</summary>
    public static List<string> Directories(string path)
    {
        using var fd = Open(path, "listing");
        var dirs = new List<string>();
        foreach (var e in Entries(fd, path))
            if (e.IsDirectory ?? (Files.TryStat(fd, e.Name, follow: false, out var st, out _) && st.IsDirectory))
                dirs.Add(e.Name);
        return dirs;
    }

    /// <summary>The regular files (and anything else that is not a directory) of the directory at <paramref name="path"/>, by name.</summary>
    public static List<string> NonDirectories(string path)
    {
        using var fd = Open(path, "listing");
        var files = new List<string>();
        foreach (var e in Entries(fd, path))
            if (!(e.IsDirectory ?? (Files.TryStat(fd, e.Name, follow: false, out var st, out _) && st.IsDirectory)))
                files.Add(e.Name);
        return files;
    }

    static SafeFd Open(string path, string operation)
    {
        try { return Files.Open(path, O.RDONLY | O.DIRECTORY); }
        catch (LinuxException e) { throw Named(e, operation, path); }
    }

    /// <summary>The error of a step, named by the whole operation and its path (the step's own detail kept where it has one).</summary>
    static LinuxException Named(LinuxException e, string operation, string path) =>
        e.Detail is null ? new(e.Errno, operation, path) : new(e.Errno, operation, path, e.Detail);
}
