using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>linux.resources enforced: what the kernel does to the container's processes, not just file contents.</summary>
public class CgroupResourceTests
{
    static string V1(string controller, string id) => HostCgroups.DirsFor(id).Single(d => d.Contains($"/{controller}/"));

    static (Sandbox S, string Id) Detached(string[] args, Action<JsonObject> edit)
    {
        var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(args, edit), id).Ok();
        return (s, id);
    }

    [Fact]
    public void A_process_over_its_memory_limit_is_oom_killed_and_events_reports_it()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["memory"] = new JsonObject
        {
            ["limit"] = 32L << 20, ["swap"] = 32L << 20,
        });
        using var _ = s;
        Assert.Equal((32L << 20).ToString(), File.ReadAllText(Path.Combine(V1("memory", id), "memory.limit_in_bytes")).Trim());
        using var events = s.Start("events", "--interval", "1s", id);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        events.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        events.BeginOutputReadLine();
        KillDeleteTests.WaitUntil(() => lines.Any(l => l.Contains("\"stats\"")));
        // dd's 64 MiB buffer cannot fit in 32 MiB.
        var r = s.Berth("exec", id, "sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$?");
        Assert.Contains("dd=137", r.Stdout);
        Assert.Contains("oom_kill 1", File.ReadAllText(Path.Combine(V1("memory", id), "memory.oom_control")));
        KillDeleteTests.WaitUntil(() => lines.Any(l => l == $"{{\"type\":\"oom\",\"id\":\"{id}\"}}"));
        events.Kill();
    }

    [Fact]
    public void A_fork_bomb_stops_at_the_pids_limit()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["pids"] = new JsonObject { ["limit"] = 8 });
        using var _ = s;
        var r = s.Berth("exec", id, "sh", "-c", "for i in $(seq 30); do sleep 3 & done 2>&1; wait");
        Assert.Contains("can't fork", r.Stdout + r.Stderr);
        var pids = V1("pids", id);
        Assert.Equal("8", File.ReadAllText(Path.Combine(pids, "pids.max")).Trim());
        Assert.True(int.Parse(File.ReadAllText(Path.Combine(pids, "pids.peak")).Trim()) <= 8);
        Assert.NotEqual("max 0", File.ReadAllText(Path.Combine(pids, "pids.events")).Trim());
    }

    [Fact]
    public void A_cpu_quota_throttles_a_busy_loop()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["cpu"] = new JsonObject
        {
            ["quota"] = 10000, ["period"] = 100000, ["shares"] = 256,
        });
        using var _ = s;
        var cpu = V1("cpu", id);
        Assert.Equal("10000", File.ReadAllText(Path.Combine(cpu, "cpu.cfs_quota_us")).Trim());
        Assert.Equal("256", File.ReadAllText(Path.Combine(cpu, "cpu.shares")).Trim());
        s.Berth("exec", id, "sh", "-c", "end=$(( $(date +%s) + 2 )); while [ $(date +%s) -lt $end ]; do :; done").Ok();
        var stat = File.ReadAllLines(Path.Combine(cpu, "cpu.stat")).ToDictionary(l => l.Split(' ')[0], l => long.Parse(l.Split(' ')[1]));
        Assert.True(stat["nr_throttled"] > 5, $"nr_throttled {stat["nr_throttled"]}");
    }

    [Fact]
    public void A_device_the_rules_do_not_allow_cannot_be_opened()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "mknod /dev/mem2 c 1 1 && head -c1 /dev/mem2 2>&1; head -c1 /dev/null && echo null-ok; cat /sys/fs/cgroup/devices/devices.list | head -1" }, c =>
        {
            foreach (var set in new[] { "bounding", "effective", "permitted" }) c["process"]!["capabilities"]![set]!.AsArray().Add("CAP_MKNOD");
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" });
        });
        var r = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
        Assert.Contains("Operation not permitted", r.Stdout);
        Assert.Contains("null-ok", r.Stdout);
    }

    [Fact]
    public void Pause_freezes_every_process_and_resume_thaws_them()
    {
        var (s, id) = Detached(new[] { "sh", "-c", "sleep 60 & sleep 60" }, _ => { });
        using var __ = s;
        s.Berth("pause", id).Ok();
        Assert.Equal("paused", s.Status(id));
        Assert.Equal("FROZEN", File.ReadAllText(Path.Combine(V1("freezer", id), "freezer.state")).Trim());
        var pids = File.ReadAllLines(Path.Combine(V1("pids", id), "cgroup.procs"));
        Assert.NotEmpty(pids);
        Assert.All(pids, p => Assert.Contains(File.ReadAllText($"/proc/{p}/stat").Split(") ")[1][0], "DT"));
        s.Berth("exec", id, "true").Fails("paused");
        s.Berth("resume", id).Ok();
        Assert.Equal("running", s.Status(id));
        Assert.All(pids, p => Assert.Equal('S', File.ReadAllText($"/proc/{p}/stat").Split(") ")[1][0]));
        s.Berth("resume", id).Fails("not paused");
        s.Berth("pause", id).Ok();
        s.Berth("delete", "--force", id).Ok();
    }

    [Fact]
    public void Update_changes_live_limits_from_flags_and_from_stdin_json()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 64L << 20 });
        using var _ = s;
        s.Berth("update", "--memory", "96m", "--pids-limit", "33", "--cpu-quota", "20000", id).Ok();
        Assert.Equal((96L << 20).ToString(), File.ReadAllText(Path.Combine(V1("memory", id), "memory.limit_in_bytes")).Trim());
        Assert.Equal("33", File.ReadAllText(Path.Combine(V1("pids", id), "pids.max")).Trim());
        Assert.Equal("20000", File.ReadAllText(Path.Combine(V1("cpu", id), "cpu.cfs_quota_us")).Trim());
        // containerd's form: -r - with runtime-spec resources on stdin.
        var r = Sandbox.Exec("/bin/sh", "-c", $"echo '{{\"pids\":{{\"limit\":44}},\"memory\":{{\"limit\":{48L << 20}}}}}' | \"$0\" --root {s.Root} update -r - {id}", Sandbox.Binary).Ok();
        Assert.Equal("44", File.ReadAllText(Path.Combine(V1("pids", id), "pids.max")).Trim());
        Assert.Equal((48L << 20).ToString(), File.ReadAllText(Path.Combine(V1("memory", id), "memory.limit_in_bytes")).Trim());
        // This host's blkio has BFQ's weight file and not CFQ's: runc's fallback writes it.
        s.Berth("update", "--blkio-weight", "300", id).Ok();
        Assert.Equal("300", BlkioWeight(id));
    }

    /// <summary>The container's blkio weight: CFQ's file where the kernel has it, else BFQ's (where runc writes it).</summary>
    static string BlkioWeight(string id)
    {
        var dir = V1("blkio", id);
        var cfq = Path.Combine(dir, "blkio.weight");
        return File.ReadAllText(File.Exists(cfq) ? cfq : Path.Combine(dir, "blkio.bfq.weight")).Trim();
    }

    [Fact]
    public void A_blkio_weight_is_written_to_the_weight_file_the_host_has()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["blockIO"] = new JsonObject { ["weight"] = 500 });
        using var _ = s;
        Assert.Equal("500", BlkioWeight(id));
    }

    [Theory]
    [InlineData("hugepage", "hugetlb")]
    [InlineData("classid", "net_cls")]
    [InlineData("unified", "memory is a cgroup v1 controller")]
    [InlineData("rdma", "rdma")]
    public void A_value_for_a_controller_this_host_lacks_is_an_error_naming_it(string what, string controller)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            var r = c["linux"]!["resources"]!.AsObject();
            switch (what)
            {
                case "hugepage": r["hugepageLimits"] = new JsonArray(new JsonObject { ["pageSize"] = "2MB", ["limit"] = 1 << 21 }); break;
                case "classid": r["network"] = new JsonObject { ["classID"] = 0x100001 }; break;
                case "unified": r["unified"] = new JsonObject { ["memory.high"] = "1G" }; break;
                case "rdma": r["rdma"] = new JsonObject { ["mlx5_0"] = new JsonObject { ["hcaHandles"] = 3 } }; break;
            }
        });
        var result = s.Berth("create", "--bundle", bundle, id).Fails("linux.resources");
        Assert.Contains(controller, result.Stderr);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), d));
    }

    [Fact]
    public void Swap_is_written_where_the_host_accounts_it()
    {
        var (s, id) = Detached(new[] { "sleep", "60" }, c => c["linux"]!["resources"]!["memory"] = new JsonObject { ["limit"] = 32L << 20, ["swap"] = 64L << 20 });
        using var _ = s;
        var memsw = Path.Combine(V1("memory", id), "memory.memsw.limit_in_bytes");
        Assert.True(File.Exists(memsw), "this host has swap accounting (memory.memsw)");
        Assert.Equal((64L << 20).ToString(), File.ReadAllText(memsw).Trim());
    }

    [Fact]
    public void Stats_ps_and_the_systemd_driver()
    {
        var (s, id) = Detached(new[] { "sh", "-c", "sleep 60 & sleep 60" }, c => c["linux"]!["resources"]!["pids"] = new JsonObject { ["limit"] = 50 });
        using var _ = s;
        var stats = JsonNode.Parse(s.Berth("events", "--stats", id).Ok().Stdout)!.AsObject();
        Assert.Equal("stats", (string)stats["type"]!);
        Assert.Equal(50, (int)stats["data"]!["pids"]!["limit"]!);
        Assert.True((long)stats["data"]!["memory"]!["usage"]!["usage"]! > 0);
        Assert.True((long)stats["data"]!["cpu"]!["usage"]!["total"]! > 0);
        var pids = JsonNode.Parse(s.Berth("ps", "--format", "json", id).Ok().Stdout)!.AsArray().Select(p => (int)p!).ToList();
        Assert.Equal(2, pids.Count);
        Assert.Contains("sleep 60", s.Berth("ps", id).Ok().Stdout);
        Sandbox.Exec(Sandbox.Binary, "--root", s.Root, "--systemd-cgroup", "create", "--bundle", "/nonexistent", "x").Fails("no systemd");
    }

    [Fact]
    public void Intel_rdt_is_refused_here_and_memory_policy_applies()
    {
        using var s = new Sandbox();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => c["linux"]!["intelRdt"] = new JsonObject { ["closID"] = "x", ["l3CacheSchema"] = "L3:0=f" }, name: "a"), Sandbox.NewId())
            .Fails("linux.intelRdt: not supported on this host");
        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", "grep -c bind:0 /proc/self/numa_maps" },
            c => c["linux"]!["memoryPolicy"] = new JsonObject { ["mode"] = "MPOL_BIND", ["nodes"] = "0" }, name: "b"), Sandbox.NewId()).Ok();
        Assert.True(int.Parse(r.Stdout.Trim()) > 0);
    }

    [Fact]
    public void A_host_network_device_moves_into_the_container_under_its_new_name()
    {
        using var s = new Sandbox();
        var host = "bt" + Guid.NewGuid().ToString("N")[..8];
        Sandbox.Exec("ip", "link", "add", host, "type", "veth", "peer", "name", host + "p").Ok();
        try
        {
            var bundle = s.Bundle(new[] { "sh", "-c", "ls /sys/class/net" }, c =>
                c["linux"]!["netDevices"] = new JsonObject { [host] = new JsonObject { ["name"] = "eth9" } });
            var inside = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("eth9", inside);
            Assert.Contains("lo", inside);
            s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c =>
                c["linux"]!["netDevices"] = new JsonObject { ["nosuchdev0"] = new JsonObject() }, name: "x"), Sandbox.NewId())
                .Fails("no such network interface");
        }
        finally
        {
            Sandbox.Exec("ip", "link", "del", host + "p");
            Sandbox.Exec("ip", "link", "del", host);
        }
    }
}
