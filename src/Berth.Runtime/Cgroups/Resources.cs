using Berth.Linux;
using Berth.Linux.Security;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// linux.resources written to the container's cgroups, v1 or v2 file by file as the host
/// has each controller. A value for a controller this host lacks (or must not touch) is an
/// error naming it; an unset one is skipped.
/// </summary>
public static class ResourceWriter
{
    const string F = "linux.resources";

    /// <summary>Checks every set value has a controller here, before anything is created.</summary>
    public static void Check(Resources? r, CgroupSet set) => Walk(r, set, apply: false, devices: null);

    public static void Apply(Resources? r, CgroupSet set, List<DeviceRule>? devices) => Walk(r, set, apply: true, devices);

    static void Walk(Resources? r, CgroupSet set, bool apply, List<DeviceRule>? devices)
    {
        if (r is null && devices is null) return;
        var w = new Writer(set, apply);
        if (r?.Memory is { } m) Memory(m, w);
        if (r?.Cpu is { } c) Cpu(c, w);
        if (r?.Pids is { Limit: { } limit })
            w.Write("pids", $"{F}.pids.limit", v2 => "pids.max", limit <= 0 ? "max" : limit.ToString());
        if (r?.BlockIO is { } b) BlockIo(b, w);
        if (r?.HugepageLimits is { Count: > 0 } huge)
            for (int i = 0; i < huge.Count; i++)
            {
                var size = huge[i].PageSize ?? throw new RuntimeException($"{F}.hugepageLimits[{i}].pageSize: is required");
                w.Write("hugetlb", $"{F}.hugepageLimits[{i}]", v2 => v2 ? $"hugetlb.{size}.max" : $"hugetlb.{size}.limit_in_bytes", huge[i].Limit?.ToString() ?? "max");
            }
        if (r?.Network is { } n)
        {
            if (n.ClassId is { } id) w.Write("net_cls", $"{F}.network.classID", v2 => v2 ? null : "net_cls.classid", id.ToString());
            foreach (var p in n.Priorities ?? new())
                w.Write("net_prio", $"{F}.network.priorities", v2 => v2 ? null : "net_prio.ifpriomap", $"{p.Name} {p.Priority}");
        }
        if (r?.Rdma is { Count: > 0 } rdma)
            foreach (var (device, limits) in rdma)
                w.Write("rdma", $"{F}.rdma[\"{device}\"]", v2 => "rdma.max",
                    $"{device} hca_handle={limits.HcaHandles?.ToString() ?? "max"} hca_object={limits.HcaObjects?.ToString() ?? "max"}");
        if (r?.Unified is { Count: > 0 } unified) Unified(unified, set, apply);
        if (apply && devices is not null) Devices(devices, set);
    }

    static void Memory(MemoryResources m, Writer w)
    {
        var memory = w.Set.For("memory");
        bool v2 = memory?.V2 == true;
        if (m.Limit is { } limit)
        {
            try
            {
                w.Write("memory", $"{F}.memory.limit", x => x ? "memory.max" : "memory.limit_in_bytes", Limit(limit, v2));
            }
            catch (RuntimeException e) when (!v2 && m.Swap is { } first && e.InnerException is LinuxException { Errno: Errno.EINVAL })
            {
                // v1 keeps memsw >= limit at every step: raising both means swap first.
                w.Write("memory", $"{F}.memory.swap", _ => "memory.memsw.limit_in_bytes", first.ToString());
                w.Write("memory", $"{F}.memory.limit", _ => "memory.limit_in_bytes", Limit(limit, v2));
            }
        }
        if (m.Reservation is { } res) w.Write("memory", $"{F}.memory.reservation", x => x ? "memory.low" : "memory.soft_limit_in_bytes", Limit(res, v2));
        if (m.Swap is { } swap)
        {
            if (memory is { V2: false } mv1 && !File.Exists(Path.Join(NearestExisting(mv1.Dir), "memory.memsw.limit_in_bytes")))
            {
                // No swap accounting (runc's rule): swap equal to the limit, or unlimited, means no swap of its own.
                if (swap != -1 && swap != m.Limit)
                    throw new RuntimeException($"{F}.memory.swap: {swap} needs swap accounting (memory.memsw), which this host's kernel does not do; set it equal to memory.limit or leave it out");
            }
            else
            {
                // v2's memory.swap.max is swap alone; the spec's swap is memory plus swap (runc's conversion).
                if (v2 && swap != -1 && m.Limit is null or -1)
                    throw new RuntimeException($"{F}.memory.swap: {swap} is memory plus swap, which needs a memory.limit to subtract on cgroup v2");
                string value = swap == -1 ? "max" : v2 ? Math.Max(0, swap - (m.Limit ?? 0)).ToString() : swap.ToString();
                w.Write("memory", $"{F}.memory.swap", x => x ? "memory.swap.max" : "memory.memsw.limit_in_bytes", value);
            }
        }
        if (m.Kernel is { } k) w.Write("memory", $"{F}.memory.kernel", x => x ? null : "memory.kmem.limit_in_bytes", Limit(k, v2));
        if (m.KernelTcp is { } kt) w.Write("memory", $"{F}.memory.kernelTCP", x => x ? null : "memory.kmem.tcp.limit_in_bytes", Limit(kt, v2));
        if (m.Swappiness is { } sw)
        {
            if (sw > 100) throw new RuntimeException($"{F}.memory.swappiness: {sw} is above 100");
            w.Write("memory", $"{F}.memory.swappiness", x => x ? null : "memory.swappiness", sw.ToString());
        }
        if (m.DisableOomKiller == true) w.Write("memory", $"{F}.memory.disableOOMKiller", x => x ? null : "memory.oom_control", "1");
        if (m.UseHierarchy is { } uh) w.Write("memory", $"{F}.memory.useHierarchy", x => x ? null : "memory.use_hierarchy", uh ? "1" : "0");
    }

