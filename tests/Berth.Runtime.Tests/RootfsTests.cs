using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>The container's file system, asserted from inside it.</summary>
public class RootfsTests
{
    static string Run(Sandbox s, string script, Action<JsonObject>? edit = null, params string[] flags)
    {
        var bundle = s.Bundle(new[] { "sh", "-c", script }, edit, name: Sandbox.NewId("b"));
        return s.Berth(new[] { "run" }.Concat(flags).Concat(new[] { "--bundle", bundle, Sandbox.NewId() }).ToArray()).Ok().Stdout;
    }

    static JsonObject Mount(string dest, string type, string source, params string[] options) => new()
    {
        ["destination"] = dest, ["type"] = type, ["source"] = source, ["options"] = new JsonArray(options.Select(o => (JsonNode)o!).ToArray()),
    };

    /// <summary>Mount point → (fstype, per-mount options, super options) from /proc/self/mountinfo text.</summary>
    static Dictionary<string, (string Type, string Options, string Super)> MountInfo(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => (Left: l[..l.IndexOf(" - ")].Split(' '), Right: l[(l.IndexOf(" - ") + 3)..].Split(' ')))
            .GroupBy(x => x.Left[4]).ToDictionary(g => g.Key, g => (g.Last().Right[0], g.Last().Left[5], g.Last().Right[2]));

    [Fact]
    public void The_default_mounts_are_in_place_with_their_options()
    {
        using var s = new Sandbox();
        var mi = MountInfo(Run(s, "cat /proc/self/mountinfo"));
        Assert.Equal("proc", mi["/proc"].Type);
        Assert.Equal("tmpfs", mi["/dev"].Type);
        Assert.Contains("size=65536k", mi["/dev"].Super);
        Assert.Contains("nosuid", mi["/dev"].Options);
        Assert.Equal("devpts", mi["/dev/pts"].Type);
        Assert.Contains("ptmxmode=666", mi["/dev/pts"].Super);
        Assert.Equal("tmpfs", mi["/dev/shm"].Type);
        Assert.Contains("noexec", mi["/dev/shm"].Options);
        Assert.Equal("mqueue", mi["/dev/mqueue"].Type);
        Assert.Equal("sysfs", mi["/sys"].Type);
        Assert.StartsWith("ro", mi["/sys"].Options);
        Assert.StartsWith("ro", mi["/"].Options);
        Assert.StartsWith("ro", mi["/proc/sys"].Options);
        Assert.Equal("tmpfs", mi["/proc/acpi"].Type);
    }

    [Fact]
    public void A_read_only_root_refuses_writes_and_a_writable_one_accepts_them()
    {
        using var s = new Sandbox();
        Assert.Contains("Read-only file system", Run(s, "touch /x 2>&1; true"));
        Assert.Equal("ok\n", Run(s, "touch /x && echo ok", c => c["root"]!["readonly"] = false));
    }

