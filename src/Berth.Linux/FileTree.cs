namespace Berth.Linux;

/// <summary>rm -rf through descriptors: never follows a symlink, never crosses into another mount.</summary>
public static class FileTree
{
    /// <summary>Removes <paramref name="path"/> and everything under it, if it exists.</summary>
    public static void Remove(string path)
    {
        path = Path.GetFullPath(path);
        if (!Files.TryStat(null, path, follow: false, out _, out _)) return;
        using var parent = Files.Open(Path.GetDirectoryName(path)!, O.PATH | O.DIRECTORY);
        Remove(parent, Path.GetFileName(path));
    }

    /// <summary>Removes the entry <paramref name="name"/> of <paramref name="parent"/>, a directory with all it holds.</summary>
    public static void Remove(SafeFd parent, string name)
    {
        if (!Files.TryStat(parent, name, follow: false, out var st, out _)) return;
        if (st.IsDirectory)
        {
            // NoXdev: a mount inside (a bind left in a bundle) fails the removal instead of being emptied.
            using (var dir = Files.OpenAt2(parent, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks | Resolve.NoXdev))
                foreach (var child in FileSystem.Names(dir, name))
                    Remove(dir, child);
            Files.UnlinkAt(parent, name, directory: true);
        }
        else
        {
            Files.UnlinkAt(parent, name);
        }
    }
}
