using Berth.Linux;

namespace Berth.Images.Store;

/// <summary>
/// A directory only its owner can enter (0700), as containerd keeps its snapshots and podman its
/// storage: image content holds setuid-root binaries and device nodes, and a host user who can
/// reach one runs it with the image's privileges (a setuid shell in a bundle is a host root
/// shell). The mode of the directory is what stops them: what is inside keeps the image's modes.
/// </summary>
public static class PrivateDirectory
{
    /// <summary>
    /// Makes <paramref name="path"/> (parents as usual) with mode 0700, or closes an existing one
    /// to 0700. Refused: a symlink (it could aim the chmod at any directory root owns), a
    /// directory of another user (its owner could open it again), and one that holds something
    /// <paramref name="isOurs"/> does not recognize as what Berth keeps there.
    /// </summary>
    public static void Ensure(string path, string what, Func<string, bool> isOurs)
    {
        path = Path.GetFullPath(path).TrimEnd('/');
        var parent = Path.GetDirectoryName(path);
        if (parent is not null) FileSystem.CreateDirectory(parent);
        // mkdir with 0700 from the start: there is no moment when the directory is open to others.
        bool made = Files.MkdirAt(null, path, 0x1c0);
        SafeFd fd;
        try
        {
            fd = Files.Open(path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        }
        catch (LinuxException e) when (e.Errno is Errno.ELOOP or Errno.ENOTDIR)
        {
            throw new ImageException(Files.TryStat(null, path, follow: false, out var st, out _) && st.IsSymlink
                ? $"{what}: {path} is a symbolic link; name the directory itself"
                : $"{what}: {path} exists and is not a directory");
        }
        using (fd)
        {
            var st = Files.Fstat(fd);
            if (st.Uid != Processes.EffectiveUid)
                throw new ImageException($"{what}: {path} belongs to uid {st.Uid}; it must be this user's (uid {Processes.EffectiveUid}), or its owner could open it to every user");
            if ((st.Mode & 0x3f) == 0) return;
            if (!made && FileSystem.Names(fd, path).Any(n => !isOurs(n)))
                throw new ImageException($"{what}: {path} is open to other users and holds what Berth did not put there; not changing its mode");
            try { FileMeta.Chmod(fd, st.Mode & 0xfc0); }
            catch (LinuxException e) { throw new LinuxException(e.Errno, "chmod", path); }
        }
    }
}
