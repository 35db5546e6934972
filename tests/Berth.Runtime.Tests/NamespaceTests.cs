using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

public class NamespaceTests
{
    static string Host(string ns) => new FileInfo($"/proc/self/ns/{ns}").LinkTarget!;

    static Dictionary<string, string> Inside(Sandbox s, string bundle)
    {
        var id = Sandbox.NewId();
        var r = s.Berth("run", "--bundle", bundle, id).Ok();
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);
    }

    const string ReadNamespaces = "for n in cgroup ipc mnt net pid time uts user; do echo $n $(readlink /proc/self/ns/$n); done; echo pid1 $$";

    [Fact]
    public void Every_configured_namespace_is_new_and_the_process_is_pid_1()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadNamespaces }, c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" });
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "time" });
        });
        var seen = Inside(s, bundle);
        foreach (var ns in new[] { "cgroup", "ipc", "mnt", "net", "pid", "time", "uts" })
            Assert.NotEqual(Host(ns), seen[ns]);
        Assert.Equal(Host("user"), seen["user"]);
        Assert.Equal("1", seen["pid1"]);
    }

    [Fact]
    public void Without_a_namespace_entry_the_host_namespace_is_kept()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadNamespaces }, c =>
        {
            var keep = Sandbox.Namespaces(c).Where(n => (string)n!["type"]! == "mount").Select(n => n!.DeepClone()).ToArray();
            c["linux"]!["namespaces"] = new JsonArray(keep);
            c.Remove("hostname");
        });
        var seen = Inside(s, bundle);
        Assert.NotEqual(Host("mnt"), seen["mnt"]);
        foreach (var ns in new[] { "ipc", "net", "pid", "uts" })
            Assert.Equal(Host(ns), seen[ns]);
        Assert.NotEqual("1", seen["pid1"]);
    }

    [Fact]
    public void Namespaces_given_by_path_are_joined()
    {
        using var s = new Sandbox();
        var first = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }, name: "a"), first).Ok();
        int pid = (int)s.State(first)["pid"]!;
        string Of(string ns) => new FileInfo($"/proc/{pid}/ns/{ns}").LinkTarget!;

        var bundle = s.Bundle(new[] { "sh", "-c", ReadNamespaces + "; echo host $(hostname)" }, c =>
        {
            foreach (var n in Sandbox.Namespaces(c))
            {
                var type = (string)n!["type"]!;
                var file = type switch { "network" => "net", "mount" => null, _ => type };
                if (file is not null) n["path"] = $"/proc/{pid}/ns/{file}";
            }
            c.Remove("hostname");
        }, name: "b");
        var seen = Inside(s, bundle);
        foreach (var ns in new[] { "ipc", "net", "pid", "uts" })
            Assert.Equal(Of(ns), seen[ns]);
        Assert.NotEqual(Of("mnt"), seen["mnt"]);
        // In the first container's pid namespace, the second is not pid 1.
        Assert.NotEqual("1", seen["pid1"]);
    }

    /// <summary>runc's rule: hostname needs a uts namespace of the container's, new or joined; a joined one that is the host's would rename the host.</summary>
    [Fact]
    public void A_hostname_may_be_set_in_a_joined_uts_namespace_but_never_the_hosts()
    {
        using var s = new Sandbox();
        var first = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }, name: "a"), first).Ok();
        int pid = (int)s.State(first)["pid"]!;
        var hostBefore = File.ReadAllText("/proc/sys/kernel/hostname");
        var bundle = s.Bundle(new[] { "hostname" }, c =>
        {
            foreach (var n in Sandbox.Namespaces(c))
                if ((string)n!["type"]! == "uts") n["path"] = $"/proc/{pid}/ns/uts";
            c["hostname"] = "joined-name";
        }, name: "b");
        Assert.Equal("joined-name\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
        Assert.Equal("joined-name\n", s.Berth("exec", first, "hostname").Ok().Stdout);

        var host = s.Bundle(new[] { "hostname" }, c =>
        {
            foreach (var n in Sandbox.Namespaces(c))
                if ((string)n!["type"]! == "uts") n["path"] = "/proc/thread-self/ns/uts";
            c["hostname"] = "renamed-host";
        }, name: "c");
        s.Berth("run", "--bundle", host, Sandbox.NewId()).Fails("would rename the host");
        Assert.Equal(hostBefore, File.ReadAllText("/proc/sys/kernel/hostname"));
    }

    /// <summary>
    /// runtime-spec: a namespace type the config does not list is the runtime's. Without a mount
    /// namespace of its own the container is a chroot (as runc makes it) and nothing may be
    /// mounted, since the runtime's own namespace would get it.
    /// </summary>
    [Fact]
    public void Without_a_mount_namespace_the_container_is_chrooted_into_its_rootfs_and_may_mount_nothing()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "cat /marker; readlink /proc/self/ns/mnt 2>/dev/null || echo no-proc; sleep 30" }, c =>
        {
            var nss = Sandbox.Namespaces(c);
            foreach (var n in nss.Where(n => (string)n!["type"]! == "mount").ToList()) nss.Remove(n);
            c["mounts"] = new JsonArray();
            c["linux"]!.AsObject().Remove("maskedPaths");
            c["linux"]!.AsObject().Remove("readonlyPaths");
            c["root"]!["readonly"] = false;
        });
        File.WriteAllText(Path.Combine(bundle, "rootfs", "marker"), "inside the rootfs\n");
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        Assert.Equal("inside the rootfs\n", s.Berth("exec", id, "cat", "/marker").Ok().Stdout);
        int pid = (int)s.State(id)["pid"]!;
        Assert.Equal(new FileInfo("/proc/self/ns/mnt").LinkTarget, new FileInfo($"/proc/{pid}/ns/mnt").LinkTarget);
        // Nothing was mounted in the shared namespace: no mount at or under the rootfs.
        var rootfs = Path.Combine(bundle, "rootfs");
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Split(' ')[4].StartsWith(rootfs));
        s.Berth("delete", "--force", id).Ok();

        var withMounts = s.Bundle(new[] { "true" }, c =>
        {
            var nss = Sandbox.Namespaces(c);
            foreach (var n in nss.Where(n => (string)n!["type"]! == "mount").ToList()) nss.Remove(n);
        }, name: "mounts");
        s.Berth("create", "--bundle", withMounts, Sandbox.NewId()).Fails("needs a new mount namespace");
    }

    [Fact]
    public void A_namespace_path_of_the_wrong_type_is_refused_with_the_field_named()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            foreach (var n in Sandbox.Namespaces(c))
                if ((string)n!["type"]! == "network") n["path"] = "/proc/self/ns/uts";
        });
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", bundle, id).Fails("linux.namespaces[1].path");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    [Fact]
    public void A_new_network_namespace_has_loopback_up()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "cat", "/sys/class/net/lo/flags" }, c =>
        {
            // /sys read-write-irrelevant: sysfs of the container's network namespace.
        });
        var flags = Convert.ToInt32(s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Trim(), 16);
        Assert.True((flags & 1) == 1, $"IFF_UP not set in lo flags 0x{flags:x}");
    }

    [Fact]
    public void The_hostname_is_the_configured_one()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "hostname" }, c => c["hostname"] = "berth-test-host");
        Assert.Equal("berth-test-host", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Trim());
        Assert.NotEqual("berth-test-host", Environment.MachineName);
    }

    [Fact]
    public void A_user_namespace_maps_container_root_to_the_configured_host_ids()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g" }, c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
            c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 100000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 200000, ["size"] = 65536 });
            // sysfs cannot be mounted without owning the network namespace's user namespace: bind it.
            foreach (var m in c["mounts"]!.AsArray())
                if ((string)m!["destination"]! == "/sys")
                {
                    m["type"] = "bind";
                    m["source"] = "/sys";
                    m["options"] = new JsonArray("rbind", "nosuid", "noexec", "nodev", "ro");
                }
        });
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToArray();
        Assert.Equal("0 100000 65536", lines[0]);
        Assert.Equal("0 200000 65536", lines[1]);
        Assert.Equal("0", lines[2]);
        Assert.Equal("0", lines[3]);
    }

    [Fact]
    public void Time_offsets_shift_the_containers_clocks()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "cut", "-d.", "-f1", "/proc/uptime" }, c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "time" });
            c["linux"]!["timeOffsets"] = new JsonObject { ["boottime"] = new JsonObject { ["secs"] = 86400 * 365, ["nanosecs"] = 0 } };
        });
        var inside = long.Parse(s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Trim());
        var host = (long)double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(inside - host, 86400 * 365 - 60, 86400 * 365 + 60);
    }
}
