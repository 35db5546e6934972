
namespace Berth.Linux;

/// <summary>
/// Paths resolved inside a root with openat2(RESOLVE_IN_ROOT): "..", absolute symlinks and
/// absolute paths in image content all stay inside, so a hostile image cannot aim a mount,
/// mkdir or mknod at the host. Callers then act on the descriptor (/proc/self/fd/N), not
/// on a path that could be swapped in between.
/// </summary>
public static class InRoot
{
    /// <summary>Opens <paramref name="path"/> (absolute inside the root) as O_PATH.</summary>
    public static SafeFd Open(SafeFd root, string path, int flags = O.PATH) =>
        Files.OpenAt2(root, Relative(path), flags, Resolve.InRoot | Resolve.NoMagicLinks);

    public static bool TryOpen(SafeFd root, string path, out SafeFd? fd, int flags = O.PATH)
    {
        try
        {
            fd = Open(root, path, flags);
            return true;
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            fd = null;
            return false;
        }
    }

    /// <summary>
    /// mkdir -p inside the root; returns the final directory as O_PATH. A dangling symlink on
    /// the way is followed inside the root and its target created there, never on the host.
    /// </summary>
    public static SafeFd MkdirAll(SafeFd root, string path, uint mode = 0x1ed /* 0755 */)
    {
        if (TryOpen(root, path, out var existing, O.PATH | O.DIRECTORY)) return existing!;
        var parts = new Queue<string>(Relative(path).Split('/', StringSplitOptions.RemoveEmptyEntries));
        var current = Files.OpenAt2(root, ".", O.PATH | O.DIRECTORY, Resolve.InRoot);
        var walked = "";
        int links = 0;
        try
        {
            while (parts.TryDequeue(out var part))
            {
                var next = walked + "/" + part;
                if (!TryOpen(root, next, out var fd, O.PATH | O.DIRECTORY))
                {
                    // Missing, or a symlink to something missing: mkdirat on the parent's
                    // descriptor with a single name, so there is no path walk to race.
                    if (!Files.MkdirAt(current, part, mode) && Files.ReadLinkAt(current, part) is { } target)
                    {
                        if (++links > 40) throw new LinuxException(Errno.ELOOP, "mkdir", path);
                        // Restart from the link's target, resolved as the kernel would inside the root.
                        var rest = parts.ToArray();
                        parts = new Queue<string>((target.StartsWith('/') ? target : walked + "/" + target)
                            .Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(rest));
                        current.Dispose();
                        current = Files.OpenAt2(root, ".", O.PATH | O.DIRECTORY, Resolve.InRoot);
                        walked = "";
                        continue;
                    }
                    fd = Open(root, next, O.PATH | O.DIRECTORY);
                }
                current.Dispose();
                current = fd!;
                walked = next;
            }
            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    /// <summary>Makes sure an empty regular file exists at <paramref name="path"/> (a bind-mount target for a file source).</summary>
    public static SafeFd MkFile(SafeFd root, string path)
    {
        if (TryOpen(root, path, out var existing)) return existing!;
        var (dir, name) = Split(path);
        using var parent = MkdirAll(root, dir);
        using (Files.OpenAt(parent, name, O.WRONLY | O.CREAT | O.NOFOLLOW, 0x1a4 /* 0644 */)) { }
        return Files.OpenAt(parent, name, O.PATH | O.NOFOLLOW);
    }

    /// <summary>"/a/b/c" → ("/a/b", "c").</summary>
    public static (string Dir, string Name) Split(string path)
    {
        var clean = "/" + Relative(path);
        int slash = clean.LastIndexOf('/');
        return (slash <= 0 ? "/" : clean[..slash], clean[(slash + 1)..]);
    }

    /// <summary>Path relative to the root, without leading slash; "." for the root itself.</summary>
    public static string Relative(string path)
    {
        var trimmed = path.Trim('/');
        return trimmed.Length == 0 ? "." : trimmed;
    }
}
