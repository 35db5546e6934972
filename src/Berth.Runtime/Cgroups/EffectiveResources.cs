using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// What a linux.resources asks to change, by runc's rules: a field that is absent, or zero where
/// zero means "not set", changes nothing. Docker sends <c>blockIO.weight: 0</c> and
/// <c>cpu.shares: 0</c> in every config and zeros for every field `docker update` leaves alone;
/// written, they would be EINVAL (cfs_period_us, cfs_quota_us, pids.max) or a silent minimum
/// (cpu.shares 2, memory.limit_in_bytes 0). The one place those rules live: managers plan only
/// what survives here.
/// </summary>
/// <remarks>
/// runc's rules (libcontainer/specconv, opencontainers/cgroups fs and fs2, update.go):
/// zero is "unset" for memory limit, reservation, swap, kernel, kernelTCP; cpu shares, quota,
/// period, realtimeRuntime, realtimePeriod; cpus and mems ""; pids limit (runc up to 1.3, which
/// Debian's docker and containerd drive: runc 1.4 writes 1 for it); blockIO weight and leafWeight
/// and each weightDevice's; network classID. Zero is a value for cpu burst and idle, memory
/// swappiness (2^64-1, Go's uint64(-1), is docker's "unset"), throttle rates (0 lifts the limit),
/// hugepage limits, rdma and unified. -1 is "no limit" for memory limit, reservation and swap,
/// cpu quota (any negative) and pids limit (any negative); a memory limit of -1 with no swap
/// lifts swap too where the kernel accounts it. disableOOMKiller, useHierarchy and checkBeforeUpdate
/// act only when true.
/// </remarks>
public static class EffectiveResources
{
    /// <summary>A copy of <paramref name="r"/> holding only what it changes; groups that change nothing are null.</summary>
    public static Resources From(Resources? r)
    {
        if (r is null) return new Resources();
        return new Resources
        {
            Devices = r.Devices,
            Memory = Memory(r.Memory),
            Cpu = Cpu(r.Cpu),
            Pids = r.Pids is { Limit: { } limit and not 0 } ? new PidsResources { Limit = limit } : null,
            BlockIO = BlockIo(r.BlockIO),
            HugepageLimits = r.HugepageLimits is { Count: > 0 } h ? h : null,
            Network = Network(r.Network),
            Rdma = r.Rdma is { Count: > 0 } rdma ? rdma : null,
            Unified = r.Unified is { Count: > 0 } u ? u : null,
        };
    }

    static long? Set(long? v) => v is 0 ? null : v;
    static ulong? Set(ulong? v) => v is 0 ? null : v;
    static ushort? Set(ushort? v) => v is 0 ? null : v;
    static uint? Set(uint? v) => v is 0 ? null : v;
    static string? Set(string? v) => v is { Length: > 0 } ? v : null;
    static bool? IfTrue(bool? v) => v == true ? true : null;

    static MemoryResources? Memory(MemoryResources? m)
    {
        if (m is null) return null;
        var e = new MemoryResources
        {
            Limit = Set(m.Limit),
            Reservation = Set(m.Reservation),
            Swap = Set(m.Swap),
            Kernel = Set(m.Kernel),
            KernelTcp = Set(m.KernelTcp),
            Swappiness = m.Swappiness is ulong.MaxValue ? null : m.Swappiness,
            DisableOomKiller = IfTrue(m.DisableOomKiller),
            UseHierarchy = IfTrue(m.UseHierarchy),
            // Not a setting of its own: how v2 judges a new limit.
            CheckBeforeUpdate = IfTrue(m.CheckBeforeUpdate),
        };
        // runc: "unlimited memory" with swap unset means unlimited swap too (where there is memsw).
        if (e.Limit == -1 && e.Swap is null) e.Swap = -1;
        return e.Limit is not null || e.Reservation is not null || e.Swap is not null || e.Kernel is not null || e.KernelTcp is not null
            || e.Swappiness is not null || e.DisableOomKiller is not null || e.UseHierarchy is not null ? e : null;
    }

    static CpuResources? Cpu(CpuResources? c)
    {
        if (c is null) return null;
        var e = new CpuResources
        {
            Shares = Set(c.Shares),
            Quota = Set(c.Quota),
            Period = Set(c.Period),
            Burst = c.Burst,
            RealtimeRuntime = Set(c.RealtimeRuntime),
            RealtimePeriod = Set(c.RealtimePeriod),
            Idle = c.Idle,
            Cpus = Set(c.Cpus),
            Mems = Set(c.Mems),
        };
        return e.Shares is not null || e.Quota is not null || e.Period is not null || e.Burst is not null || e.RealtimeRuntime is not null
            || e.RealtimePeriod is not null || e.Idle is not null || e.Cpus is not null || e.Mems is not null ? e : null;
    }

    static BlockIo? BlockIo(BlockIo? b)
    {
        if (b is null) return null;
        var weights = b.WeightDevice?
            .Select(d => new WeightDevice { Major = d.Major, Minor = d.Minor, Weight = Set(d.Weight), LeafWeight = Set(d.LeafWeight) })
            .Where(d => d.Weight is not null || d.LeafWeight is not null).ToList();
        var e = new BlockIo
        {
            Weight = Set(b.Weight),
            LeafWeight = Set(b.LeafWeight),
            WeightDevice = weights is { Count: > 0 } ? weights : null,
            // Every throttle is a value: rate 0 lifts the device's limit.
            ThrottleReadBpsDevice = b.ThrottleReadBpsDevice is { Count: > 0 } rb ? rb : null,
            ThrottleWriteBpsDevice = b.ThrottleWriteBpsDevice is { Count: > 0 } wb ? wb : null,
            ThrottleReadIopsDevice = b.ThrottleReadIopsDevice is { Count: > 0 } ri ? ri : null,
            ThrottleWriteIopsDevice = b.ThrottleWriteIopsDevice is { Count: > 0 } wi ? wi : null,
        };
        return e.Weight is not null || e.LeafWeight is not null || e.WeightDevice is not null || e.ThrottleReadBpsDevice is not null
            || e.ThrottleWriteBpsDevice is not null || e.ThrottleReadIopsDevice is not null || e.ThrottleWriteIopsDevice is not null ? e : null;
    }

    static NetworkResources? Network(NetworkResources? n)
    {
        if (n is null) return null;
        var e = new NetworkResources { ClassId = Set(n.ClassId), Priorities = n.Priorities is { Count: > 0 } p ? p : null };
        return e.ClassId is not null || e.Priorities is not null ? e : null;
    }
}
