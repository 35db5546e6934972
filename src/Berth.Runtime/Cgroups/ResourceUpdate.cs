using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// `update`'s rules (runc's update.go): only what the changes set is changed — a zero is "leave
/// it" (<see cref="EffectiveResources"/>) — and values the kernel judges together are written
/// together: a new memory limit with the swap in force and a new swap with the limit in force
/// (v2 stores swap alone), a new cpu quota with the period in force and a period with the quota
/// (v2's cpu.max holds both). Devices are not updated (runc: SkipDevices).
/// </summary>
public static class ResourceUpdate
{
    /// <summary>
    /// Merges <paramref name="changes"/> into <paramref name="current"/> (in place, so what Berth does
    /// not model there stays) and returns what to write.
    /// </summary>
    public static Resources Apply(Resources current, Resources changes)
    {
        var before = EffectiveResources.From(current);
        var e = EffectiveResources.From(changes);
        e.Devices = null;
        if (e.Memory is { } m)
        {
            if (m.Limit is not null) m.Swap ??= before.Memory?.Swap;
            if (m.Swap is not null) m.Limit ??= before.Memory?.Limit;
        }
        if (e.Cpu is { } c && (c.Quota is null) != (c.Period is null))
        {
            c.Quota ??= before.Cpu?.Quota;
            c.Period ??= before.Cpu?.Period;
        }
        Merge(current, e);
        return e;
    }

    static void Merge(Resources doc, Resources e)
    {
        if (e.Memory is { } m)
        {
            var t = doc.Memory ??= new MemoryResources();
            t.Limit = m.Limit ?? t.Limit; t.Reservation = m.Reservation ?? t.Reservation; t.Swap = m.Swap ?? t.Swap;
            t.Kernel = m.Kernel ?? t.Kernel; t.KernelTcp = m.KernelTcp ?? t.KernelTcp; t.Swappiness = m.Swappiness ?? t.Swappiness;
            t.DisableOomKiller = m.DisableOomKiller ?? t.DisableOomKiller; t.UseHierarchy = m.UseHierarchy ?? t.UseHierarchy;
            t.CheckBeforeUpdate = m.CheckBeforeUpdate ?? t.CheckBeforeUpdate;
        }
        if (e.Cpu is { } c)
        {
            var t = doc.Cpu ??= new CpuResources();
            t.Shares = c.Shares ?? t.Shares; t.Quota = c.Quota ?? t.Quota; t.Period = c.Period ?? t.Period; t.Burst = c.Burst ?? t.Burst;
            t.RealtimePeriod = c.RealtimePeriod ?? t.RealtimePeriod; t.RealtimeRuntime = c.RealtimeRuntime ?? t.RealtimeRuntime;
            t.Cpus = c.Cpus ?? t.Cpus; t.Mems = c.Mems ?? t.Mems; t.Idle = c.Idle ?? t.Idle;
        }
        if (e.Pids is { Limit: { } limit }) (doc.Pids ??= new PidsResources()).Limit = limit;
        if (e.BlockIO is { } b)
        {
            var t = doc.BlockIO ??= new BlockIo();
            t.Weight = b.Weight ?? t.Weight;
            t.LeafWeight = b.LeafWeight ?? t.LeafWeight;
            // Per device: an entry for the same major:minor is updated, a new one appended (runc's upsert).
            foreach (var d in b.WeightDevice ?? new())
            {
                var list = t.WeightDevice ??= new();
                if (list.LastOrDefault(x => x.Major == d.Major && x.Minor == d.Minor) is { } old)
                {
                    old.Weight = d.Weight ?? old.Weight;
                    old.LeafWeight = d.LeafWeight ?? old.LeafWeight;
                }
                else list.Add(d);
            }
            t.ThrottleReadBpsDevice = Upsert(t.ThrottleReadBpsDevice, b.ThrottleReadBpsDevice);
            t.ThrottleWriteBpsDevice = Upsert(t.ThrottleWriteBpsDevice, b.ThrottleWriteBpsDevice);
            t.ThrottleReadIopsDevice = Upsert(t.ThrottleReadIopsDevice, b.ThrottleReadIopsDevice);
            t.ThrottleWriteIopsDevice = Upsert(t.ThrottleWriteIopsDevice, b.ThrottleWriteIopsDevice);
        }
        foreach (var h in e.HugepageLimits ?? new())
        {
            var list = doc.HugepageLimits ??= new();
            if (list.LastOrDefault(x => x.PageSize == h.PageSize) is { } old) old.Limit = h.Limit;
            else list.Add(h);
        }
        if (e.Network is { } n)
        {
            var t = doc.Network ??= new NetworkResources();
            t.ClassId = n.ClassId ?? t.ClassId;
            foreach (var p in n.Priorities ?? new())
            {
                var list = t.Priorities ??= new();
                if (list.LastOrDefault(x => x.Name == p.Name) is { } old) old.Priority = p.Priority;
                else list.Add(p);
            }
        }
        foreach (var (device, limits) in e.Rdma ?? new())
        {
            var map = doc.Rdma ??= new();
            if (map.TryGetValue(device, out var old))
            {
                old.HcaHandles = limits.HcaHandles ?? old.HcaHandles;
                old.HcaObjects = limits.HcaObjects ?? old.HcaObjects;
            }
            else map[device] = limits;
        }
        foreach (var (k, v) in e.Unified ?? new()) (doc.Unified ??= new())[k] = v;
    }

    static List<ThrottleDevice>? Upsert(List<ThrottleDevice>? list, List<ThrottleDevice>? changes)
    {
        foreach (var d in changes ?? new())
        {
            list ??= new();
            if (list.LastOrDefault(x => x.Major == d.Major && x.Minor == d.Minor) is { } old) old.Rate = d.Rate;
            else list.Add(d);
        }
        return list;
    }
}
