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
    /// to 0700. One that belongs to another user is refused: its owner could open it again.
    /// </summary>
    public static void Ensure(string path, string what)
    {
        path = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(path.TrimEnd('/'));
        if (parent is not null) Directory.CreateDirectory(parent);
        // mkdir with 0700 from the start: there is no moment when the directory is open to others.
        if (!Files.MkdirAt(null, path, 0x1c0) && !Directory.Exists(path))
            throw new ImageException($"{what}: {path} exists and is not a directory");
        using var fd = Files.Open(path, O.RDONLY | O.DIRECTORY);
        var st = Files.Fstat(fd);
        if (st.Uid != Processes.EffectiveUid)
            throw new ImageException($"{what}: {path} belongs to uid {st.Uid}; it must be this user's (uid {Processes.EffectiveUid}), or its owner could open it to every user");
        if ((st.Mode & 0x3f) != 0) FileMeta.Chmod(fd, st.Mode & 0xfc0);
    }
}
