using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Per-process attributes the runtime-spec process object sets.</summary>
public static unsafe class ProcessAttributes
{
    /// <summary>RLIMIT_* numbers, by runtime-spec name.</summary>
    public static readonly IReadOnlyDictionary<string, int> Rlimits = new Dictionary<string, int>
    {
        ["RLIMIT_CPU"] = 0, ["RLIMIT_FSIZE"] = 1, ["RLIMIT_DATA"] = 2, ["RLIMIT_STACK"] = 3,
        ["RLIMIT_CORE"] = 4, ["RLIMIT_RSS"] = 5, ["RLIMIT_NPROC"] = 6, ["RLIMIT_NOFILE"] = 7,
        ["RLIMIT_MEMLOCK"] = 8, ["RLIMIT_AS"] = 9, ["RLIMIT_LOCKS"] = 10, ["RLIMIT_SIGPENDING"] = 11,
        ["RLIMIT_MSGQUEUE"] = 12, ["RLIMIT_NICE"] = 13, ["RLIMIT_RTPRIO"] = 14, ["RLIMIT_RTTIME"] = 15,
    };

    public static (ulong Soft, ulong Hard) GetRlimit(int resource)
    {
        ulong* old = stackalloc ulong[2];
        LinuxException.ThrowIfError(Libc.prlimit(0, resource, null, old), "getrlimit");
        return (old[0], old[1]);
    }

    /// <summary>A cpu_set_t for sched_setaffinity (at least 1024 CPUs wide, as glibc's).</summary>
    public static ulong[] CpuMask(IEnumerable<int> cpus)
    {
        var list = cpus.ToList();
        var mask = new ulong[Math.Max(16, list.Count == 0 ? 0 : list.Max() / 64 + 1)];
        foreach (var c in list) mask[c / 64] |= 1UL << (c % 64);
        return mask;
    }

    public static void SetAffinity(int pid, IEnumerable<int> cpus) => SetAffinity(pid, CpuMask(cpus));

    /// <summary>sched_setaffinity for <paramref name="pid"/> (0: the calling thread).</summary>
    public static void SetAffinity(int pid, ulong[] mask)
    {
        fixed (ulong* p = mask)
            LinuxException.ThrowIfError(Libc.sched_setaffinity(pid, mask.Length * 8, p), "sched_setaffinity");
    }
}