    /// <summary>The directory, or before create makes it, its nearest ancestor (which has the same kinds of files).</summary>
    static string NearestExisting(string dir)
    {
        var d = dir;
        while (!Directory.Exists(d) && Path.GetDirectoryName(d) is { } parent) d = parent;
        return d;
    }

    /// <summary>-1 is "no limit": v1 takes -1, v2 "max".</summary>
    static string Limit(long value, bool v2) => value == -1 ? (v2 ? "max" : "-1") : value.ToString();

    /// <summary>runc's shares → weight: [2, 262144] maps onto [1, 10000].</summary>
    public static ulong SharesToWeight(ulong shares) => shares == 0 ? 0 : 1 + (Math.Clamp(shares, 2, 262144) - 2) * 9999 / 262142;

    /// <summary>blkio weight [10, 1000] → io.weight [1, 10000].</summary>
    public static ulong BlkioToIoWeight(ulong weight) => weight == 0 ? 0 : 1 + (Math.Clamp(weight, 10, 1000) - 10) * 9999 / 990;

    static void Cpu(CpuResources c, Writer w)
    {
        if (c.Shares is { } shares)
            w.Write("cpu", $"{F}.cpu.shares", v2 => v2 ? "cpu.weight" : "cpu.shares", w.IsV2("cpu") ? SharesToWeight(shares).ToString() : shares.ToString());
        if (c.Quota is not null || c.Period is not null)
        {
            if (w.IsV2("cpu"))
            {
                string quota = c.Quota is null or <= 0 ? "max" : c.Quota.Value.ToString();
                w.Write("cpu", $"{F}.cpu.quota", _ => "cpu.max", c.Period is { } p ? $"{quota} {p}" : quota);
            }
            else
            {
                // The period first: a quota is checked against the period in force.
                if (c.Period is { } p) w.Write("cpu", $"{F}.cpu.period", _ => "cpu.cfs_period_us", p.ToString());
                if (c.Quota is { } q) w.Write("cpu", $"{F}.cpu.quota", _ => "cpu.cfs_quota_us", q <= 0 ? "-1" : q.ToString());
            }
        }
        if (c.Burst is { } burst) w.Write("cpu", $"{F}.cpu.burst", v2 => v2 ? "cpu.max.burst" : "cpu.cfs_burst_us", burst.ToString());
        if (c.RealtimePeriod is { } rp) w.Write("cpu", $"{F}.cpu.realtimePeriod", v2 => v2 ? null : "cpu.rt_period_us", rp.ToString());
        if (c.RealtimeRuntime is { } rr) w.Write("cpu", $"{F}.cpu.realtimeRuntime", v2 => v2 ? null : "cpu.rt_runtime_us", rr.ToString());
        if (c.Idle is { } idle) w.Write("cpu", $"{F}.cpu.idle", _ => "cpu.idle", idle.ToString());
        if (c.Cpus is { Length: > 0 } cpus) w.Write("cpuset", $"{F}.cpu.cpus", v2 => "cpuset.cpus", cpus);
        if (c.Mems is { Length: > 0 } mems) w.Write("cpuset", $"{F}.cpu.mems", v2 => "cpuset.mems", mems);
    }

