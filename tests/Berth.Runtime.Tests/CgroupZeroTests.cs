using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// "Zero means unset" on this host's real cgroups: a zero that Docker sends at create, or that
/// `docker update` sends for what it does not change, leaves the cgroup file as it was. v1 here
/// has memory, cpu, cpuset, pids, blkio; the unified half has no controller delegated to a
/// container (hugetlb stays on its root), so the v2 plans are pinned by CgroupPlanTests against a
/// fake tree, and here its core files are checked.
/// </summary>
public class CgroupZeroTests
{
    /// <summary>The container's (or a reference cgroup's) directory in the v1 hierarchy of <paramref name="controller"/>.</summary>
    static string Dir(string controller, string name) => HostCgroups.DirsFor(name).Single(d => d.Contains($"/{controller}/"));

    static string Read(string dir, string file) => File.ReadAllText(Path.Join(dir, file)).Trim();

    /// <summary>
    /// What a cgroup Berth made has in <paramref name="file"/> when nothing was written to it: the
    /// value in a fresh cgroup beside the container's, or for cpuset (copied down on v1) the parent's.
    /// </summary>
    static string Untouched(string controller, string file, string id)
    {
        if (controller == "cpuset") return Read(Path.GetDirectoryName(Dir(controller, id))!, file);
        var reference = Dir(controller, Sandbox.NewId("ref"));
        Directory.CreateDirectory(reference);
        try { return Read(reference, file); }
        finally { Directory.Delete(reference); }
    }

    static void SetResources(JsonObject config, string json) => config["linux"]!["resources"] = JsonNode.Parse(json);

    /// <summary>(field, linux.resources with it zero, controller, file it would write).</summary>
    public static readonly TheoryData<string, string, string, string> CreateZeros = new()
    {
        { "memory.limit", """{"memory":{"limit":0}}""", "memory", "memory.limit_in_bytes" },
        { "memory.reservation", """{"memory":{"reservation":0}}""", "memory", "memory.soft_limit_in_bytes" },
        { "memory.swap", """{"memory":{"swap":0}}""", "memory", "memory.memsw.limit_in_bytes" },
        { "memory.kernel", """{"memory":{"kernel":0}}""", "memory", "memory.kmem.limit_in_bytes" },
        { "memory.kernelTCP", """{"memory":{"kernelTCP":0}}""", "memory", "memory.kmem.tcp.limit_in_bytes" },
        { "memory.swappiness", """{"memory":{"swappiness":18446744073709551615}}""", "memory", "memory.swappiness" },
        { "memory.disableOOMKiller", """{"memory":{"disableOOMKiller":false}}""", "memory", "memory.oom_control" },
        { "memory.useHierarchy", """{"memory":{"useHierarchy":false}}""", "memory", "memory.use_hierarchy" },
        { "cpu.shares", """{"cpu":{"shares":0}}""", "cpu", "cpu.shares" },
        { "cpu.quota", """{"cpu":{"quota":0}}""", "cpu", "cpu.cfs_quota_us" },
        { "cpu.period", """{"cpu":{"period":0}}""", "cpu", "cpu.cfs_period_us" },
        { "cpu.realtimePeriod", """{"cpu":{"realtimePeriod":0}}""", "cpu", "cpu.rt_period_us" },
        { "cpu.realtimeRuntime", """{"cpu":{"realtimeRuntime":0}}""", "cpu", "cpu.rt_runtime_us" },
        { "cpu.cpus", """{"cpu":{"cpus":""}}""", "cpuset", "cpuset.cpus" },
        { "cpu.mems", """{"cpu":{"mems":""}}""", "cpuset", "cpuset.mems" },
        { "pids.limit", """{"pids":{"limit":0}}""", "pids", "pids.max" },
        // This host's blkio has BFQ's weight files only, where a weight would go: a zero leaves them be.
        { "blockIO.weight", """{"blockIO":{"weight":0}}""", "blkio", "blkio.bfq.weight" },
        { "blockIO.leafWeight", """{"blockIO":{"leafWeight":0}}""", "blkio", "blkio.bfq.weight" },
        { "blockIO.weightDevice", """{"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":0,"leafWeight":0}]}}""", "blkio", "blkio.bfq.weight_device" },
        // net_cls is not mounted here: a zero classID must not ask for it.
        { "network.classID", """{"network":{"classID":0}}""", "pids", "pids.max" },
    };

