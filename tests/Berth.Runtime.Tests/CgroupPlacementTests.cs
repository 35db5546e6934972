using Berth.Runtime.Cgroups;
using Xunit;

namespace Berth.Runtime.Tests;

public class CgroupPlacementTests
{
    static Dictionary<string, string> CgroupsOf(int pid) =>
        File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).ToDictionary(p => p[1], p => p[2]);

    [Fact]
    public void An_empty_cgroups_path_places_the_container_under_the_runtimes_own_cgroup_in_every_hierarchy()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        var inside = CgroupsOf(pid);
        var mine = CgroupsOf(Environment.ProcessId);
        Assert.Equal(mine.Keys.Order(), inside.Keys.Order());
        foreach (var (controllers, path) in mine)
            Assert.Equal(path.TrimEnd('/') + "/" + id, inside[controllers]);

        var dirs = HostCgroups.DirsFor(id).ToList();
        Assert.All(dirs, d => Assert.True(Directory.Exists(d), d));
        s.Berth("delete", id).Ok();
        Assert.All(dirs, d => Assert.False(Directory.Exists(d), d));
    }

    [Fact]
    public void A_relative_path_nests_under_the_runtimes_cgroup_and_every_created_level_is_removed()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var parent = Sandbox.NewId("grp");
        var bundle = s.Bundle(new[] { "sleep", "60" }, c => c["linux"]!["cgroupsPath"] = $"{parent}/../{parent}/{id}");
        s.Berth("create", "--bundle", bundle, id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        Assert.EndsWith($"/{parent}/{id}", CgroupsOf(pid)["pids"]);
        Assert.EndsWith($"/{parent}/{id}", CgroupsOf(pid)[""]);
        s.Berth("delete", "--force", id).Ok();
        Assert.All(HostCgroups.DirsFor(parent), d => Assert.False(Directory.Exists(d), d));
    }

    /// <summary>
    /// The nsenter stage joins the cgroups itself, by a different path with a user namespace
    /// (v2 through cgroup.procs before the namespace exists) than without (born into it):
    /// both must end in every hierarchy, for create and for exec.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Init_and_exec_processes_are_in_every_hierarchy_with_and_without_a_user_namespace(bool userns)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "60" }, c =>
        {
            if (!userns) return;
            Sandbox.Namespaces(c).Add(new System.Text.Json.Nodes.JsonObject { ["type"] = "user" });
            c["linux"]!["uidMappings"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            foreach (var m in c["mounts"]!.AsArray())
                if ((string)m!["destination"]! == "/sys")
                {
                    m["type"] = "bind";
                    m["source"] = "/sys";
                    m["options"] = new System.Text.Json.Nodes.JsonArray("rbind", "nosuid", "noexec", "nodev", "ro");
                }
        });
        s.Berth("create", "--bundle", bundle, id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        var mine = CgroupsOf(Environment.ProcessId);
        var expected = mine.ToDictionary(kv => kv.Key, kv => kv.Value.TrimEnd('/') + "/" + id);
        Assert.Equal(expected, CgroupsOf(pid));

        var pidFile = Path.Combine(s.Work, "exec.pid");
        s.Berth("exec", "--detach", "--pid-file", pidFile, id, "sleep", "60").Ok();
        Assert.Equal(expected, CgroupsOf(int.Parse(File.ReadAllText(pidFile))));
        s.Berth("delete", "--force", id).Ok();
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), d));
    }

    [Fact]
    public void An_absolute_path_is_taken_from_each_hierarchys_root()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var top = "/" + Sandbox.NewId("berth-abs");
        foreach (var h in HostCgroups.Hierarchies()) s.CleanupCgroup(Path.Join(h.Mount, top));
        var bundle = s.Bundle(new[] { "sleep", "60" }, c => c["linux"]!["cgroupsPath"] = $"{top}/{id}");
        s.Berth("create", "--bundle", bundle, id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        Assert.Equal($"{top}/{id}", CgroupsOf(pid)["memory"]);
        Assert.Equal($"{top}/{id}", CgroupsOf(pid)["name=systemd"]);
        s.Berth("delete", "--force", id).Ok();
        foreach (var h in HostCgroups.Hierarchies()) Assert.False(Directory.Exists(Path.Join(h.Mount, top)));
    }

    [Fact]
    public void A_new_cgroup_namespace_is_rooted_at_the_containers_cgroup()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "cat", "/proc/self/cgroup" }, c =>
            Sandbox.Namespaces(c).Add(new System.Text.Json.Nodes.JsonObject { ["type"] = "cgroup" }));
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.EndsWith(":/", l));
    }

    [Fact]
    public void The_cgroup_mount_shows_the_containers_own_cgroups()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/cgroup.procs; true" }, c =>
            Sandbox.Namespaces(c).Add(new System.Text.Json.Nodes.JsonObject { ["type"] = "cgroup" }));
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("memory", lines);
        Assert.Contains("unified", lines);
        Assert.Contains("systemd", lines);
        // Only the container's processes are in its cgroup: sh (pid 1) and cat.
        Assert.Equal(2, lines.Count(l => l.All(char.IsDigit)));
    }
}

public class PlacementPlanTests
{
    const string Mountinfo = """
        30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
        39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
        40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """;

    const string ProcCgroup = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/abc
        2:cpu,cpuacct:/
        0::/
        """;

    [Fact]
    public void Hierarchies_pair_mounts_with_the_processs_own_cgroup()
    {
        var hs = Hierarchy.Parse(Mountinfo, ProcCgroup);
        Assert.Equal(5, hs.Count);
        Assert.Contains(hs, h => h.Name == "memory" && h.OwnPath == "/process_api/abc");
        Assert.Contains(hs, h => h.Name == "cpu,cpuacct" && h.Mountpoint == "/sys/fs/cgroup/cpu,cpuacct");
        Assert.Contains(hs, h => h.Name == "name=systemd");
        Assert.Contains(hs, h => h.Unified && h.Mountpoint == "/sys/fs/cgroup/unified");
    }

    [Theory]
    [InlineData("", "c1", "/sys/fs/cgroup/memory/process_api/abc/c1", "/sys/fs/cgroup/pids/c1")]
    [InlineData("a/b", "c1", "/sys/fs/cgroup/memory/process_api/abc/a/b", "/sys/fs/cgroup/pids/a/b")]
    [InlineData("../../../x", "c1", "/sys/fs/cgroup/memory/process_api/abc/x", "/sys/fs/cgroup/pids/x")]
    [InlineData("/abs/c", "c1", "/sys/fs/cgroup/memory/abs/c", "/sys/fs/cgroup/pids/abs/c")]
    [InlineData("/../../abs", "c1", "/sys/fs/cgroup/memory/abs", "/sys/fs/cgroup/pids/abs")]
    public void Cgroups_path_rules_follow_runc(string cgroupsPath, string id, string memory, string pids)
    {
        var plan = Placement.Plan(cgroupsPath, id, Hierarchy.Parse(Mountinfo, ProcCgroup));
        Assert.Equal(memory, plan.Dirs.Single(d => d.Hierarchy.Name == "memory").Dir);
        Assert.Equal(pids, plan.Dirs.Single(d => d.Hierarchy.Name == "pids").Dir);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("..")]
    [InlineData("a/..")]
    public void A_path_that_resolves_to_no_cgroup_of_its_own_is_refused(string cgroupsPath) =>
        Assert.Throws<RuntimeException>(() => Placement.Plan(cgroupsPath, "c1", Hierarchy.Parse(Mountinfo, ProcCgroup)));
}