    static void BlockIo(BlockIo b, Writer w)
    {
        // v2 names the controller "io"; a hybrid host may have either.
        bool v2 = w.Set.For("blkio") is null && w.Set.For("io") is not null;
        var controller = v2 ? "io" : "blkio";
        if (b.Weight is { } weight)
            w.Write(controller, $"{F}.blockIO.weight", x => x ? "io.weight" : "blkio.weight", v2 ? $"default {BlkioToIoWeight(weight)}" : weight.ToString());
        if (b.LeafWeight is { } lw) w.Write(controller, $"{F}.blockIO.leafWeight", x => x ? null : "blkio.leaf_weight", lw.ToString());
        foreach (var d in b.WeightDevice ?? new())
            if (d.Weight is { } dw)
                w.Write(controller, $"{F}.blockIO.weightDevice", x => x ? "io.weight" : "blkio.weight_device", $"{d.Major}:{d.Minor} {(v2 ? BlkioToIoWeight(dw) : dw)}");
        void Throttle(List<ThrottleDevice>? list, string name, string v1File, string v2Key)
        {
            foreach (var t in list ?? new())
                w.Write(controller, $"{F}.blockIO.{name}", x => x ? "io.max" : v1File, v2 ? $"{t.Major}:{t.Minor} {v2Key}={t.Rate}" : $"{t.Major}:{t.Minor} {t.Rate}");
        }
        Throttle(b.ThrottleReadBpsDevice, "throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps");
        Throttle(b.ThrottleWriteBpsDevice, "throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps");
        Throttle(b.ThrottleReadIopsDevice, "throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops");
        Throttle(b.ThrottleWriteIopsDevice, "throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops");
    }

    /// <summary>linux.resources.unified: cgroup v2 files by name, only where their controller is enabled.</summary>
    static void Unified(Dictionary<string, string> unified, CgroupSet set, bool apply)
    {
        foreach (var (key, value) in unified)
        {
            var field = $"{F}.unified[\"{key}\"]";
            if (key.Contains('/') || key.StartsWith('.') || !key.Contains('.'))
                throw new RuntimeException($"{field}: is not a cgroup v2 file name");
            var controller = key[..key.IndexOf('.')];
            (string Dir, bool V2)? target = controller == "cgroup" ? (set.Unified is { } u ? (u, true) : null) : set.For(controller);
            if (target is not { V2: true } t)
                throw new RuntimeException($"{field}: needs cgroup v2 with the {controller} controller; here {(set.For(controller) is null ? "this host has no such controller" : $"{controller} is a cgroup v1 controller")}");
            if (apply) WriteFile(t.Dir, key, value, field);
        }
    }

    static void Devices(List<DeviceRule> rules, CgroupSet set)
    {
        var (defaultAllow, exceptions) = DeviceRules.Normalize(rules);
        if (set.For("devices") is { V2: false } v1)
        {
            // v1 is a list the kernel edits: start from the default, then each exception in order.
            WriteFile(v1.Dir, defaultAllow ? "devices.allow" : "devices.deny", "a", $"{F}.devices");
            foreach (var r in exceptions)
                WriteFile(v1.Dir, r.Allow ? "devices.allow" : "devices.deny", r.V1Line, $"{F}.devices");
        }
        // cgroup v2 (and the unified half of a hybrid host): an eBPF program on the directory.
        if (set.Unified is { } unified && Directory.Exists(unified))
        {
            using var program = BpfPrograms.LoadDeviceProgram(DeviceFilter.Build(defaultAllow, exceptions));
            using var dir = Files.Open(unified, O.RDONLY | O.DIRECTORY);
            BpfPrograms.AttachDevice(dir, program);
        }
    }

    public static void WriteFile(string dir, string file, string value, string field)
    {
        try
        {
            Files.WriteFile(Path.Join(dir, file), value);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"{field}: writing {value} to {file}: {Errnos.Describe(e.Errno)}", e);
        }
    }

    /// <summary>Routes a value to its controller's file, or fails naming the controller.</summary>
    sealed class Writer
    {
        public CgroupSet Set { get; }
        readonly bool _apply;

        public Writer(CgroupSet set, bool apply)
        {
            Set = set;
            _apply = apply;
        }

        public bool IsV2(string controller) => Set.For(controller)?.V2 == true;

        /// <param name="file">The file for v1 (false) or v2 (true); null where that version has no such setting.</param>
        public void Write(string controller, string field, Func<bool, string?> file, string value)
        {
            var target = Set.For(controller)
                ?? throw new RuntimeException($"{field}: the {controller} controller is not available on this host (not mounted, or not delegated to this cgroup)");
            var name = file(target.V2)
                ?? throw new RuntimeException($"{field}: not supported by cgroup {(target.V2 ? "v2" : "v1")}'s {controller} controller");
            if (!_apply) return;
            // A file the kernel does not offer here (blkio.weight without BFQ, rt_* without RT_GROUP_SCHED).
            if (!File.Exists(Path.Join(target.Dir, name)))
                throw new RuntimeException($"{field}: this host's {controller} controller has no {name}");
            WriteFile(target.Dir, name, value, field);
        }
    }
}
