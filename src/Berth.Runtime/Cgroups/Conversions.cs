namespace Berth.Runtime.Cgroups;

/// <summary>runtime-spec values (cgroup v1 units) as cgroup v2 takes them.</summary>
public static class Conversions
{
    /// <summary>runc's shares → weight: [2, 262144] maps onto [1, 10000]; 0 stays "unset".</summary>
    public static ulong SharesToWeight(ulong shares) => shares == 0 ? 0 : 1 + (Math.Clamp(shares, 2, 262144) - 2) * 9999 / 262142;

    /// <summary>blkio weight [10, 1000] → io.weight [1, 10000]; 0 stays "unset".</summary>
    public static ulong BlkioToIoWeight(ulong weight) => weight == 0 ? 0 : 1 + (Math.Clamp(weight, 10, 1000) - 10) * 9999 / 990;

    /// <summary>
    /// runc's ConvertMemorySwapToCgroupV2Value: the spec's swap is memory plus swap, v2's
    /// memory.swap.max is swap alone. 0 is "unset", -1 "max"; null is an error to report.
    /// </summary>
    public static long? SwapToV2(long swap, long limit, out string? error)
    {
        error = null;
        if (limit == -1 && swap == 0) return -1;
        if (swap is -1 or 0 || limit == -1) return swap;
        if (limit == 0) error = "is memory plus swap, which needs a memory.limit to subtract on cgroup v2";
        else if (limit < 0) error = $"cannot be judged against memory.limit {limit}";
        else if (swap < limit) error = $"is memory plus swap, and below memory.limit {limit}";
        return error is null ? swap - limit : null;
    }
}
