using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// What runc refuses about the container's file system, Berth refuses too: mounts into /proc
/// beyond lxcfs's files, a rootfs reached through a symlink, device nodes outside /dev or not
/// the ones asked for, and a NUL that would cut a destination short.
/// </summary>
public class MountRuleTests
{
    static JsonObject Mount(string dest, string type, string source, params string[] options) => new()
    {
        ["destination"] = dest, ["type"] = type, ["source"] = source, ["options"] = new JsonArray(options.Select(o => (JsonNode)o!).ToArray()),
    };

    static Result Refused(Sandbox s, string bundle, string message)
    {
        var id = Sandbox.NewId();
        var r = s.Berth("run", "--bundle", bundle, id).Fails(message);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d)));
        return r;
    }

    [Theory]
    [InlineData("/proc/sys/kernel/core_pattern", "bind")]
    [InlineData("/proc/sys/kernel/modprobe", "bind")]
    [InlineData("/proc/sysrq-trigger", "bind")]
    [InlineData("/proc/sys", "tmpfs")]
    [InlineData("/proc/self/attr", "tmpfs")]
    [InlineData("/proc/1/../sys/kernel/core_pattern", "bind")]
    [InlineData("/proc//sys/kernel/core_pattern", "bind")]
    public void A_mount_inside_proc_is_refused_as_runc_refuses_it(string dest, string type)
    {
        using var s = new Sandbox();
        var decoy = Path.Combine(s.Work, "decoy");
        File.WriteAllText(decoy, "|/tmp/evil");
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(type == "bind" ? Mount(dest, "bind", decoy, "bind") : Mount(dest, type, type)));
        Assert.Contains("is inside /proc", Refused(s, bundle, "mounts[7].destination").Stderr);
    }

    [Fact]
    public void Only_a_proc_file_system_may_cover_proc()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/proc", "tmpfs", "tmpfs")), name: "tmpfs");
        Refused(s, bundle, "only a proc file system may be mounted on /proc");
        var fake = Path.Combine(s.Work, "fakeproc");
        Directory.CreateDirectory(fake);
        bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/proc", "bind", fake, "rbind")), name: "bind");
        Refused(s, bundle, "only a proc file system may be mounted on /proc");
        // A bind of a procfs root is a proc file system.
        bundle = s.Bundle(new[] { "sh", "-c", "test -e /proc/self/status && echo proc" }, c => c["mounts"]!.AsArray().Add(Mount("/proc", "bind", "/proc", "rbind")), name: "procbind");
        Assert.Equal("proc\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
    }

    [Fact]
    public void A_symlink_in_the_image_cannot_route_a_mount_into_proc()
    {
        using var s = new Sandbox();
        var decoy = Path.Combine(s.Work, "decoy");
        File.WriteAllText(decoy, "|/tmp/evil");
        var before = File.ReadAllText("/proc/sys/kernel/core_pattern");
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/data/core_pattern", "bind", decoy, "bind")));
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "data"), "/proc/sys/kernel");
        var r = Refused(s, bundle, "] /data/core_pattern");
        Assert.Contains("resolves to /proc/sys/kernel/core_pattern", r.Stderr);
        Assert.Equal(before, File.ReadAllText("/proc/sys/kernel/core_pattern"));
    }

    [Fact]
    public void Lxcfs_style_files_may_be_mounted_over_proc()
    {
        using var s = new Sandbox();
        var uptime = Path.Combine(s.Work, "uptime");
        File.WriteAllText(uptime, "12345.67 0.00\n");
        var bundle = s.Bundle(new[] { "cat", "/proc/uptime" }, c => c["mounts"]!.AsArray().Add(Mount("/proc/uptime", "bind", uptime, "bind", "ro")));
        Assert.Equal("12345.67 0.00\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
    }

    [Fact]
    public void A_rootfs_reached_through_a_symlink_is_refused()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" });
        // root.path itself a symlink to the real rootfs.
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs-link"), Path.Combine(bundle, "rootfs"));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!;
        config["root"]!["path"] = "rootfs-link";
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        Assert.Contains("is a symlink or has one on its way", Refused(s, bundle, "root.path").Stderr);
        // A symlink higher up on its way: the bundle reached through a link.
        config["root"]!["path"] = "rootfs";
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        var linked = Path.Combine(s.Work, "linked-bundle");
        File.CreateSymbolicLink(linked, bundle);
        var id = Sandbox.NewId();
        s.Berth("run", "--bundle", linked, id).Fails("root.path");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        // The same bundle by its real path runs.
        s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
    }

    [Fact]
    public void A_nul_in_a_mount_destination_is_refused_not_cut()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/mnt\u0000/x", "tmpfs", "tmpfs")));
        Assert.Contains("NUL", Refused(s, bundle, "mounts[7].destination").Stderr);
        Assert.False(Directory.Exists(Path.Combine(bundle, "rootfs", "mnt")));
    }

    [Theory]
    [InlineData("/dev/../../x")]
    [InlineData("/dev/../etc/passwd")]
    [InlineData("/dev/./null")]
    public void A_device_path_that_leaves_dev_is_refused(string path)
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" }, c => c["linux"]!["devices"] = new JsonArray(new JsonObject
        {
            ["path"] = path, ["type"] = "c", ["major"] = 1, ["minor"] = 3,
        }));
        Refused(s, bundle, "linux.devices[0].path");
        Assert.False(File.Exists(Path.Combine(bundle, "rootfs", "x")));
        Assert.False(File.Exists(Path.Combine(bundle, "x")));
    }

    [Fact]
    public void In_a_user_namespace_a_device_is_bound_from_the_host_only_if_it_is_the_node_asked_for()
    {
        using var s = new Sandbox();
        Action<JsonObject> userns(int minor) => c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
            c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
            foreach (var m in c["mounts"]!.AsArray())
                if ((string)m!["destination"]! == "/sys")
                {
                    m["type"] = "bind";
                    m["source"] = "/sys";
                    m["options"] = new JsonArray("rbind", "nosuid", "noexec", "nodev", "ro");
                }
            c["linux"]!["devices"] = new JsonArray(new JsonObject { ["path"] = "/dev/zero", ["type"] = "c", ["major"] = 1, ["minor"] = minor });
        };
        // The host's /dev/zero is 1:5; asking for 1:3 there is refused.
        Refused(s, s.Bundle(new[] { "true" }, userns(3), name: "wrong"), "the host's /dev/zero is a character device 1:5");
        Assert.Equal("1:5\n", s.Berth("run", "--bundle", s.Bundle(new[] { "stat", "-c", "%t:%T", "/dev/zero" }, userns(5), name: "right"), Sandbox.NewId()).Ok().Stdout);
    }
}
