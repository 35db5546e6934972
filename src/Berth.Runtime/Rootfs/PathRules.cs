using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>linux.maskedPaths and linux.readonlyPaths, applied inside the container after pivot_root.</summary>
public static class PathRules
{
    /// <summary>
    /// A masked file gets /dev/null bound over it, a masked directory an empty read-only tmpfs.
    /// Missing paths are skipped. <paramref name="devNull"/> is opened and checked once, for the
    /// first masked file, and kept for the rest.
    /// </summary>
    public static void Mask(SafeFd root, string path, ref SafeFd? devNull)
    {
        if (!InRoot.TryOpen(root, path, out var target)) return;
        using (target)
        {
            if (Files.Fstat(target!).IsDirectory)
            {
                Mounts.Mount("tmpfs", target!.ProcPath, "tmpfs", MS.RDONLY, null, path);
                return;
            }
            devNull ??= NullDevice(root, path);
            Mounts.Mount(devNull.ProcPath, target!.ProcPath, null, MS.BIND, null, path);
        }
    }

    /// <summary>
    /// Only the real /dev/null may cover a masked file: an image (or a racing process) that
    /// swapped it for a regular file or another device would unmask it (CVE-2025-31133).
    /// </summary>
    static SafeFd NullDevice(SafeFd root, string path)
    {
        var devNull = InRoot.Open(root, "/dev/null");
        var st = Files.Fstat(devNull);
        if (!st.IsCharDevice || st.RdevMajor != 1 || st.RdevMinor != 3)
        {
            devNull.Dispose();
            throw new RuntimeException($"masking {path}: /dev/null is not the null device (char 1:3)");
        }
        return devNull;
    }

    /// <summary>Bind the path onto itself, then remount that bind read-only. Missing paths are skipped.</summary>
    public static void Readonly(SafeFd root, string path, bool inUserNamespace)
    {
        if (!InRoot.TryOpen(root, path, out var target)) return;
        using (target)
            Mounts.Mount(target!.ProcPath, target.ProcPath, null, MS.BIND | MS.REC, null, path);
        using var mounted = InRoot.Open(root, path);
        MountEntry.Remount(mounted, MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.REC, path, inUserNamespace);
    }
}
