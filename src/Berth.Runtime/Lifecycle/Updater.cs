using Berth.Oci;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `update`: new limits written to a live container's cgroups and merged into its stored
/// config, so later commands see them. Only the values given change.
/// </summary>
public sealed class Updater
{
    readonly StateStore _store;

    public Updater(StateStore store) => _store = store;

    public void Update(string id, Resources changes)
    {
        using var dir = _store.Open(id, exclusive: true) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        var status = StatusProbe.Of(r, dir.FifoExists);
        if (status is Status.Stopped or Status.Creating) throw RuntimeException.NotRunning(id);
        var set = CgroupSet.FromDirs(r!.Cgroups);
        // The swap rule compares swap with the limit: judge the change against the whole new memory setting.
        var spec = dir.ReadSpec();
        var merged = Merge(spec?.Linux?.Resources ?? new Resources(), changes);
        if (changes.Memory is { } m && merged.Memory is { } mm)
        {
            // A new limit keeps the swap it had; a new swap is judged against the limit in force.
            if (m.Limit is not null) m.Swap ??= mm.Swap;
            if (m.Swap is not null) m.Limit ??= mm.Limit;
        }
        ResourceWriter.Check(changes, set);
        ResourceWriter.Apply(changes, set, devices: null);
        if (spec is not null)
        {
            (spec.Linux ??= new Oci.Runtime.Linux()).Resources = merged;
            dir.WriteSpec(JsonOut.Document(spec));
        }
    }

    /// <summary><paramref name="doc"/> (the stored config's own copy) with every value <paramref name="changes"/> sets replacing the current one.</summary>
    static Resources Merge(Resources doc, Resources changes)
    {
        if (changes.Memory is { } m)
        {
            var t = doc.Memory ??= new MemoryResources();
            t.Limit = m.Limit ?? t.Limit; t.Reservation = m.Reservation ?? t.Reservation; t.Swap = m.Swap ?? t.Swap;
            t.Kernel = m.Kernel ?? t.Kernel; t.KernelTcp = m.KernelTcp ?? t.KernelTcp; t.Swappiness = m.Swappiness ?? t.Swappiness;
            t.DisableOomKiller = m.DisableOomKiller ?? t.DisableOomKiller; t.UseHierarchy = m.UseHierarchy ?? t.UseHierarchy;
        }
        if (changes.Cpu is { } c)
        {
            var t = doc.Cpu ??= new CpuResources();
            t.Shares = c.Shares ?? t.Shares; t.Quota = c.Quota ?? t.Quota; t.Period = c.Period ?? t.Period; t.Burst = c.Burst ?? t.Burst;
            t.RealtimePeriod = c.RealtimePeriod ?? t.RealtimePeriod; t.RealtimeRuntime = c.RealtimeRuntime ?? t.RealtimeRuntime;
            t.Cpus = c.Cpus ?? t.Cpus; t.Mems = c.Mems ?? t.Mems; t.Idle = c.Idle ?? t.Idle;
        }
        if (changes.Pids is { Limit: { } limit }) (doc.Pids ??= new PidsResources()).Limit = limit;
        if (changes.BlockIO is { } b) doc.BlockIO = b;
        if (changes.HugepageLimits is { } h) doc.HugepageLimits = h;
        if (changes.Network is { } n) doc.Network = n;
        if (changes.Rdma is { } rd) doc.Rdma = rd;
        if (changes.Unified is { } u)
        {
            doc.Unified ??= new();
            foreach (var (k, v) in u) doc.Unified[k] = v;
        }
        return doc;
    }
}