    [Fact]
    public void Tmpfs_size_and_mode_options_apply()
    {
        using var s = new Sandbox();
        var lines = Run(s, "stat -c %a /scratch; df -k /scratch | tail -1", c =>
            c["mounts"]!.AsArray().Add(Mount("/scratch", "tmpfs", "tmpfs", "size=2m", "mode=700", "nodev"))).Split('\n');
        Assert.Equal("700", lines[0]);
        Assert.Equal("2048", lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    [Fact]
    public void Missing_mount_targets_are_created_and_bind_mounts_honour_ro()
    {
        using var s = new Sandbox();
        var host = Path.Combine(s.Work, "shared");
        Directory.CreateDirectory(host);
        File.WriteAllText(Path.Combine(host, "data"), "hello");
        var lines = Run(s, "cat /deep/a/b/data; echo; touch /deep/a/b/new 2>&1; true", c =>
            c["mounts"]!.AsArray().Add(Mount("/deep/a/b", "bind", host, "rbind", "ro"))).Split('\n');
        Assert.Equal("hello", lines[0]);
        Assert.Contains("Read-only file system", lines[1]);
        Assert.False(File.Exists(Path.Combine(host, "new")));
    }

    [Fact]
    public void Recursive_read_only_covers_submounts_where_plain_ro_does_not()
    {
        using var s = new Sandbox();
        var host = Path.Combine(s.Work, "tree");
        Directory.CreateDirectory(Path.Combine(host, "sub"));
        Sandbox.Exec("mount", "-t", "tmpfs", "tmpfs", Path.Combine(host, "sub")).Ok();
        try
        {
            var ro = Run(s, "touch /t/sub/f 2>&1 && echo wrote; true", c => c["mounts"]!.AsArray().Add(Mount("/t", "bind", host, "rbind", "ro")));
            Assert.Equal("wrote\n", ro);
            var rro = Run(s, "touch /t/sub/g 2>&1 && echo wrote; true", c => c["mounts"]!.AsArray().Add(Mount("/t", "bind", host, "rbind", "rro")));
            Assert.Contains("Read-only file system", rro);
        }
        finally
        {
            Sandbox.Exec("umount", "-l", Path.Combine(host, "sub"));
        }
    }

    /// <summary>podman's --read-only and --tmpfs send tmpcopyup: the tmpfs starts with what the directory held, as it was.</summary>
    [Fact]
    public void Tmpcopyup_fills_the_new_tmpfs_with_the_directorys_content_owners_modes_and_links()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c",
            "cat /etc/d/sub/f; stat -c '%a %u %g' /etc/d/sub /etc/d/sub/f; readlink /etc/d/link; " +
            "grep ' /etc/d ' /proc/mounts | cut -d' ' -f3; echo new > /etc/d/n && cat /etc/d/n" }, c =>
            c["mounts"]!.AsArray().Add(Mount("/etc/d", "tmpfs", "tmpfs", "nosuid", "nodev", "tmpcopyup", "size=1m")));
        var d = Path.Combine(bundle, "rootfs", "etc", "d");
        Directory.CreateDirectory(Path.Combine(d, "sub"));
        File.WriteAllText(Path.Combine(d, "sub", "f"), "kept\n");
        Sandbox.Exec("chown", "1000:1001", Path.Combine(d, "sub", "f")).Ok();
        Sandbox.Exec("chmod", "4755", Path.Combine(d, "sub", "f")).Ok();
        Sandbox.Exec("chmod", "0711", Path.Combine(d, "sub")).Ok();
        File.CreateSymbolicLink(Path.Combine(d, "link"), "sub/f");
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n');
        Assert.Equal("kept", lines[0]);
        Assert.Equal("711 0 0", lines[1]);
        Assert.Equal("4755 1000 1001", lines[2]);
        Assert.Equal("sub/f", lines[3]);
        Assert.Equal("tmpfs", lines[4]);
        Assert.Equal("new", lines[5]);
        // The image's directory is untouched: the write went to the tmpfs.
        Assert.False(File.Exists(Path.Combine(d, "n")));
    }

    [Fact]
    public void Tmpcopyup_of_a_missing_directory_is_an_empty_tmpfs_and_of_another_type_an_error()
    {
        using var s = new Sandbox();
        Assert.Equal("0\n", Run(s, "ls -A /fresh | wc -l", c => c["mounts"]!.AsArray().Add(Mount("/fresh", "tmpfs", "tmpfs", "tmpcopyup"))));
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/x", "bind", "/tmp", "rbind", "tmpcopyup")));
        s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Fails("options: tmpcopyup is for tmpfs mounts");
    }

    /// <summary>Options no kernel mount takes are errors naming the mount, never silently passed on (bind) or a bare EINVAL (data).</summary>
    [Fact]
    public void A_mount_option_the_file_system_refuses_is_an_error_naming_the_mount_and_the_option()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/x", "tmpfs", "tmpfs", "nosuid", "frobnicate=1")));
        var r = s.Berth("create", "--bundle", bundle, id).Fails("mounts[");
        Assert.Contains("/x", r.Stderr);
        Assert.Contains("frobnicate=1", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/y", "bind", "/tmp", "rbind", "size=1m")), name: "b2");
        s.Berth("create", "--bundle", bundle, id).Fails("\"size=1m\" is not an option of a bind mount");
    }

    [Fact]
    public void Recursive_atime_nosymfollow_and_strictatime_options_are_applied()
    {
        using var s = new Sandbox();
        var host = Path.Combine(s.Work, "attrs");
        Directory.CreateDirectory(host);
        var info = MountInfo(Run(s, "cat /proc/self/mountinfo", c =>
        {
            var m = c["mounts"]!.AsArray();
            m.Add(Mount("/a", "bind", host, "rbind", "rnoatime", "rnosymfollow"));
            m.Add(Mount("/b", "tmpfs", "tmpfs", "strictatime", "nosymfollow"));
            m.Add(Mount("/c", "bind", host, "rbind", "rro", "rnodev"));
        }));
        Assert.Contains("noatime", info["/a"].Options);
        Assert.Contains("nosymfollow", info["/a"].Options);
        Assert.DoesNotContain("relatime", info["/b"].Options);
        Assert.Contains("nosymfollow", info["/b"].Options);
        Assert.StartsWith("ro", info["/c"].Options);
        Assert.Contains("nodev", info["/c"].Options);
    }

    /// <summary>An image whose /etc/resolv.conf is a link to a file that is not there (systemd's stub): the bind lands on the link's target, inside the root.</summary>
    [Fact]
    public void A_file_mount_through_a_dangling_symlink_creates_its_target_inside_the_root()
    {
        using var s = new Sandbox();
        var source = Path.Combine(s.Work, "resolv.conf");
        File.WriteAllText(source, "nameserver 127.0.0.53\n");
        var bundle = s.Bundle(new[] { "cat", "/etc/resolv.conf" }, c => c["mounts"]!.AsArray().Add(Mount("/etc/resolv.conf", "bind", source, "bind", "ro")));
        var rootfs = Path.Combine(bundle, "rootfs");
        File.Delete(Path.Combine(rootfs, "etc", "resolv.conf"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "resolv.conf"), "../run/systemd/resolve/stub-resolv.conf");
        Assert.Equal("nameserver 127.0.0.53\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
        Assert.True(File.Exists(Path.Combine(rootfs, "run", "systemd", "resolve", "stub-resolv.conf")));
        // An absolute link outside the root is taken inside it, never on the host.
        File.Delete(Path.Combine(rootfs, "etc", "resolv.conf"));
        var hostTarget = Path.Combine(s.Work, "host-side", "target");
        File.CreateSymbolicLink(Path.Combine(rootfs, "etc", "resolv.conf"), hostTarget);
        Assert.Equal("nameserver 127.0.0.53\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
        Assert.False(File.Exists(hostTarget));
        Assert.True(File.Exists(rootfs + hostTarget));
    }

    /// <summary>runc creates a device wherever the config names it, not only under /dev; an unclean path is refused.</summary>
    [Fact]
    public void A_device_may_be_made_at_any_clean_absolute_path()
    {
        using var s = new Sandbox();
        var lines = Run(s, "stat -c '%F %t:%T' /opt/nulls/null-copy", c =>
            c["linux"]!["devices"] = new JsonArray(new JsonObject { ["path"] = "/opt/nulls/null-copy", ["type"] = "c", ["major"] = 1, ["minor"] = 3, ["fileMode"] = 438 }));
        Assert.Equal("character special file 1:3\n", lines);
        var bundle = s.Bundle(new[] { "true" }, c =>
            c["linux"]!["devices"] = new JsonArray(new JsonObject { ["path"] = "/opt/../../x", ["type"] = "c", ["major"] = 1, ["minor"] = 3 }), name: "unclean");
        s.Berth("create", "--bundle", bundle, Sandbox.NewId()).Fails("linux.devices[0].path");
    }

    /// <summary>runc fills /dev unless a /dev is bound in: without a /dev mount the devices are made in the image's own /dev.</summary>
    [Fact]
    public void Without_a_dev_mount_the_devices_are_still_created()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "stat -c '%t:%T' /dev/null /dev/zero" }, c =>
        {
            var mounts = c["mounts"]!.AsArray();
            foreach (var m in mounts.Where(m => ((string)m!["destination"]!).StartsWith("/dev")).ToList()) mounts.Remove(m);
        });
        Assert.Equal("1:3\n1:5\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
    }

    /// <summary>
    /// Bind sources are opened by the launcher on the host, as runc and crun do: a file in a
    /// 0700 directory that the container's user namespace root (host uid 300000) could not
    /// reach still mounts, and a missing source fails create naming it.
    /// </summary>
    [Fact]
    public void A_bind_source_the_containers_user_namespace_cannot_reach_still_mounts()
    {
        using var s = new Sandbox();
        var secret = Path.Combine(s.Work, "private");
        Directory.CreateDirectory(secret);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(secret, "data"), "reached\n");
        File.SetUnixFileMode(Path.Combine(secret, "data"), (UnixFileMode)0x1a4);
        var bundle = s.Bundle(new[] { "cat", "/mnt/data" }, c =>
        {
            Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
            c["linux"]!["uidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            c["linux"]!["gidMappings"] = new JsonArray(new JsonObject { ["containerID"] = 0, ["hostID"] = 300000, ["size"] = 65536 });
            foreach (var m in c["mounts"]!.AsArray())
                if ((string)m!["destination"]! == "/sys") { m["type"] = "bind"; m["source"] = "/sys"; m["options"] = new JsonArray("rbind", "ro"); }
            c["mounts"]!.AsArray().Add(Mount("/mnt/data", "bind", Path.Combine(secret, "data"), "bind", "ro"));
        });
        // The target is there already: this rootfs belongs to host root, not to the mapped root.
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "mnt"));
        File.WriteAllText(Path.Combine(bundle, "rootfs", "mnt", "data"), "");
        Assert.Equal("reached\n", s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);

        var id = Sandbox.NewId();
        var missing = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/x", "bind", "/no/such/source", "rbind")), name: "missing");
        s.Berth("create", "--bundle", missing, id).Fails("mounts[");
        s.Berth("create", "--bundle", missing, id).Fails("/no/such/source: ENOENT");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    static JsonArray Map(long container, long host, long size) => new(new JsonObject { ["containerID"] = container, ["hostID"] = host, ["size"] = size });

    static void Userns(JsonObject c)
    {
        Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "user" });
        c["linux"]!["uidMappings"] = Map(0, 300000, 65536);
        c["linux"]!["gidMappings"] = Map(0, 300000, 65536);
        foreach (var m in c["mounts"]!.AsArray())
            if ((string)m!["destination"]! == "/sys") { m["type"] = "bind"; m["source"] = "/sys"; m["options"] = new JsonArray("rbind", "ro"); }
    }

    /// <summary>runc's idmapped mounts: a file owned by N on disk is seen as what the mount's mapping makes of N.</summary>
    [Fact]
    public void An_idmapped_bind_mount_shows_files_through_its_own_mappings()
    {
        using var s = new Sandbox();
        var src = Path.Combine(s.Work, "idmapped");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "root-owned"), "");
        File.WriteAllText(Path.Combine(src, "owned-100-200"), "");
        Sandbox.Exec("chown", "100:200", Path.Combine(src, "owned-100-200")).Ok();
        JsonObject Idmapped(JsonArray uids, JsonArray gids) => new()
        {
            ["destination"] = "/tmp", ["type"] = "bind", ["source"] = src, ["options"] = new JsonArray("bind"),
            ["uidMappings"] = uids, ["gidMappings"] = gids,
        };
        const string stat = "stat -c '%u:%g' /tmp/root-owned /tmp/owned-100-200";
        // No user namespace: disk 0 → 100000 (runc's "simple idmap mount [no userns]").
        Assert.Equal("100000:100000\n100100:100200\n", Run(s, stat, c => c["mounts"]!.AsArray().Add(Idmapped(Map(0, 100000, 65536), Map(0, 100000, 65536)))));
        // Only the ids a mapping holds are mapped; others show as the overflow id.
        Assert.Equal("65534:65534\n5000:6000\n", Run(s, stat, c => c["mounts"]!.AsArray().Add(Idmapped(Map(100, 5000, 10), Map(200, 6000, 10)))));
        // In a user namespace whose root is host 300000, a mount mapped the same way shows the disk's owners.
        var inside = Run(s, stat + "; touch /tmp/made-inside", c =>
        {
            Userns(c);
            c["mounts"]!.AsArray().Add(Idmapped(Map(0, 300000, 65536), Map(0, 300000, 65536)));
        });
        Assert.Equal("0:0\n100:200\n", inside);
        // What the container's root writes through it is root's on disk.
        Assert.Equal("0:0", Sandbox.Exec("stat", "-c", "%u:%g", Path.Combine(src, "made-inside")).Ok().Stdout.Trim());
    }

    [Fact]
    public void The_idmap_option_alone_takes_the_containers_mappings_and_ridmap_reaches_submounts()
    {
        using var s = new Sandbox();
        var src = Path.Combine(s.Work, "tree");
        Directory.CreateDirectory(Path.Combine(src, "sub"));
        File.WriteAllText(Path.Combine(src, "top"), "");
        Sandbox.Exec("mount", "-t", "tmpfs", "tmpfs", Path.Combine(src, "sub")).Ok();
        try
        {
            File.WriteAllText(Path.Combine(src, "sub", "below"), "");
            var lines = Run(s, "stat -c '%u' /tmp/top /tmp/sub/below", c =>
            {
                Userns(c);
                c["mounts"]!.AsArray().Add(Mount("/tmp", "bind", src, "rbind", "ridmap"));
            });
            Assert.Equal("0\n0\n", lines);
            // With idmap (not ridmap) only the top mount is idmapped: below it, host root is unmapped here.
            lines = Run(s, "stat -c '%u' /tmp/top /tmp/sub/below", c =>
            {
                Userns(c);
                c["mounts"]!.AsArray().Add(Mount("/tmp", "bind", src, "rbind", "idmap"));
            });
            Assert.Equal("0\n65534\n", lines);
        }
        finally
        {
            Sandbox.Exec("umount", "-l", Path.Combine(src, "sub"));
        }
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/t", "tmpfs", "tmpfs", "idmap")), name: "tmpfs-idmap");
        s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Fails("idmapped mounts");
        var none = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(Mount("/t", "bind", "/tmp", "rbind", "idmap")), name: "no-maps");
        s.Berth("run", "--bundle", none, Sandbox.NewId()).Fails("needs both uidMappings and gidMappings");
    }

    [Fact]
    public void A_symlink_in_the_image_cannot_aim_a_mount_at_the_host()
    {
        using var s = new Sandbox();
        var victim = Path.Combine(s.Work, "victim");
        Directory.CreateDirectory(victim);
        var bundle = s.Bundle(new[] { "true" }, c =>
            c["mounts"]!.AsArray().Add(Mount("/evil/sub", "tmpfs", "tmpfs")));
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "evil"), victim);
        s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
        Assert.Empty(Directory.GetFileSystemEntries(victim));
        // The link was followed inside the rootfs instead.
        Assert.True(Directory.Exists(Path.Combine(bundle, "rootfs", victim.TrimStart('/'), "sub")));
    }

    [Fact]
    public void Dev_has_the_default_devices_configured_devices_and_links()
    {
        using var s = new Sandbox();
        var lines = Run(s,
            "for d in null zero full random urandom tty mydev; do stat -c '%n %F %t:%T %a %u' /dev/$d; done; " +
            "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; ls -d /dev/pts /dev/shm",
            c => c["linux"]!["devices"] = new JsonArray(new JsonObject
            {
                ["path"] = "/dev/mydev", ["type"] = "c", ["major"] = 1, ["minor"] = 5, ["fileMode"] = 0x180, ["uid"] = 7,
            })).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("/dev/null character special file 1:3 666 0", lines[0]);
        Assert.Equal("/dev/zero character special file 1:5 666 0", lines[1]);
        Assert.Equal("/dev/full character special file 1:7 666 0", lines[2]);
        Assert.Equal("/dev/random character special file 1:8 666 0", lines[3]);
        Assert.Equal("/dev/urandom character special file 1:9 666 0", lines[4]);
        Assert.Equal("/dev/tty character special file 5:0 666 0", lines[5]);
        Assert.Equal("/dev/mydev character special file 1:5 600 7", lines[6]);
        Assert.Equal(new[] { "/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx" }, lines[7..12]);
        Assert.Equal(new[] { "/dev/pts", "/dev/shm" }, lines[12..14]);
    }

    [Fact]
    public void Masked_paths_are_empty_and_readonly_paths_refuse_writes()
    {
        using var s = new Sandbox();
        var lines = Run(s,
            "wc -c < /proc/keys; ls -A /sys/firmware | wc -l; (echo 1 > /proc/sys/vm/overcommit_memory) 2>&1; awk '$5 == \"/proc/fs\" {print $6}' /proc/self/mountinfo")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("0", lines[0].Trim());
        Assert.Equal("0", lines[1].Trim());
        Assert.Contains("Read-only file system", lines[2]);
        Assert.StartsWith("ro,", lines[3]);
    }

    [Fact]
    public void Hostname_domainname_and_namespaced_sysctls_are_set_inside_only()
    {
        using var s = new Sandbox();
        var hostForward = File.ReadAllText("/proc/sys/net/ipv4/ip_forward");
        var lines = Run(s, "hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", c =>
        {
            c["hostname"] = "inner";
            c["domainname"] = "example.test";
            c["linux"]!["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = hostForward.Trim() == "1" ? "0" : "1", ["kernel.shmmni"] = "1234" };
        }).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("inner", lines[0]);
        Assert.Equal("example.test", lines[1]);
        Assert.NotEqual(hostForward.Trim(), lines[2]);
        Assert.Equal("1234", lines[3]);
        Assert.Equal(hostForward, File.ReadAllText("/proc/sys/net/ipv4/ip_forward"));
    }

    [Theory]
    [InlineData("kernel.pid_max", "4194304", null)]
    [InlineData("net.ipv4.ip_forward", "1", "network")]
    [InlineData("kernel.shmmni", "10", "ipc")]
    [InlineData("vm.swappiness", "10", null)]
    public void A_sysctl_that_would_change_the_host_is_refused(string key, string value, string? dropNamespace)
    {
        using var s = new Sandbox();
        var before = File.ReadAllText("/proc/sys/" + key.Replace('.', '/'));
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            c["linux"]!["sysctl"] = new JsonObject { [key] = value };
            if (dropNamespace is not null)
                c["linux"]!["namespaces"] = new JsonArray(Sandbox.Namespaces(c).Where(n => (string)n!["type"]! != dropNamespace).Select(n => n!.DeepClone()).ToArray());
        });
        s.Berth("create", "--bundle", bundle, id).Fails($"linux.sysctl[\"{key}\"]");
        Assert.Equal(before, File.ReadAllText("/proc/sys/" + key.Replace('.', '/')));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    [Fact]
    public void No_pivot_moves_the_root_and_cwd_is_created()
    {
        using var s = new Sandbox();
        var lines = Run(s, "pwd; ls /; cat /proc/self/mountinfo | wc -l", c => c["process"]!["cwd"] = "/work/here", "--no-pivot")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("/work/here", lines[0]);
        Assert.Contains("bin", lines);
    }

    [Fact]
    public void Rootfs_propagation_is_applied_to_the_containers_root()
    {
        using var s = new Sandbox();
        string RootLine(string prop) => Run(s, "awk '$5 == \"/\"' /proc/self/mountinfo", c => c["linux"]!["rootfsPropagation"] = prop);
        Assert.Contains("shared:", RootLine("rshared"));
        Assert.DoesNotContain("shared:", RootLine("rprivate"));
    }
}
