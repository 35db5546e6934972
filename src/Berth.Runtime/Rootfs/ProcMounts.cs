using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// runc's rules for mounts on /proc (checkProcMount): over /proc itself only a proc file
/// system (a fresh one, or a bind of a procfs root); inside /proc only the files lxcfs
/// emulates. Anything else could cover what the kernel's own procfs is trusted to say, or
/// make a write meant for the container land in a host file (a bind over
/// /proc/sys/kernel/core_pattern turns the host's core dumps into a command of the image's).
/// Checked twice: by the destination's text in the launcher, and in init by where the target
/// resolved inside the rootfs, so a symlink in the image cannot route a mount into /proc.
/// </summary>
public static class ProcMounts
{
    const long PROC_SUPER_MAGIC = 0x9fa0;
    const ulong ProcRootIno = 1;

    /// <summary>The /proc files lxcfs (and runc) may mount over.</summary>
    public static readonly IReadOnlyList<string> Allowed = new[]
    {
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
    };

    /// <summary>The launcher's check of mounts[].destination, lexically cleaned.</summary>
    public static void CheckDestinations(List<Mount>? mounts, string bundle)
    {
        for (int i = 0; i < (mounts?.Count ?? 0); i++)
        {
            var m = mounts![i];
            var dest = Clean(m.Destination!);
            if (dest == "/proc")
            {
                if (!IsBind(m) && m.Type == "proc") continue;
                if (IsBind(m) && !string.IsNullOrEmpty(m.Source) && IsProcRoot(Path.IsPathRooted(m.Source) ? m.Source : Path.Combine(bundle, m.Source))) continue;
                throw new RuntimeException($"mounts[{i}]: only a proc file system may be mounted on /proc, not {(string.IsNullOrEmpty(m.Type) ? "this mount" : $"type \"{m.Type}\"")}");
            }
            if (dest.StartsWith("/proc/", StringComparison.Ordinal) && !Allowed.Contains(dest))
                throw new RuntimeException($"mounts[{i}].destination: \"{m.Destination}\" is inside /proc, where only {string.Join(", ", Allowed)} may be mounted over");
        }
    }

    /// <summary>
    /// Init's check, on the target as resolved: a target inside a procfs must be its root (and
    /// the mount a procfs) or one of the allowed files.
    /// </summary>
    public static void CheckTarget(SafeFd target, Mount m, string rootfs, SafeFd? bindSource)
    {
        if (Files.FilesystemType(target) != PROC_SUPER_MAGIC) return;
        var dest = m.Destination!;
        if (Files.Fstat(target).Ino == ProcRootIno)
        {
            if (!IsBind(m) && m.Type == "proc") return;
            if (bindSource is not null && Files.FilesystemType(bindSource) == PROC_SUPER_MAGIC && Files.Fstat(bindSource).Ino == ProcRootIno) return;
            throw new RuntimeException($"mount {dest}: it resolves to /proc, where only a proc file system may be mounted");
        }
        var resolved = Files.ReadLinkAt(null, target.ProcPath);
        var inside = resolved is not null && resolved.StartsWith(rootfs.TrimEnd('/') + "/", StringComparison.Ordinal) ? resolved[rootfs.TrimEnd('/').Length..] : resolved;
        if (inside is null || !Allowed.Contains(inside))
            throw new RuntimeException($"mount {dest}: it resolves to {inside ?? "a file"} inside /proc, where only {string.Join(", ", Allowed)} may be mounted over");
    }

    static bool IsProcRoot(string path)
    {
        try
        {
            using var fd = Files.Open(path, O.PATH);
            return Files.FilesystemType(fd) == PROC_SUPER_MAGIC && Files.Fstat(fd).Ino == ProcRootIno;
        }
        catch (LinuxException)
        {
            return false; // the mount itself will say what is wrong with the source
        }
    }

    static bool IsBind(Mount m) => m.Type == "bind" || (m.Options?.Any(o => o is "bind" or "rbind") ?? false);

    /// <summary>filepath.Clean for an absolute path: no "." or ".." components, no repeated or trailing slashes.</summary>
    static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (var c in path.Split('/'))
        {
            if (c is "" or ".") continue;
            if (c == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(c);
        }
        return "/" + string.Join('/', parts);
    }
}
