using System.Text;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// A fake cgroup tree: v1 hierarchies (a directory per controller) and a cgroup2 directory, each
/// with the files the managers write, holding sentinel values. Plans are read and executed
/// against it without touching the host's cgroups.
/// </summary>
public sealed class FakeCgroups : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("berth-fakecg-").FullName;

    public static readonly Dictionary<string, string[]> V1Files = new()
    {
        ["memory"] = new[] { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.kmem.limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.oom_control", "memory.use_hierarchy" },
        ["cpu"] = new[] { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle", "cpu.rt_period_us", "cpu.rt_runtime_us" },
        ["cpuacct"] = new[] { "cpuacct.usage" },
        ["cpuset"] = new[] { "cpuset.cpus", "cpuset.mems" },
        ["pids"] = new[] { "pids.max" },
        ["blkio"] = new[] { "blkio.weight", "blkio.leaf_weight", "blkio.weight_device", "blkio.leaf_weight_device", "blkio.throttle.read_bps_device" },
        ["hugetlb"] = new[] { "hugetlb.2MB.limit_in_bytes" },
        ["net_cls"] = new[] { "net_cls.classid" },
        ["net_prio"] = new[] { "net_prio.ifpriomap" },
        ["devices"] = new[] { "devices.allow", "devices.deny" },
        ["freezer"] = new[] { "freezer.state" },
    };

    public static readonly string[] V2Files =
    {
        "memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
        "pids.max", "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max", "cgroup.freeze",
    };

    /// <summary>A v1 hierarchy per controller in <paramref name="controllers"/> (all by default), each with its files.</summary>
    public V1Manager V1(params string[] controllers)
    {
        var placed = new List<(Hierarchy, string)>();
        foreach (var c in controllers.Length > 0 ? controllers : V1Files.Keys.ToArray())
        {
            var dir = Path.Join(Root, "v1", c, "ctr");
            Directory.CreateDirectory(dir);
            foreach (var f in V1Files[c]) File.WriteAllText(Path.Join(dir, f), Sentinel(f));
            placed.Add((new Hierarchy(Path.Join(Root, "v1", c), "/", false, new[] { c }, "/"), dir));
        }
        return new V1Manager(placed);
    }

    /// <summary>A cgroup2 directory whose parent delegates <paramref name="controllers"/>.</summary>
    public V2Manager V2(string controllers = "cpu cpuset io memory hugetlb pids rdma")
    {
        var dir = Path.Join(Root, "unified", "ctr");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Join(dir, "cgroup.controllers"), controllers + "\n");
        foreach (var f in V2Files) File.WriteAllText(Path.Join(dir, f), Sentinel(f));
        return new V2Manager(dir);
    }

    /// <summary>A value no manager writes, distinct per file.</summary>
    public static string Sentinel(string file) => $"sentinel:{file}";

    /// <summary>Every file of the tree with its content.</summary>
    public Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllText);

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The managers' plans, read as data: which file gets which value, and which none.</summary>
public class CgroupPlanTests
{
    static Resources R(string json) => JsonIn.Parse(Encoding.UTF8.GetBytes(json), "resources", Resources.Read);

