using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// What every manager shares: placement (a directory per hierarchy, made, entered, listed and
/// removed alike on v1 and v2) and the plan's outline — which resources are set
/// (<see cref="EffectiveResources"/>) and which manager owns each controller (<see cref="Owner"/>).
/// How each controller's values become files is <see cref="VersionManager"/>'s.
/// </summary>
public abstract class CgroupManager : ICgroupManager
{
    protected const string F = "linux.resources";

    readonly Placement? _placement;

    protected CgroupManager(IReadOnlyList<(Hierarchy Hierarchy, string Dir)> placed, Placement? placement)
    {
        Placed = placed;
        Dirs = placed.Select(p => p.Dir).ToList();
        _placement = placement;
    }

    public IReadOnlyList<(Hierarchy Hierarchy, string Dir)> Placed { get; }
    public IReadOnlyList<string> Dirs { get; }
    public IReadOnlyList<string> Missing => _placement?.Missing ?? Array.Empty<string>();

    public void Create() => (_placement ?? throw new InvalidOperationException("cgroups of an existing container are not created again")).Create();

    public void Enter(int pid) => Enter(Dirs, pid);

    /// <summary>
    /// Moves <paramref name="pid"/> into every directory. (A container's own processes join by
    /// themselves in the nsenter stage: moving another process waits out an RCU grace period.)
    /// </summary>
    internal static void Enter(IEnumerable<string> dirs, int pid)
    {
        foreach (var dir in dirs)
        {
            try
            {
                Files.WriteFile(Path.Join(dir, "cgroup.procs"), pid.ToString());
            }
            catch (LinuxException e)
            {
                throw new RuntimeException($"cgroup: placing pid {pid} in {dir}: {Errnos.Describe(e.Errno)}", e);
            }
        }
    }

    public IReadOnlyList<int> Pids() => Placement.Procs(Dirs);

    public void Destroy(IReadOnlyList<string> createdDeepestFirst, IReadOnlyCollection<string> leaves) => Placement.Remove(createdDeepestFirst, leaves);

    public void Apply(CgroupPlan plan) => plan.Execute();

    public abstract Freezer? Freezer { get; }

    /// <summary>The manager whose hierarchy has <paramref name="c"/>; null when this host offers it nowhere.</summary>
    protected internal abstract VersionManager? Owner(Controller c);

    /// <summary>The same, by the name a linux.resources.unified key starts with ("memory.high").</summary>
    protected internal abstract VersionManager? OwnerByName(string controller);

    /// <summary>The unified (v2) part, if the host mounts one.</summary>
    protected internal abstract V2Manager? UnifiedPart { get; }

    VersionManager Need(Controller c, string field) => Owner(c)
        ?? throw new RuntimeException($"{field}: the {c.V1Name()} controller is not available on this host (not mounted, or not delegated to this cgroup)");

    public CgroupPlan Plan(Resources? resources, IReadOnlyList<DeviceRule>? devices = null)
    {
        var r = EffectiveResources.From(resources);
        var b = new CgroupPlanBuilder();
        if (r.Memory is { } m) Need(Controller.Memory, MemoryField(m)).PlanMemory(m, b);
        if (r.Cpu is { } c)
        {
            if (CpuField(c) is { } cpu) Need(Controller.Cpu, cpu).PlanCpu(c, b);
            if (c.Cpus is not null || c.Mems is not null) Need(Controller.Cpuset, $"{F}.cpu.{(c.Cpus is not null ? "cpus" : "mems")}").PlanCpuset(c, b);
        }
        if (r.Pids is { Limit: { } limit }) Need(Controller.Pids, $"{F}.pids.limit").PlanPids(limit, b);
        if (r.BlockIO is { } io) Need(Controller.BlockIo, BlockIoField(io)).PlanBlockIo(io, b);
        if (r.HugepageLimits is { } huge) Need(Controller.Hugetlb, $"{F}.hugepageLimits[0]").PlanHugetlb(huge, b);
        if (r.Network is { ClassId: { } id }) Need(Controller.NetCls, $"{F}.network.classID").PlanNetClassId(id, b);
        if (r.Network is { Priorities: { } priorities }) Need(Controller.NetPrio, $"{F}.network.priorities").PlanNetPriorities(priorities, b);
        if (r.Rdma is { } rdma) Need(Controller.Rdma, $"{F}.rdma[\"{rdma.Keys.First()}\"]").PlanRdma(rdma, b);
        if (r.Unified is { } unified) PlanUnified(unified, b);
        if (devices is not null)
        {
            var (defaultAllow, exceptions) = DeviceRules.Normalize(devices);
            // v1's devices controller, and (on the unified half of a hybrid host too) v2's device program.
            Owner(Controller.Devices)?.PlanDevices(defaultAllow, exceptions, b);
            UnifiedPart?.PlanDevices(defaultAllow, exceptions, b);
        }
        return b.Build();
    }

