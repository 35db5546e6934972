using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>CLONE_NEW* flags and the runtime-spec names for them.</summary>
public static class Namespaces
{
    public const int CLONE_NEWTIME = 0x80, CLONE_NEWNS = 0x20000, CLONE_NEWCGROUP = 0x02000000,
        CLONE_NEWUTS = 0x04000000, CLONE_NEWIPC = 0x08000000, CLONE_NEWUSER = 0x10000000,
        CLONE_NEWPID = 0x20000000, CLONE_NEWNET = 0x40000000;

    /// <summary>runtime-spec namespace type → clone flag and /proc/PID/ns file name.</summary>
    public static readonly IReadOnlyDictionary<string, (int Flag, string ProcName)> ByType = new Dictionary<string, (int, string)>
    {
        ["pid"] = (CLONE_NEWPID, "pid"),
        ["network"] = (CLONE_NEWNET, "net"),
        ["mount"] = (CLONE_NEWNS, "mnt"),
        ["ipc"] = (CLONE_NEWIPC, "ipc"),
        ["uts"] = (CLONE_NEWUTS, "uts"),
        ["user"] = (CLONE_NEWUSER, "user"),
        ["cgroup"] = (CLONE_NEWCGROUP, "cgroup"),
        ["time"] = (CLONE_NEWTIME, "time"),
    };

    /// <summary>
    /// unshare(2) of namespaces other than user and mount: in a multi-threaded process it moves
    /// only the calling thread (a dedicated thread that then exits, for a network namespace to bind-mount).
    /// </summary>
    public static void UnshareThread(int flags) =>
        LinuxException.ThrowIfError(Libc.unshare(flags), "unshare");

    /// <summary>
    /// Whether this process runs in a user namespace other than the initial one (rootless
    /// podman runs its runtime as uid 0 in one): there, the initial namespace's map is the
    /// identity over all 2^32-1 ids.
    /// </summary>
    public static bool InUserNamespace()
    {
        try
        {
            var fields = FileSystem.ReadText("/proc/self/uid_map").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return !(fields.Length == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295");
        }
        catch (LinuxException)
        {
            return false;
        }
    }
}

/// <summary>The identity of a namespace: nsfs's device and inode, the same for every path and descriptor that names it.</summary>
public readonly record struct NamespaceId(uint DevMajor, uint DevMinor, ulong Ino);

public static unsafe class NamespaceFiles
{
    const long NSFS_MAGIC = 0x6e736673;
    const ulong NS_GET_NSTYPE = 0xb703;

    /// <summary>
    /// Opens a namespace file and checks that it is one, of the expected type. The path is first
    /// opened O_PATH, which never blocks and has no side effect on any kind of file, and only a
    /// file on nsfs is opened for real (through its descriptor): a FIFO, a device or a link to
    /// /dev/zero at the path is refused without being opened.
    /// </summary>
    public static SafeFd OpenChecked(string path, int expectedFlag)
    {
        SafeFd fd;
        using (var handle = Files.Open(path, O.PATH))
        {
            if (Files.FilesystemType(handle) != NSFS_MAGIC)
            {
                var st = Files.Fstat(handle);
                throw new LinuxException(Errno.EINVAL, "open", path, $"is not a namespace file ({RegularFile.Describe(st.Mode)} outside nsfs)");
            }
            fd = Files.Open(handle.ProcPath, O.RDONLY);
        }
        int type = Interop.Libc.ioctl(fd.Number, NS_GET_NSTYPE, null);
        if (type < 0)
        {
            fd.Dispose();
            throw new LinuxException(System.Runtime.InteropServices.Marshal.GetLastPInvokeError(), "not a namespace file", path);
        }
        if (type != expectedFlag)
        {
            fd.Dispose();
            var actual = Namespaces.ByType.FirstOrDefault(kv => kv.Value.Flag == type).Key ?? $"0x{type:x}";
            throw new InvalidOperationException($"{path} is a {actual} namespace");
        }
        return fd;
    }

    public static NamespaceId Identity(SafeFd fd)
    {
        var st = Files.Fstat(fd);
        return new NamespaceId(st.DevMajor, st.DevMinor, st.Ino);
    }

    /// <summary>The namespace of type <paramref name="procName"/> ("net", "uts", …) that process <paramref name="pid"/> ("self", "1") is in; null if it cannot be seen.</summary>
    public static NamespaceId? IdentityOf(string pid, string procName) =>
        Files.TryStat(null, $"/proc/{pid}/ns/{procName}", follow: true, out var st, out _) ? new NamespaceId(st.DevMajor, st.DevMinor, st.Ino) : null;
}