    /// <summary>
    /// Every field where runc reads zero (or "", false, Go's uint64(-1) swappiness) as "not set":
    /// the zero, and a value that does set it, with the file that value goes to on v1 and on v2
    /// (null where v2 has no such setting).
    /// </summary>
    public static readonly TheoryData<string, string, string, string, string?> ZeroFields = new()
    {
        { "memory.limit", """{"memory":{"limit":0}}""", """{"memory":{"limit":1048576}}""", "memory.limit_in_bytes", "memory.max" },
        { "memory.reservation", """{"memory":{"reservation":0}}""", """{"memory":{"reservation":1048576}}""", "memory.soft_limit_in_bytes", "memory.low" },
        { "memory.swap", """{"memory":{"swap":0}}""", """{"memory":{"limit":1048576,"swap":2097152}}""", "memory.memsw.limit_in_bytes", "memory.swap.max" },
        { "memory.swap with a limit", """{"memory":{"limit":0,"swap":0}}""", """{"memory":{"swap":-1}}""", "memory.memsw.limit_in_bytes", "memory.swap.max" },
        { "memory.kernel", """{"memory":{"kernel":0}}""", """{"memory":{"kernel":1048576}}""", "memory.kmem.limit_in_bytes", null },
        { "memory.kernelTCP", """{"memory":{"kernelTCP":0}}""", """{"memory":{"kernelTCP":1048576}}""", "memory.kmem.tcp.limit_in_bytes", null },
        { "memory.swappiness", """{"memory":{"swappiness":18446744073709551615}}""", """{"memory":{"swappiness":0}}""", "memory.swappiness", null },
        { "memory.disableOOMKiller", """{"memory":{"disableOOMKiller":false}}""", """{"memory":{"disableOOMKiller":true}}""", "memory.oom_control", null },
        { "memory.useHierarchy", """{"memory":{"useHierarchy":false}}""", """{"memory":{"useHierarchy":true}}""", "memory.use_hierarchy", null },
        { "memory.checkBeforeUpdate", """{"memory":{"checkBeforeUpdate":true}}""", """{"memory":{"limit":1}}""", "memory.limit_in_bytes", "memory.max" },
        { "cpu.shares", """{"cpu":{"shares":0}}""", """{"cpu":{"shares":512}}""", "cpu.shares", "cpu.weight" },
        { "cpu.quota", """{"cpu":{"quota":0}}""", """{"cpu":{"quota":50000}}""", "cpu.cfs_quota_us", "cpu.max" },
        { "cpu.period", """{"cpu":{"period":0}}""", """{"cpu":{"period":50000}}""", "cpu.cfs_period_us", "cpu.max" },
        { "cpu.realtimePeriod", """{"cpu":{"realtimePeriod":0}}""", """{"cpu":{"realtimePeriod":1000000}}""", "cpu.rt_period_us", null },
        { "cpu.realtimeRuntime", """{"cpu":{"realtimeRuntime":0}}""", """{"cpu":{"realtimeRuntime":1000}}""", "cpu.rt_runtime_us", null },
        { "cpu.cpus", """{"cpu":{"cpus":""}}""", """{"cpu":{"cpus":"0"}}""", "cpuset.cpus", "cpuset.cpus" },
        { "cpu.mems", """{"cpu":{"mems":""}}""", """{"cpu":{"mems":"0"}}""", "cpuset.mems", "cpuset.mems" },
        { "pids.limit", """{"pids":{"limit":0}}""", """{"pids":{"limit":10}}""", "pids.max", "pids.max" },
        { "blockIO.weight", """{"blockIO":{"weight":0}}""", """{"blockIO":{"weight":500}}""", "blkio.weight", "io.weight" },
        { "blockIO.leafWeight", """{"blockIO":{"leafWeight":0}}""", """{"blockIO":{"leafWeight":500}}""", "blkio.leaf_weight", null },
        { "blockIO.weightDevice.weight", """{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":0}]}}""", """{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":100}]}}""", "blkio.weight_device", "io.weight" },
        { "blockIO.weightDevice.leafWeight", """{"blockIO":{"weightDevice":[{"major":8,"minor":0,"leafWeight":0}]}}""", """{"blockIO":{"weightDevice":[{"major":8,"minor":0,"leafWeight":100}]}}""", "blkio.leaf_weight_device", null },
        { "network.classID", """{"network":{"classID":0}}""", """{"network":{"classID":1048577}}""", "net_cls.classid", null },
        // What dockerd sends with every container and for every `docker update`.
        { "docker create", """{"blockIO":{"weight":0},"cpu":{"shares":0},"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0}}""", """{"cpu":{"shares":2}}""", "cpu.shares", "cpu.weight" },
        { "docker update", """{"blockIO":{"weight":0},"cpu":{"shares":0,"period":0,"quota":0,"realtimePeriod":0,"realtimeRuntime":0,"cpus":"","mems":""},"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0},"pids":{"limit":0}}""", """{"cpu":{"period":100000}}""", "cpu.cfs_period_us", "cpu.max" },
    };

    [Theory]
    [MemberData(nameof(ZeroFields))]
    public void A_zero_leaves_the_v1_file_untouched(string field, string zero, string set, string v1File, string? v2File)
    {
        _ = (field, v2File);
        using var fake = new FakeCgroups();
        var m = fake.V1();
        var plan = m.Plan(R(zero));
        Assert.Empty(plan.Writes);
        var before = fake.Snapshot();
        m.Apply(plan);
        Assert.Equal(before, fake.Snapshot());
        // The non-zero value does go to that file: the zero was about the right one.
        Assert.NotEmpty(m.Plan(R(set)).To(v1File));
    }