    public CgroupPlan PlanUpdate(Resources current, Resources changes) => Plan(ResourceUpdate.Apply(current, changes), devices: null);

    /// <summary>linux.resources.unified: cgroup v2 files by name, only where their controller is enabled.</summary>
    void PlanUnified(Dictionary<string, string> unified, CgroupPlanBuilder b)
    {
        foreach (var (key, value) in unified)
        {
            var field = $"{F}.unified[\"{key}\"]";
            if (key.Contains('/') || key.StartsWith('.') || !key.Contains('.'))
                throw new RuntimeException($"{field}: is not a cgroup v2 file name");
            var controller = key[..key.IndexOf('.')];
            var owner = controller == "cgroup" ? UnifiedPart : OwnerByName(controller);
            if (owner is not V2Manager v2)
                throw new RuntimeException($"{field}: needs cgroup v2 with the {controller} controller; here {(owner is null ? "this host has no such controller" : $"{controller} is a cgroup v1 controller")}");
            b.Write(v2.Dir, key, value, field, controller);
        }
    }

    static string MemoryField(MemoryResources m) => $"{F}.memory." + (
        m.Limit is not null ? "limit" : m.Reservation is not null ? "reservation" : m.Swap is not null ? "swap" :
        m.Kernel is not null ? "kernel" : m.KernelTcp is not null ? "kernelTCP" : m.Swappiness is not null ? "swappiness" :
        m.DisableOomKiller is not null ? "disableOOMKiller" : "useHierarchy");

    static string? CpuField(CpuResources c) =>
        c.Shares is not null ? $"{F}.cpu.shares" : c.Quota is not null ? $"{F}.cpu.quota" : c.Period is not null ? $"{F}.cpu.period" :
        c.Burst is not null ? $"{F}.cpu.burst" : c.RealtimePeriod is not null ? $"{F}.cpu.realtimePeriod" :
        c.RealtimeRuntime is not null ? $"{F}.cpu.realtimeRuntime" : c.Idle is not null ? $"{F}.cpu.idle" : null;

    static string BlockIoField(BlockIo b) => $"{F}.blockIO." + (
        b.Weight is not null ? "weight" : b.LeafWeight is not null ? "leafWeight" : b.WeightDevice is not null ? "weightDevice" :
        b.ThrottleReadBpsDevice is not null ? "throttleReadBpsDevice" : b.ThrottleWriteBpsDevice is not null ? "throttleWriteBpsDevice" :
        b.ThrottleReadIopsDevice is not null ? "throttleReadIOPSDevice" : "throttleWriteIOPSDevice");

    public void WriteStats(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        Owner(Controller.Cpuacct)?.WriteCpuStats(w);
        Owner(Controller.Memory)?.WriteMemoryStats(w);
        Owner(Controller.Pids)?.WritePidsStats(w);
        Owner(Controller.BlockIo)?.WriteBlkioStats(w);
        w.WriteEndObject();
    }

    public ulong OomKills() => Owner(Controller.Memory)?.OomKillCount() ?? 0;

    public SafeFd? OomEvents() => Owner(Controller.Memory)?.OpenOomEvents();
}
