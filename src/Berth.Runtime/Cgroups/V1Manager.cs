using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// cgroup v1: a hierarchy per controller (or per set of co-mounted ones), each with the
/// container's directory. runc's fs driver, file for file.
/// </summary>
public sealed class V1Manager : VersionManager
{
    readonly Dictionary<string, string> _dirOf = new();

    /// <param name="placed">The container's directory in each v1 hierarchy (named ones such as name=systemd included).</param>
    public V1Manager(IReadOnlyList<(Hierarchy Hierarchy, string Dir)> placed, Placement? placement = null) : base(placed, placement)
    {
        foreach (var (h, dir) in placed)
            foreach (var c in h.Controllers)
                _dirOf.TryAdd(c, dir);
    }

    protected override string Version => "v1";

    public override bool Serves(Controller c) => _dirOf.ContainsKey(c.V1Name());

    public override bool ServesName(string controller) => _dirOf.ContainsKey(controller);

    protected override string DirOf(Controller c) => _dirOf[c.V1Name()];

    protected override string Limit(long value) => value.ToString();

    public override Freezer? Freezer => _dirOf.TryGetValue("freezer", out var dir) ? new V1Freezer(dir) : null;

    protected internal override void PlanMemory(MemoryResources m, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.Memory);
        CgroupWrite W(string file, string value, string field) => new(dir, file, value, $"{F}.memory.{field}", "memory");
        if (m.Limit is { } limit)
            // memsw must stay >= the limit at every step: raising both, the limit waits for swap.
            b.Add(W("memory.limit_in_bytes", Limit(limit), "limit") with { RetryAfterRest = m.Swap is not null });
        if (m.Swap is { } swap)
        {
            // Without swap accounting (no memsw), runc's rule: swap equal to the limit, or
            // unlimited, is no swap of its own and is left out; any other is an error.
            bool nothingOfItsOwn = swap == -1 || swap == m.Limit;
            b.Add(W("memory.memsw.limit_in_bytes", Limit(swap), "swap") with
            {
                IfMissing = nothingOfItsOwn ? IfMissing.Skip : IfMissing.Fail,
                MissingHint = $"{swap} needs swap accounting (memory.memsw), which this host's kernel does not do; set it equal to memory.limit or leave it out",
            });
        }
        if (m.Reservation is { } res) b.Add(W("memory.soft_limit_in_bytes", Limit(res), "reservation"));
        if (m.Kernel is { } k) b.Add(W("memory.kmem.limit_in_bytes", Limit(k), "kernel"));
        if (m.KernelTcp is { } kt) b.Add(W("memory.kmem.tcp.limit_in_bytes", Limit(kt), "kernelTCP"));
        if (m.Swappiness is { } sw)
        {
            if (sw > 100) throw new RuntimeException($"{F}.memory.swappiness: {sw} is above 100");
            b.Add(W("memory.swappiness", sw.ToString(), "swappiness"));
        }
        if (m.DisableOomKiller == true) b.Add(W("memory.oom_control", "1", "disableOOMKiller"));
        if (m.UseHierarchy == true) b.Add(W("memory.use_hierarchy", "1", "useHierarchy"));
    }

    protected internal override void PlanCpu(CpuResources c, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.Cpu);
        CgroupWrite W(string file, string value, string field) => new(dir, file, value, $"{F}.cpu.{field}", "cpu");
        if (c.Shares is { } shares) b.Add(W("cpu.shares", shares.ToString(), "shares"));
        // A period or burst is checked against the quota in force: refused, it waits for the new quota.
        if (c.Period is { } p) b.Add(W("cpu.cfs_period_us", p.ToString(), "period") with { RetryAfterRest = c.Quota is not null });
        // runc: a kernel without the burst knob leaves burst out.
        if (c.Burst is { } burst) b.Add(W("cpu.cfs_burst_us", burst.ToString(), "burst") with { RetryAfterRest = c.Quota is not null, IfMissing = IfMissing.Skip });
        if (c.Quota is { } q) b.Add(W("cpu.cfs_quota_us", q < 0 ? "-1" : q.ToString(), "quota"));
        if (c.Idle is { } idle) b.Add(W("cpu.idle", idle.ToString(), "idle"));
        if (c.RealtimePeriod is { } rp) b.Add(W("cpu.rt_period_us", rp.ToString(), "realtimePeriod") with { RetryAfterRest = c.RealtimeRuntime is not null });
        if (c.RealtimeRuntime is { } rr) b.Add(W("cpu.rt_runtime_us", rr.ToString(), "realtimeRuntime"));
    }

    protected internal override void PlanCpuset(CpuResources c, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.Cpuset);
        if (c.Cpus is { } cpus) b.Write(dir, "cpuset.cpus", cpus, $"{F}.cpu.cpus", "cpuset");
        if (c.Mems is { } mems) b.Write(dir, "cpuset.mems", mems, $"{F}.cpu.mems", "cpuset");
    }

    protected internal override void PlanPids(long limit, CgroupPlanBuilder b) =>
        b.Write(DirOf(Controller.Pids), "pids.max", limit < 0 ? "max" : limit.ToString(), $"{F}.pids.limit", "pids");

    protected internal override void PlanBlockIo(BlockIo io, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.BlockIo);
        void W(string file, string value, string field) => b.Write(dir, file, value, $"{F}.blockIO.{field}", "blkio");
        // runc: CFQ's blkio.weight, or BFQ's blkio.bfq.weight where the kernel has no CFQ (5.0+).
        // Leaf weights are CFQ's alone (runc writes them to blkio.leaf_weight whatever the scheduler).
        void Weight(string file, string value, string field) =>
            b.Add(new CgroupWrite(dir, file, value, $"{F}.blockIO.{field}", "blkio") { Fallback = file.Replace("blkio.", "blkio.bfq.") });
        if (io.Weight is { } weight) Weight("blkio.weight", weight.ToString(), "weight");
        if (io.LeafWeight is { } lw) W("blkio.leaf_weight", lw.ToString(), "leafWeight");
        foreach (var d in io.WeightDevice ?? new())
        {
            if (d.Weight is { } dw) Weight("blkio.weight_device", $"{d.Major}:{d.Minor} {dw}", "weightDevice");
            if (d.LeafWeight is { } dl) W("blkio.leaf_weight_device", $"{d.Major}:{d.Minor} {dl}", "weightDevice");
        }
        void Throttle(List<ThrottleDevice>? list, string name, string file)
        {
            foreach (var t in list ?? new()) W(file, $"{t.Major}:{t.Minor} {t.Rate ?? 0}", name);
        }
        Throttle(io.ThrottleReadBpsDevice, "throttleReadBpsDevice", "blkio.throttle.read_bps_device");
        Throttle(io.ThrottleWriteBpsDevice, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device");
        Throttle(io.ThrottleReadIopsDevice, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device");
        Throttle(io.ThrottleWriteIopsDevice, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device");
    }

    protected internal override void PlanHugetlb(List<HugepageLimit> limits, CgroupPlanBuilder b) => PlanHugetlb(limits, b, DirOf(Controller.Hugetlb), ".limit_in_bytes", "-1");

    /// <summary>Shared by v1 and v2: the limit, and the reservation limit where the kernel has it (runc).</summary>
    internal static void PlanHugetlb(List<HugepageLimit> limits, CgroupPlanBuilder b, string dir, string suffix, string unlimited)
    {
        for (int i = 0; i < limits.Count; i++)
        {
            var field = $"{F}.hugepageLimits[{i}]";
            var size = limits[i].PageSize ?? throw new RuntimeException($"{field}.pageSize: is required");
            var value = limits[i].Limit?.ToString() ?? unlimited;
            b.Write(dir, $"hugetlb.{size}{suffix}", value, field, "hugetlb");
            b.Add(new CgroupWrite(dir, $"hugetlb.{size}.rsvd{suffix}", value, field, "hugetlb") { IfMissing = IfMissing.Skip });
        }
    }

    protected internal override void PlanNetClassId(uint classId, CgroupPlanBuilder b) =>
        b.Write(DirOf(Controller.NetCls), "net_cls.classid", classId.ToString(), $"{F}.network.classID", "net_cls");

    protected internal override void PlanNetPriorities(List<InterfacePriority> priorities, CgroupPlanBuilder b)
    {
        foreach (var p in priorities)
            b.Write(DirOf(Controller.NetPrio), "net_prio.ifpriomap", $"{p.Name} {p.Priority}", $"{F}.network.priorities", "net_prio");
    }

    protected internal override void PlanRdma(Dictionary<string, RdmaResources> rdma, CgroupPlanBuilder b) => WriteRdma(rdma, b);

    /// <summary>v1 is a list the kernel edits: the default first, then each exception in order.</summary>
    protected internal override void PlanDevices(bool defaultAllow, List<DeviceRule> exceptions, CgroupPlanBuilder b)
    {
        var dir = DirOf(Controller.Devices);
        b.Write(dir, defaultAllow ? "devices.allow" : "devices.deny", "a", $"{F}.devices", "devices");
        foreach (var r in exceptions)
            b.Write(dir, r.Allow ? "devices.allow" : "devices.deny", r.V1Line, $"{F}.devices", "devices");
    }

    protected internal override void WriteCpuStats(Utf8JsonWriter w) =>
        Stats.CpuV1(w, DirOf(Controller.Cpuacct), Serves(Controller.Cpu) ? DirOf(Controller.Cpu) : null);

    protected internal override void WriteMemoryStats(Utf8JsonWriter w) => Stats.MemoryV1(w, DirOf(Controller.Memory));

    protected internal override void WriteBlkioStats(Utf8JsonWriter w) => Stats.BlkioV1(w, DirOf(Controller.BlockIo));

    protected internal override ulong OomKillCount() => Stats.OomKills(DirOf(Controller.Memory), "memory.oom_control");

    /// <summary>cgroup v1's OOM notification: an eventfd that memory.oom_control signals.</summary>
    protected internal override SafeFd? OpenOomEvents()
    {
        var dir = DirOf(Controller.Memory);
        var efd = EventFds.Create();
        try
        {
            using var control = Files.Open(Path.Join(dir, "memory.oom_control"), O.RDONLY);
            Files.WriteFile(Path.Join(dir, "cgroup.event_control"), $"{efd.Number} {control.Number}");
            return efd;
        }
        catch (LinuxException)
        {
            efd.Dispose();
            return null;
        }
    }
}
