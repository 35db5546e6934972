using System.Text;
using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>linux.sysctl, written through the container's own /proc/sys after pivot_root (the launcher validated that each key is namespaced).</summary>
public static class Sysctl
{
    const long PROC_SUPER_MAGIC = 0x9fa0;

    public static void Apply(IReadOnlyDictionary<string, string> sysctl, Action<string> step)
    {
        if (sysctl.Count == 0) return;
        using var procSys = Files.Open("/proc/sys", O.PATH | O.DIRECTORY);
        // A rootfs that put something else at /proc would take these writes (CVE-2025-52881 class).
        if (Files.FilesystemType(procSys) != PROC_SUPER_MAGIC)
            throw new RuntimeException("/proc/sys is not procfs: refusing to write sysctls through it");
        foreach (var (key, value) in sysctl)
        {
            step($"linux.sysctl[\"{key}\"]");
            using var fd = Files.OpenAt2(procSys, key.Replace('.', '/'), O.WRONLY | O.TRUNC, Resolve.Beneath | Resolve.NoSymlinks | Resolve.NoXdev);
            Files.WriteAll(fd, Encoding.UTF8.GetBytes(value), $"/proc/sys/{key.Replace('.', '/')}");
        }
    }
}
