using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// One cgroup version's files: how each controller's values are written (v1 and v2 name and
/// scale them differently), read back as stats, and where they live. Standing alone it is the
/// manager of a host with only that version; a <see cref="HybridManager"/> holds one of each.
/// </summary>
public abstract class VersionManager : CgroupManager
{
    protected VersionManager(IReadOnlyList<(Hierarchy Hierarchy, string Dir)> placed, Placement? placement) : base(placed, placement) { }

    /// <summary>Whether this version's hierarchy has <paramref name="c"/> for the container.</summary>
    public abstract bool Serves(Controller c);

    public abstract bool ServesName(string controller);

    /// <summary>"v1" or "v2", for errors.</summary>
    protected abstract string Version { get; }

    protected internal override VersionManager? Owner(Controller c) => Serves(c) ? this : null;

    protected internal override VersionManager? OwnerByName(string controller) => ServesName(controller) ? this : null;

    protected RuntimeException Unsupported(string field, Controller c) =>
        new($"{field}: not supported by cgroup {Version}'s {c.V1Name()} controller");

    // Plans, each given only what is set (EffectiveResources) and only when this manager serves the controller.
    protected internal abstract void PlanMemory(MemoryResources m, CgroupPlanBuilder b);
    protected internal abstract void PlanCpu(CpuResources c, CgroupPlanBuilder b);
    protected internal abstract void PlanCpuset(CpuResources c, CgroupPlanBuilder b);
    protected internal abstract void PlanPids(long limit, CgroupPlanBuilder b);
    protected internal abstract void PlanBlockIo(BlockIo io, CgroupPlanBuilder b);
    protected internal abstract void PlanHugetlb(List<HugepageLimit> limits, CgroupPlanBuilder b);
    protected internal abstract void PlanRdma(Dictionary<string, RdmaResources> rdma, CgroupPlanBuilder b);
    protected internal abstract void PlanDevices(bool defaultAllow, List<DeviceRule> exceptions, CgroupPlanBuilder b);

    protected internal virtual void PlanNetClassId(uint classId, CgroupPlanBuilder b) => throw Unsupported($"{F}.network.classID", Controller.NetCls);

    protected internal virtual void PlanNetPriorities(List<InterfacePriority> priorities, CgroupPlanBuilder b) => throw Unsupported($"{F}.network.priorities", Controller.NetPrio);

    // Stats (runc's `events --stats` sections) and OOM.
    protected internal abstract void WriteCpuStats(Utf8JsonWriter w);
    protected internal abstract void WriteMemoryStats(Utf8JsonWriter w);
    protected internal abstract void WriteBlkioStats(Utf8JsonWriter w);
    protected internal abstract ulong OomKillCount();
    protected internal abstract SafeFd? OpenOomEvents();

    protected internal void WritePidsStats(Utf8JsonWriter w)
    {
        var dir = DirOf(Controller.Pids);
        w.WriteStartObject("pids");
        w.WriteNumber("current", Stats.Number(dir, "pids.current"));
        var max = CgroupFile.Read(dir, "pids.max");
        w.WriteNumber("limit", max is null or "max" ? 0 : ulong.Parse(max));
        w.WriteEndObject();
    }

    /// <summary>The container's directory that holds <paramref name="c"/>'s files.</summary>
    protected abstract string DirOf(Controller c);

    /// <summary>"-1" is "no limit": v1 takes -1, v2 "max".</summary>
    protected abstract string Limit(long value);

    protected internal override V2Manager? UnifiedPart => this as V2Manager;

    /// <summary>rdma.max is the same file on v1 and v2.</summary>
    protected void WriteRdma(Dictionary<string, RdmaResources> rdma, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.Rdma);
        foreach (var (device, limits) in rdma)
            b.Write(dir, "rdma.max", $"{device} hca_handle={limits.HcaHandles?.ToString() ?? "max"} hca_object={limits.HcaObjects?.ToString() ?? "max"}",
                $"{F}.rdma[\"{device}\"]", "rdma");
    }
}
