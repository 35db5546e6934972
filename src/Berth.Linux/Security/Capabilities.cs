using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>The five capability sets as bit masks (bit N = capability N).</summary>
public readonly record struct CapabilitySets(ulong Bounding, ulong Effective, ulong Permitted, ulong Inheritable, ulong Ambient);

/// <summary>
/// Capabilities by name and the per-thread calls that set them. capset, PR_CAPBSET_DROP and
/// the ambient set act on the calling thread only; execve keeps just that thread.
/// </summary>
public static unsafe class Capabilities
{
    static readonly string[] Names =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };

    public static IReadOnlyList<string> All => Names;

    public static int? Parse(string name)
    {
        int i = Array.IndexOf(Names, name);
        return i >= 0 ? i : null;
    }

    public static string Name(int cap) => cap < Names.Length ? Names[cap] : $"cap {cap}";

    /// <summary>The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCap()
    {
        return int.TryParse(FileSystem.TryReadText("/proc/sys/kernel/cap_last_cap")?.Trim(), out var last) ? last : Names.Length - 1;
    }

    /// <summary>This process's bounding set, from /proc/self/status.</summary>
    public static ulong OwnBounding() => StatusMask("CapBnd");

    public static ulong StatusMask(string field)
    {
        foreach (var line in FileSystem.ReadText("/proc/self/status").Split('\n'))
            if (line.StartsWith(field + ":"))
                return Convert.ToUInt64(line[(field.Length + 1)..].Trim(), 16);
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }
}