    [Theory]
    [MemberData(nameof(ZeroFields))]
    public void A_zero_leaves_the_v2_file_untouched(string field, string zero, string set, string v1File, string? v2File)
    {
        _ = (field, v1File);
        using var fake = new FakeCgroups();
        var m = fake.V2();
        var plan = m.Plan(R(zero));
        Assert.Empty(plan.Writes);
        var before = fake.Snapshot();
        m.Apply(plan);
        Assert.Equal(before, fake.Snapshot());
        if (v2File is not null)
        {
            Assert.NotEmpty(m.Plan(R(set)).To(v2File));
            return;
        }
        // What v2 cannot express is an error naming it, or (leaf weights, as runc) left out.
        if (Record.Exception(() => m.Plan(R(set))) is { } e) Assert.Matches("not supported by cgroup v2|not available", e.Message);
        else Assert.Empty(m.Plan(R(set)).Writes);
    }

    [Theory]
    [MemberData(nameof(ZeroFields))]
    public void A_zero_needs_no_controller(string field, string zero, string set, string v1File, string? v2File)
    {
        _ = (field, set, v1File, v2File);
        using var fake = new FakeCgroups();
        // A host with none of the controllers: docker's zeros must not fail there (runc does not ask for them).
        var m = fake.V1("freezer");
        Assert.Empty(m.Plan(R(zero)).Writes);
    }

    /// <summary>Where zero (or -1) is a value, runc writes it.</summary>
    [Theory]
    [InlineData("""{"cpu":{"burst":0}}""", "cpu.cfs_burst_us", "0", "cpu.max.burst", "0")]
    [InlineData("""{"cpu":{"idle":0}}""", "cpu.idle", "0", "cpu.idle", "0")]
    [InlineData("""{"memory":{"swappiness":0}}""", "memory.swappiness", "0", null, null)]
    [InlineData("""{"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":0}]}}""", "blkio.throttle.read_bps_device", "8:0 0", "io.max", "8:0 rbps=0")]
    [InlineData("""{"hugepageLimits":[{"pageSize":"2MB","limit":0}]}""", "hugetlb.2MB.limit_in_bytes", "0", "hugetlb.2MB.max", "0")]
    [InlineData("""{"memory":{"limit":-1}}""", "memory.limit_in_bytes", "-1", "memory.max", "max")]
    [InlineData("""{"memory":{"reservation":-1}}""", "memory.soft_limit_in_bytes", "-1", "memory.low", "max")]
    [InlineData("""{"memory":{"swap":-1}}""", "memory.memsw.limit_in_bytes", "-1", "memory.swap.max", "max")]
    [InlineData("""{"cpu":{"quota":-1}}""", "cpu.cfs_quota_us", "-1", "cpu.max", "max")]
    [InlineData("""{"cpu":{"quota":-5,"period":20000}}""", "cpu.cfs_quota_us", "-1", "cpu.max", "max 20000")]
    [InlineData("""{"cpu":{"realtimeRuntime":-1}}""", "cpu.rt_runtime_us", "-1", null, null)]
    [InlineData("""{"pids":{"limit":-1}}""", "pids.max", "max", "pids.max", "max")]
    [InlineData("""{"pids":{"limit":-7}}""", "pids.max", "max", "pids.max", "max")]
    [InlineData("""{"memory":{"limit":1048576,"swap":1048576}}""", "memory.memsw.limit_in_bytes", "1048576", "memory.swap.max", "0")]
    public void A_meaningful_zero_or_minus_one_is_written(string json, string v1File, string v1Value, string? v2File, string? v2Value)
    {
        using var fake = new FakeCgroups();
        Assert.Equal(v1Value, fake.V1().Plan(R(json)).To(v1File).Single().Value);
        if (v2File is not null) Assert.Equal(v2Value, fake.V2().Plan(R(json)).To(v2File).Single().Value);
    }

