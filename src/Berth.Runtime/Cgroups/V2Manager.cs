using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// cgroup v2: one directory, whose controllers are those its parent delegates (cgroup.controllers;
/// for a directory not made yet, the nearest existing ancestor's cgroup.subtree_control). runc's
/// fs2 driver, file for file. Berth never writes a subtree_control: delegation is the host's.
/// </summary>
public sealed class V2Manager : VersionManager
{
    HashSet<string>? _controllers;

    public V2Manager((Hierarchy Hierarchy, string Dir) placed, Placement? placement = null) : base(new[] { placed }, placement)
    {
        Dir = placed.Dir;
    }

    /// <summary>A manager of <paramref name="dir"/> alone, as on a host that mounts only cgroup2 there (tests use a fake tree).</summary>
    public V2Manager(string dir) : this((new Hierarchy(dir, "/", true, Array.Empty<string>(), "/"), dir)) { }

    public string Dir { get; }

    protected override string Version => "v2";

    /// <summary>Read once, when a controller is first asked for: a v1-only question never reads it.</summary>
    HashSet<string> Enabled => _controllers ??= ReadControllers(Dir);

    static HashSet<string> ReadControllers(string dir)
    {
        var file = Directory.Exists(dir) ? Path.Join(dir, "cgroup.controllers") : Path.Join(NearestExisting(dir), "cgroup.subtree_control");
        return new HashSet<string>((CgroupFile.Read(Path.GetDirectoryName(file)!, Path.GetFileName(file)) ?? "")
            .Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries));
    }

    static string NearestExisting(string dir)
    {
        var d = Path.GetDirectoryName(dir);
        while (d is not null && !Directory.Exists(d)) d = Path.GetDirectoryName(d);
        return d ?? "/";
    }

    public override bool Serves(Controller c) => c.V2Name() is { } name && Enabled.Contains(name);

    public override bool ServesName(string controller) => Enabled.Contains(controller);

    protected override string DirOf(Controller c) => Dir;

    protected override string Limit(long value) => value == -1 ? "max" : value.ToString();

    public override Freezer? Freezer => Dir.Length > 0 ? new V2Freezer(Dir) : null;

    protected internal override void PlanMemory(MemoryResources m, CgroupPlanBuilder b)
    {
        CgroupWrite W(string file, string value, string field) => new(Dir, file, value, $"{F}.memory.{field}", "memory");
        if (m.CheckBeforeUpdate == true) CheckUsage(m);
        if (m.Swap is { } swap)
        {
            // memory.swap.max is swap alone; the spec's swap is memory plus swap (runc's conversion).
            var alone = Conversions.SwapToV2(swap, m.Limit ?? 0, out var error)
                ?? throw new RuntimeException($"{F}.memory.swap: {swap} {error}");
            // Swap equal to the limit is no swap; without swap in the kernel, "none" and "max" need no file.
            var value = alone == -1 ? "max" : alone.ToString();
            if (alone != 0 || swap > 0)
                b.Add(W("memory.swap.max", value, "swap") with { IfMissing = value is "max" or "0" ? IfMissing.Skip : IfMissing.Fail });
        }
        if (m.Limit is { } limit) b.Add(W("memory.max", Limit(limit), "limit"));
        if (m.Reservation is { } res) b.Add(W("memory.low", Limit(res), "reservation"));
        if (m.Kernel is not null) throw Unsupported($"{F}.memory.kernel", Controller.Memory);
        if (m.KernelTcp is not null) throw Unsupported($"{F}.memory.kernelTCP", Controller.Memory);
        if (m.Swappiness is { } sw)
        {
            if (sw > 100) throw new RuntimeException($"{F}.memory.swappiness: {sw} is above 100");
            throw Unsupported($"{F}.memory.swappiness", Controller.Memory);
        }
        if (m.DisableOomKiller is not null) throw Unsupported($"{F}.memory.disableOOMKiller", Controller.Memory);
        if (m.UseHierarchy is not null) throw Unsupported($"{F}.memory.useHierarchy", Controller.Memory);
    }

    /// <summary>runc's checkBeforeUpdate: a limit at or below what the cgroup uses now is refused, not left to the OOM killer.</summary>
    void CheckUsage(MemoryResources m)
    {
        // Best effort, as runc: no usage to read (not created yet) is no check.
        if (CgroupFile.Read(Dir, "memory.current") is not { } text || !ulong.TryParse(text, out var usage)) return;
        if (m.Swap is > 0 and var swap && (ulong)swap <= usage)
            throw new RuntimeException($"{F}.memory.swap: {swap} is not above the memory+swap the container uses now ({usage}; checkBeforeUpdate)");
        if (m.Limit is > 0 and var limit && (ulong)limit <= usage)
            throw new RuntimeException($"{F}.memory.limit: {limit} is not above the memory the container uses now ({usage}; checkBeforeUpdate)");
    }

    protected internal override void PlanCpu(CpuResources c, CgroupPlanBuilder b)
    {
        CgroupWrite W(string file, string value, string field) => new(Dir, file, value, $"{F}.cpu.{field}", "cpu");
        if (c.RealtimePeriod is not null) throw Unsupported($"{F}.cpu.realtimePeriod", Controller.Cpu);
        if (c.RealtimeRuntime is not null) throw Unsupported($"{F}.cpu.realtimeRuntime", Controller.Cpu);
        if (c.Idle is { } idle) b.Add(W("cpu.idle", idle.ToString(), "idle"));
        if (c.Shares is { } shares) b.Add(W("cpu.weight", Conversions.SharesToWeight(shares).ToString(), "shares"));
        if (c.Burst is { } burst) b.Add(W("cpu.max.burst", burst.ToString(), "burst") with { RetryAfterRest = c.Quota is not null });
        if (c.Quota is not null || c.Period is not null)
        {
            // One file: "$QUOTA $PERIOD", "max" for no quota; without a period the kernel keeps its own.
            string quota = c.Quota is > 0 ? c.Quota.Value.ToString() : "max";
            b.Add(W("cpu.max", c.Period is { } p ? $"{quota} {p}" : quota, c.Quota is not null ? "quota" : "period"));
        }
    }

    protected internal override void PlanCpuset(CpuResources c, CgroupPlanBuilder b)
    {
        if (c.Cpus is { } cpus) b.Write(Dir, "cpuset.cpus", cpus, $"{F}.cpu.cpus", "cpuset");
        if (c.Mems is { } mems) b.Write(Dir, "cpuset.mems", mems, $"{F}.cpu.mems", "cpuset");
    }

    protected internal override void PlanPids(long limit, CgroupPlanBuilder b) =>
        b.Write(Dir, "pids.max", limit < 0 ? "max" : limit.ToString(), $"{F}.pids.limit", "pids");

    protected internal override void PlanBlockIo(BlockIo io, CgroupPlanBuilder b)
    {
        void W(string file, string value, string field) => b.Write(Dir, file, value, $"{F}.blockIO.{field}", "io");
        if (io.Weight is { } weight) W("io.weight", $"default {Conversions.BlkioToIoWeight(weight)}", "weight");
        if (io.LeafWeight is not null) throw Unsupported($"{F}.blockIO.leafWeight", Controller.BlockIo);
        // Leaf weights have no v2 counterpart: runc leaves them out.
        foreach (var d in io.WeightDevice ?? new())
            if (d.Weight is { } dw) W("io.weight", $"{d.Major}:{d.Minor} {Conversions.BlkioToIoWeight(dw)}", "weightDevice");
        void Throttle(List<ThrottleDevice>? list, string name, string key)
        {
            foreach (var t in list ?? new()) W("io.max", $"{t.Major}:{t.Minor} {key}={t.Rate ?? 0}", name);
        }
        Throttle(io.ThrottleReadBpsDevice, "throttleReadBpsDevice", "rbps");
        Throttle(io.ThrottleWriteBpsDevice, "throttleWriteBpsDevice", "wbps");
        Throttle(io.ThrottleReadIopsDevice, "throttleReadIOPSDevice", "riops");
        Throttle(io.ThrottleWriteIopsDevice, "throttleWriteIOPSDevice", "wiops");
    }

    protected internal override void PlanHugetlb(List<HugepageLimit> limits, CgroupPlanBuilder b) => V1Manager.PlanHugetlb(limits, b, Dir, ".max", "max");

    protected internal override void PlanRdma(Dictionary<string, RdmaResources> rdma, CgroupPlanBuilder b) => WriteRdma(rdma, b);

    /// <summary>The device controller of cgroup v2 is an eBPF program on the directory.</summary>
    protected internal override void PlanDevices(bool defaultAllow, List<DeviceRule> exceptions, CgroupPlanBuilder b) =>
        b.Attach(new DeviceProgram(Dir, DeviceFilter.Build(defaultAllow, exceptions)));

    protected internal override void WriteCpuStats(Utf8JsonWriter w) => Stats.CpuV2(w, Dir);

    protected internal override void WriteMemoryStats(Utf8JsonWriter w) => Stats.MemoryV2(w, Dir);

    /// <summary>runc reports io.stat under blkio; Berth does not yet.</summary>
    protected internal override void WriteBlkioStats(Utf8JsonWriter w) { }

    protected internal override ulong OomKillCount() => Stats.OomKills(Dir, "memory.events");

    /// <summary>No eventfd on v2: memory.events' oom_kill counter is polled.</summary>
    protected internal override SafeFd? OpenOomEvents() => null;
}
