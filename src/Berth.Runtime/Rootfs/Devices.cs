using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Rootfs;

/// <summary>/dev for a container whose /dev is a fresh tmpfs: the default devices, linux.devices, and the usual symlinks.</summary>
public static class Devices
{
    /// <summary>runtime-spec's default devices (config-linux.md, "Default Devices").</summary>
    internal static readonly Device[] Defaults =
    {
        new() { Path = "/dev/null", Type = "c", Major = 1, Minor = 3, FileMode = 0x1b6 /* 0666 */ },
        new() { Path = "/dev/zero", Type = "c", Major = 1, Minor = 5, FileMode = 0x1b6 /* 0666 */ },
        new() { Path = "/dev/full", Type = "c", Major = 1, Minor = 7, FileMode = 0x1b6 /* 0666 */ },
        new() { Path = "/dev/random", Type = "c", Major = 1, Minor = 8, FileMode = 0x1b6 /* 0666 */ },
        new() { Path = "/dev/urandom", Type = "c", Major = 1, Minor = 9, FileMode = 0x1b6 /* 0666 */ },
        new() { Path = "/dev/tty", Type = "c", Major = 5, Minor = 0, FileMode = 0x1b6 /* 0666 */ },
    };

    public static void Create(SafeFd root, IEnumerable<Device>? extra, bool inUserNamespace)
    {
        var all = Defaults.Concat(extra ?? Enumerable.Empty<Device>())
            .GroupBy(d => d.Path).Select(g => g.Last());
        foreach (var d in all)
        {
            if (inUserNamespace) BindFromHost(root, d);
            else MakeNode(root, d);
        }
        Symlinks(root);
    }

    static void MakeNode(SafeFd root, Device d)
    {
        uint type = d.Type switch
        {
            "c" or "u" => FileStat.S_IFCHR,
            "b" => FileStat.S_IFBLK,
            "p" => FileStat.S_IFIFO,
            _ => throw new RuntimeException($"linux.devices: {d.Path}: type \"{d.Type}\" is not c, b, u or p"),
        };
        var (dir, name) = InRoot.Split(d.Path!);
        using var parent = InRoot.MkdirAll(root, dir);
        try
        {
            Files.MknodAt(parent, name, type | ((d.FileMode ?? 0x1b6 /* 0666 */) & 0xfff /* 07777 */), (uint)(d.Major ?? 0), (uint)(d.Minor ?? 0));
        }
        catch (LinuxException e) when (e.Errno == Errno.EEXIST)
        {
            return;
        }
        using var node = InRoot.Open(root, d.Path!);
        // mknod's mode is cut by the umask; the spec's fileMode is meant exactly.
        Files.Chmod(node.ProcPath, (d.FileMode ?? 0x1b6 /* 0666 */) & 0xfff /* 07777 */);
        if (d.Uid is not null || d.Gid is not null) Files.Chown(node.ProcPath, d.Uid ?? 0, d.Gid ?? 0, follow: true);
    }

    /// <summary>A user namespace may not mknod: bind the host's node onto an empty file instead, as runc does.</summary>
    static void BindFromHost(SafeFd root, Device d)
    {
        using var source = Files.Open(d.Path!, O.PATH | O.NOFOLLOW);
        // What is bound must be the node the config names, not whatever the host has at that path.
        var st = Files.Fstat(source);
        uint want = d.Type switch { "b" => FileStat.S_IFBLK, "p" => FileStat.S_IFIFO, _ => FileStat.S_IFCHR };
        if ((st.Mode & FileStat.S_IFMT) != want || (d.Type != "p" && (st.RdevMajor != d.Major || st.RdevMinor != d.Minor)))
            throw new RuntimeException($"linux.devices: {d.Path}: the host's {d.Path} is {RegularFile.Describe(st.Mode)} {st.RdevMajor}:{st.RdevMinor}, not the {d.Type} {d.Major}:{d.Minor} asked for (a user namespace binds the host's node)");
        using var target = InRoot.MkFile(root, d.Path!);
        Mounts.Mount(source.ProcPath, target.ProcPath, null, MS.BIND, null, d.Path);
    }

    static void Symlinks(SafeFd root)
    {
        using var dev = InRoot.MkdirAll(root, "/dev");
        var links = new List<(string Target, string Name)>
        {
            ("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
            ("/proc/self/fd/2", "stderr"),
        };
        if (File.Exists("/proc/kcore")) links.Add(("/proc/kcore", "core"));
        foreach (var (target, name) in links)
        {
            try { Files.SymlinkAt(target, dev, name); }
            catch (LinuxException e) when (e.Errno == Errno.EEXIST) { }
        }
        // /dev/ptmx must be the ptmx of the container's own devpts instance.
        Files.UnlinkAt(dev, "ptmx");
        Files.SymlinkAt("pts/ptmx", dev, "ptmx");
    }
}