    [Fact]
    public void Unlimited_memory_with_no_swap_lifts_swap_too_where_the_kernel_accounts_it()
    {
        using var fake = new FakeCgroups();
        var memsw = fake.V1().Plan(R("""{"memory":{"limit":-1}}""")).To("memory.memsw.limit_in_bytes").Single();
        Assert.Equal(("-1", IfMissing.Skip), (memsw.Value, memsw.IfMissing));
        var swapMax = fake.V2().Plan(R("""{"memory":{"limit":-1,"swap":0}}""")).To("memory.swap.max").Single();
        Assert.Equal(("max", IfMissing.Skip), (swapMax.Value, swapMax.IfMissing));
    }

    [Fact]
    public void Values_the_kernel_judges_together_are_retried_after_the_rest()
    {
        using var fake = new FakeCgroups();
        var plan = fake.V1().Plan(R("""{"memory":{"limit":1048576,"swap":2097152},"cpu":{"period":10000,"quota":5000,"burst":100}}"""));
        Assert.True(plan.To("memory.limit_in_bytes").Single().RetryAfterRest);
        Assert.True(plan.To("cpu.cfs_period_us").Single().RetryAfterRest);
        Assert.True(plan.To("cpu.cfs_burst_us").Single().RetryAfterRest);
        Assert.False(plan.To("cpu.cfs_quota_us").Single().RetryAfterRest);
        // Alone, nothing waits for anything.
        Assert.False(fake.V1().Plan(R("""{"memory":{"limit":1048576}}""")).To("memory.limit_in_bytes").Single().RetryAfterRest);
    }

    [Fact]
    public void A_hybrid_host_routes_each_controller_to_the_hierarchy_that_has_it()
    {
        using var fake = new FakeCgroups();
        var v1 = fake.V1("memory", "pids", "devices", "freezer");
        var v2 = fake.V2("hugetlb cpu");
        var m = new HybridManager(v1, v2, v1.Placed.Concat(v2.Placed).ToList());
        var plan = m.Plan(R("""{"memory":{"limit":1048576},"pids":{"limit":5},"cpu":{"shares":1024},"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"""),
            new[] { new DeviceRule(false, 'a', -1, -1, "rwm") });
        Assert.StartsWith(Path.Join(fake.Root, "v1", "memory"), plan.To("memory.limit_in_bytes").Single().Dir);
        Assert.Equal(v2.Dir, plan.To("hugetlb.2MB.max").Single().Dir);
        Assert.Equal("39", plan.To("cpu.weight").Single().Value); // cpu is on the unified half here
        // Device rules: v1's list and v2's program, as runc sets both.
        Assert.Equal("a", plan.To("devices.deny").Single().Value);
        Assert.Equal(v2.Dir, plan.DeviceProgram!.Dir);
        Assert.IsType<V1Freezer>(m.Freezer);
        Assert.Contains("blkio controller is not available", Assert.Throws<RuntimeException>(() => m.Plan(R("""{"blockIO":{"weight":10}}"""))).Message);
        Assert.Contains("memory is a cgroup v1 controller", Assert.Throws<RuntimeException>(() => m.Plan(R("""{"unified":{"memory.high":"1G"}}"""))).Message);
        Assert.Equal(v2.Dir, m.Plan(R("""{"unified":{"hugetlb.1GB.max":"0"}}""")).Writes.Single().Dir);
    }

    [Fact]
    public void Without_swap_accounting_a_swap_equal_to_the_limit_is_left_out_and_another_fails_naming_memsw()
    {
        using var fake = new FakeCgroups();
        var m = fake.V1("memory");
        File.Delete(Path.Join(m.Dirs[0], "memory.memsw.limit_in_bytes"));
        m.Apply(m.Plan(R("""{"memory":{"limit":1048576,"swap":1048576}}""")));
        var e = Assert.Throws<RuntimeException>(() => m.Apply(m.Plan(R("""{"memory":{"limit":1048576,"swap":4194304}}"""))));
        Assert.Equal("linux.resources.memory.swap: 4194304 needs swap accounting (memory.memsw), which this host's kernel does not do; set it equal to memory.limit or leave it out", e.Message);
    }