    [Theory]
    [MemberData(nameof(CreateZeros))]
    public void A_zero_at_create_leaves_the_cgroup_file_as_a_new_cgroup_has_it(string field, string resources, string controller, string file)
    {
        _ = field;
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => SetResources(c, resources)), id).Ok();
        Assert.Equal(Untouched(controller, file, id), Read(Dir(controller, id), file));
    }

    /// <summary>(field, the container's resources, the update, controller, file).</summary>
    public static readonly TheoryData<string, string, string[], string, string> UpdateZeros = new()
    {
        { "memory.limit", """{"memory":{"limit":67108864}}""", new[] { "-r", """{"memory":{"limit":0}}""" }, "memory", "memory.limit_in_bytes" },
        { "--memory 0", """{"memory":{"limit":67108864}}""", new[] { "--memory", "0" }, "memory", "memory.limit_in_bytes" },
        { "memory.reservation", """{"memory":{"reservation":33554432}}""", new[] { "-r", """{"memory":{"reservation":0}}""" }, "memory", "memory.soft_limit_in_bytes" },
        { "--memory-reservation 0", """{"memory":{"reservation":33554432}}""", new[] { "--memory-reservation", "0" }, "memory", "memory.soft_limit_in_bytes" },
        { "memory.swap", """{"memory":{"limit":67108864,"swap":134217728}}""", new[] { "-r", """{"memory":{"swap":0}}""" }, "memory", "memory.memsw.limit_in_bytes" },
        { "--memory-swap 0", """{"memory":{"limit":67108864,"swap":134217728}}""", new[] { "--memory-swap", "0" }, "memory", "memory.memsw.limit_in_bytes" },
        { "memory.kernel", """{"memory":{"kernel":67108864}}""", new[] { "-r", """{"memory":{"kernel":0,"kernelTCP":0}}""" }, "memory", "memory.kmem.limit_in_bytes" },
        { "--kernel-memory 0", """{"memory":{"kernel":67108864}}""", new[] { "--kernel-memory", "0" }, "memory", "memory.kmem.limit_in_bytes" },
        { "memory.swappiness", """{"memory":{"swappiness":10}}""", new[] { "-r", """{"memory":{"swappiness":18446744073709551615}}""" }, "memory", "memory.swappiness" },
        { "cpu.shares", """{"cpu":{"shares":512}}""", new[] { "-r", """{"cpu":{"shares":0}}""" }, "cpu", "cpu.shares" },
        { "--cpu-share 0", """{"cpu":{"shares":512}}""", new[] { "--cpu-share", "0" }, "cpu", "cpu.shares" },
        { "cpu.quota", """{"cpu":{"quota":20000,"period":50000}}""", new[] { "-r", """{"cpu":{"quota":0}}""" }, "cpu", "cpu.cfs_quota_us" },
        { "--cpu-quota 0", """{"cpu":{"quota":20000,"period":50000}}""", new[] { "--cpu-quota", "0" }, "cpu", "cpu.cfs_quota_us" },
        { "cpu.period", """{"cpu":{"quota":20000,"period":50000}}""", new[] { "-r", """{"cpu":{"period":0}}""" }, "cpu", "cpu.cfs_period_us" },
        { "--cpu-period 0", """{"cpu":{"quota":20000,"period":50000}}""", new[] { "--cpu-period", "0" }, "cpu", "cpu.cfs_period_us" },
        { "cpu.realtimePeriod", """{}""", new[] { "-r", """{"cpu":{"realtimePeriod":0,"realtimeRuntime":0}}""" }, "cpu", "cpu.rt_period_us" },
        { "--cpu-rt-runtime 0", """{}""", new[] { "--cpu-rt-period", "0", "--cpu-rt-runtime", "0" }, "cpu", "cpu.rt_runtime_us" },
        { "cpu.cpus", """{"cpu":{"cpus":"0"}}""", new[] { "-r", """{"cpu":{"cpus":""}}""" }, "cpuset", "cpuset.cpus" },
        { "--cpuset-cpus ''", """{"cpu":{"cpus":"0"}}""", new[] { "--cpuset-cpus", "" }, "cpuset", "cpuset.cpus" },
        { "cpu.mems", """{"cpu":{"mems":"0"}}""", new[] { "-r", """{"cpu":{"mems":""}}""" }, "cpuset", "cpuset.mems" },
        { "pids.limit", """{"pids":{"limit":50}}""", new[] { "-r", """{"pids":{"limit":0}}""" }, "pids", "pids.max" },
        { "--pids-limit 0", """{"pids":{"limit":50}}""", new[] { "--pids-limit", "0" }, "pids", "pids.max" },
        { "blockIO.weight", """{}""", new[] { "-r", """{"blockIO":{"weight":0,"leafWeight":0}}""" }, "blkio", "blkio.bfq.weight" },
        { "--blkio-weight 0", """{}""", new[] { "--blkio-weight", "0" }, "blkio", "blkio.bfq.weight" },
        // What dockerd sends for `docker update --memory X` of a container that has only that: zeros for the rest.
        { "docker update", """{"memory":{"limit":67108864},"cpu":{"shares":512,"quota":20000,"period":50000,"cpus":"0"},"pids":{"limit":50}}""",
            new[] { "-r", """{"blockIO":{"weight":0},"cpu":{"shares":0,"period":0,"quota":0,"realtimePeriod":0,"realtimeRuntime":0,"cpus":"","mems":""},"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0},"pids":{"limit":0}}""" },
            "cpu", "cpu.cfs_quota_us" },
    };

    [Theory]
    [MemberData(nameof(UpdateZeros))]
    public void A_zero_in_update_leaves_the_cgroup_file_unchanged(string field, string resources, string[] update, string controller, string file)
    {
        _ = field;
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => SetResources(c, resources)), id).Ok();
        var dir = Dir(controller, id);
        var files = new[] { file }.Concat(field == "docker update"
            ? new[] { "memory/memory.limit_in_bytes", "cpu/cpu.shares", "cpu/cpu.cfs_period_us", "cpuset/cpuset.cpus", "pids/pids.max" } : Array.Empty<string>())
            .Select(f => f.Contains('/') ? Path.Join(Dir(f.Split('/')[0], id), f.Split('/')[1]) : Path.Join(dir, f)).ToList();
        var before = files.Select(f => File.ReadAllText(f)).ToList();
        var storedBefore = JsonNode.Parse(File.ReadAllText(Path.Join(s.Root, id, "config.json")));

        var args = update[0] == "-r"
            ? new[] { "update", "-r", Path.Join(s.Work, "r.json"), id }
            : new[] { "update" }.Concat(update).Append(id).ToArray();
        if (update[0] == "-r") File.WriteAllText(Path.Join(s.Work, "r.json"), update[1]);
        s.Berth(args).Ok();

        Assert.Equal(before, files.Select(f => File.ReadAllText(f)).ToList());
        // Nor does the stored config change: a zero is not a new value.
        Assert.True(JsonNode.DeepEquals(storedBefore, JsonNode.Parse(File.ReadAllText(Path.Join(s.Root, id, "config.json")))));
    }

    /// <summary>dockerd's config for `docker run` with no limits: every limit file in every hierarchy, v1 and unified, as in a new cgroup.</summary>
    [Fact]
    public void Dockers_create_zeros_leave_every_hierarchy_as_a_new_cgroup_has_it()
    {
        var limitFiles = new Dictionary<string, string[]>
        {
            ["memory"] = new[] { "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.kmem.limit_in_bytes",
                "memory.kmem.tcp.limit_in_bytes", "memory.swappiness", "memory.use_hierarchy" },
            ["cpu"] = new[] { "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle", "cpu.rt_period_us", "cpu.rt_runtime_us" },
            ["pids"] = new[] { "pids.max" },
            ["blkio"] = new[] { "blkio.bfq.weight", "blkio.bfq.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device" },
            ["unified"] = new[] { "cgroup.freeze", "cgroup.max.depth", "cgroup.max.descendants", "cgroup.subtree_control", "cgroup.type" },
        };
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var docker = """
            {"devices":[{"allow":false,"access":"rwm"}],"memory":{"limit":0,"reservation":0,"swap":0,"kernel":0,"kernelTCP":0,"disableOOMKiller":false},
             "cpu":{"shares":0,"quota":0,"period":0,"realtimeRuntime":0,"realtimePeriod":0,"cpus":"","mems":""},
             "pids":{"limit":0},"blockIO":{"weight":0,"leafWeight":0},"network":{"classID":0}}
            """;
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => SetResources(c, docker)), id).Ok();
        var reference = Sandbox.NewId("ref");
        var made = new List<string>();
        try
        {
            foreach (var (controller, files) in limitFiles)
            {
                var refDir = Dir(controller, reference);
                Directory.CreateDirectory(refDir);
                made.Add(refDir);
                foreach (var f in files)
                    Assert.True(Read(refDir, f) == Read(Dir(controller, id), f), $"{controller}/{f}: {Read(Dir(controller, id), f)}, a new cgroup has {Read(refDir, f)}");
            }
        }
        finally
        {
            foreach (var d in made) Directory.Delete(d);
        }
    }
}
