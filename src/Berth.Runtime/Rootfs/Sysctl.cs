using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>linux.sysctl, written through the container's own /proc/sys after pivot_root (the launcher validated that each key is namespaced).</summary>
public static class Sysctl
{
    public static void Apply(IReadOnlyDictionary<string, string> sysctl, Action<string> step)
    {
        if (sysctl.Count == 0) return;
        using var proc = ProcFs.Open();
        foreach (var (key, value) in sysctl)
        {
            step($"linux.sysctl[\"{key}\"]");
            proc.Write("sys/" + key.Replace('.', '/'), value);
        }
    }
}