    [Fact]
    public void The_executor_names_the_field_and_the_missing_file()
    {
        using var fake = new FakeCgroups();
        var m = fake.V1("cpu");
        File.Delete(Path.Join(m.Dirs[0], "cpu.rt_runtime_us"));
        File.Delete(Path.Join(m.Dirs[0], "cpu.cfs_burst_us"));
        var e = Assert.Throws<RuntimeException>(() => m.Apply(m.Plan(R("""{"cpu":{"realtimeRuntime":1000}}"""))));
        Assert.Equal("linux.resources.cpu.realtimeRuntime: this host's cpu controller has no cpu.rt_runtime_us", e.Message);
        // runc: a kernel without the burst knob leaves burst out.
        m.Apply(m.Plan(R("""{"cpu":{"burst":10}}""")));
    }

    /// <summary>runc's blkio rule: blkio.weight where CFQ offers it, blkio.bfq.weight where only BFQ does (this host).</summary>
    [Fact]
    public void A_blkio_weight_goes_to_cfqs_file_or_else_to_bfqs()
    {
        using var fake = new FakeCgroups();
        var m = fake.V1("blkio");
        var dir = m.Dirs[0];
        var json = """{"blockIO":{"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":200}]}}""";
        // Empty, as the kernel's files read before a write: the executor writes without truncating.
        foreach (var f in new[] { "blkio.weight", "blkio.weight_device" }) File.WriteAllText(Path.Join(dir, f), "");
        File.WriteAllText(Path.Join(dir, "blkio.bfq.weight"), FakeCgroups.Sentinel("blkio.bfq.weight"));
        File.WriteAllText(Path.Join(dir, "blkio.bfq.weight_device"), FakeCgroups.Sentinel("blkio.bfq.weight_device"));
        // Both schedulers' files: CFQ's, as runc.
        m.Apply(m.Plan(R(json)));
        Assert.Equal("300", File.ReadAllText(Path.Join(dir, "blkio.weight")));
        Assert.Equal("8:0 200", File.ReadAllText(Path.Join(dir, "blkio.weight_device")));
        Assert.Equal(FakeCgroups.Sentinel("blkio.bfq.weight"), File.ReadAllText(Path.Join(dir, "blkio.bfq.weight")));
        // BFQ only (a kernel without CFQ): its files.
        File.Delete(Path.Join(dir, "blkio.weight"));
        File.Delete(Path.Join(dir, "blkio.weight_device"));
        foreach (var f in new[] { "blkio.bfq.weight", "blkio.bfq.weight_device" }) File.WriteAllText(Path.Join(dir, f), "");
        m.Apply(m.Plan(R(json)));
        Assert.Equal("300", File.ReadAllText(Path.Join(dir, "blkio.bfq.weight")));
        Assert.Equal("8:0 200", File.ReadAllText(Path.Join(dir, "blkio.bfq.weight_device")));
        // Neither: an error naming the field and both files.
        File.Delete(Path.Join(dir, "blkio.bfq.weight"));
        var e = Assert.Throws<RuntimeException>(() => m.Apply(m.Plan(R("""{"blockIO":{"weight":300}}"""))));
        Assert.Equal("linux.resources.blockIO.weight: this host's blkio controller has no blkio.weight (nor blkio.bfq.weight)", e.Message);
        // Zero is docker's "unset": no file is asked for at all.
        Assert.Empty(m.Plan(R("""{"blockIO":{"weight":0}}""")).Writes);
        // A refusal by the file that is there names that file.
        File.Delete(Path.Join(dir, "blkio.bfq.weight_device"));
        Directory.CreateDirectory(Path.Join(dir, "blkio.bfq.weight_device"));
        e = Assert.Throws<RuntimeException>(() => m.Apply(m.Plan(R("""{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":200}]}}"""))));
        Assert.Equal("linux.resources.blockIO.weightDevice: writing 8:0 200 to blkio.bfq.weight_device: EISDIR (Is a directory)", e.Message);
    }

    [Fact]
    public void Check_before_update_refuses_a_v2_limit_at_or_below_the_usage()
    {
        using var fake = new FakeCgroups();
        var m = fake.V2();
        File.WriteAllText(Path.Join(m.Dir, "memory.current"), "4194304\n");
        Assert.Contains("checkBeforeUpdate", Assert.Throws<RuntimeException>(() => m.Plan(R("""{"memory":{"limit":4194304,"checkBeforeUpdate":true}}"""))).Message);
        Assert.Single(m.Plan(R("""{"memory":{"limit":8388608,"checkBeforeUpdate":true}}""")).Writes);
        Assert.Single(m.Plan(R("""{"memory":{"limit":4194304}}""")).Writes);
    }

    [Fact]
    public void V2_swap_follows_runcs_conversion()
    {
        using var fake = new FakeCgroups();
        var m = fake.V2();
        Assert.Equal("1048576", m.Plan(R("""{"memory":{"limit":-1,"swap":1048576}}""")).To("memory.swap.max").Single().Value);
        Assert.Contains("needs a memory.limit", Assert.Throws<RuntimeException>(() => m.Plan(R("""{"memory":{"swap":1048576}}"""))).Message);
        Assert.Contains("below memory.limit", Assert.Throws<RuntimeException>(() => m.Plan(R("""{"memory":{"limit":2097152,"swap":1048576}}"""))).Message);
    }
}

/// <summary>`update`'s rules: what a change writes, and what the stored config becomes.</summary>
public class ResourceUpdateTests
{
    static Resources R(string json) => JsonIn.Parse(Encoding.UTF8.GetBytes(json), "resources", Resources.Read);

    const string Current = """
        {"memory":{"limit":67108864,"swap":134217728,"x-vendor":1},"cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0"},
         "pids":{"limit":50},"blockIO":{"weight":300,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":100},{"major":8,"minor":16,"rate":200,"x-td":true}]},
         "devices":[{"allow":false,"access":"rwm"}]}
        """;

    [Fact]
    public void Docker_updates_zeros_change_nothing_in_the_cgroup_or_the_config()
    {
        var current = R(Current);
        var before = Encoding.UTF8.GetString(JsonOut.Document(current));
        var writes = ResourceUpdate.Apply(current, R("""{"blockIO":{"weight":0},"cpu":{"shares":0,"period":0,"quota":0,"cpus":"","mems":""},"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0},"pids":{"limit":0}}"""));
        Assert.Null(writes.Memory);
        Assert.Null(writes.Cpu);
        Assert.Null(writes.Pids);
        Assert.Null(writes.BlockIO);
        Assert.Equal(before, Encoding.UTF8.GetString(JsonOut.Document(current)));
    }

    [Fact]
    public void A_quota_alone_is_written_with_the_period_in_force_and_a_limit_with_the_swap_in_force()
    {
        var current = R(Current);
        var writes = ResourceUpdate.Apply(current, R("""{"cpu":{"quota":30000,"period":0},"memory":{"limit":100663296}}"""));
        Assert.Equal((30000L, 100000UL), (writes.Cpu!.Quota, writes.Cpu.Period));
        Assert.Equal(134217728L, writes.Memory!.Swap);
        using var fake = new FakeCgroups();
        Assert.Equal("30000 100000", fake.V2().Plan(writes).To("cpu.max").Single().Value);
        Assert.Equal((30000L, 100000UL, 512UL), (current.Cpu!.Quota, current.Cpu.Period, current.Cpu.Shares));
    }

    [Fact]
    public void Unlimited_memory_without_a_swap_lifts_swap_as_runc_does()
    {
        var current = R(Current);
        var writes = ResourceUpdate.Apply(current, R("""{"memory":{"limit":-1}}"""));
        Assert.Equal((-1L, -1L), (writes.Memory!.Limit, writes.Memory.Swap));
        Assert.Equal(-1L, current.Memory!.Swap);
    }

    [Fact]
    public void Devices_are_upserted_by_number_and_everything_else_is_kept()
    {
        var current = R(Current);
        ResourceUpdate.Apply(current, R("""{"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":16,"rate":0},{"major":8,"minor":32,"rate":5}]},"devices":[{"allow":true,"access":"rwm"}]}"""));
        var td = current.BlockIO!.ThrottleReadBpsDevice!;
        Assert.Equal(new ulong?[] { 100, 0, 5 }, td.Select(t => t.Rate).ToArray());
        Assert.NotNull(td[1].Unknown); // x-td stays
        Assert.Equal((ushort?)300, current.BlockIO.Weight);
        Assert.False(current.Devices!.Single().Allow); // update does not change device rules (runc)
        Assert.NotNull(current.Memory!.Unknown);
    }
}
