using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>Known container escapes, each attempted and required to fail.</summary>
public class CveTests
{
    static JsonArray Without(JsonObject c, string type) =>
        new(Sandbox.Namespaces(c).Where(n => (string)n!["type"]! != type).Select(n => n!.DeepClone()).ToArray());

    /// <summary>CVE-2019-5736, from inside: a container sharing the host's pid namespace cannot open berth's exe.</summary>
    [Fact]
    public void A_container_process_cannot_open_a_running_berth_exec_for_writing()
    {
        using var s = new Sandbox();
        var shared = Path.Combine(s.Work, "shared");
        Directory.CreateDirectory(shared);
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sh", "-c",
            "while [ ! -s /shared/pid ]; do sleep 0.02; done; p=$(cat /shared/pid); " +
            "(exec 3>/proc/$p/exe) 2>/shared/write-error && echo opened > /shared/result || echo denied > /shared/result; " +
            "readlink /proc/$p/exe > /shared/link 2>&1; sleep 60" }, c =>
        {
            c["linux"]!["namespaces"] = Without(c, "pid");
            c["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = "/shared", ["type"] = "bind", ["source"] = shared, ["options"] = new JsonArray("bind") });
        });
        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        using var exec = s.Start("exec", id, "sleep", "5");
        File.WriteAllText(Path.Combine(shared, "pid.tmp"), exec.Id.ToString());
        File.Move(Path.Combine(shared, "pid.tmp"), Path.Combine(shared, "pid"));
        // The shell creates the file before it writes the answer: wait for the answer.
        KillDeleteTests.WaitUntil(() => File.Exists(Path.Combine(shared, "result")) && new FileInfo(Path.Combine(shared, "result")).Length > 0);
        Assert.Equal("denied\n", File.ReadAllText(Path.Combine(shared, "result")));
        Assert.Contains("Permission denied", File.ReadAllText(Path.Combine(shared, "write-error")));
        exec.Kill();
    }

    /// <summary>CVE-2024-21626: no descriptor of the host reaches the container, by run or by exec.</summary>
    [Fact]
    public void No_host_descriptor_leaks_into_the_container()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "ls -l /proc/self/fd/ | grep -v ' 0 -> \\| 1 -> \\| 2 -> ' | tail -n +2; sleep 60" });
        var id = Sandbox.NewId();
        // Extra descriptors open in the caller (a host directory among them) must not get through.
        var r = Sandbox.Exec("/bin/sh", "-c", $"exec 5</ 6<{s.Work}; exec \"$0\" --root {s.Root} run --detach --bundle {bundle} {id}", Sandbox.Binary).Ok();
        var viaExec = Sandbox.Exec("/bin/sh", "-c", $"exec 5</ 6<{s.Work}; exec \"$0\" --root {s.Root} exec {id} ls /proc/self/fd", Sandbox.Binary).Ok().Stdout;
        Assert.Equal(new[] { "0", "1", "2", "3" }, viaExec.Split('\n', StringSplitOptions.RemoveEmptyEntries)); // 3: ls's own directory fd
    }

    /// <summary>CVE-2024-21626: a cwd through an inherited descriptor must not land outside the root.</summary>
    [Theory]
    [InlineData("/proc/self/fd/3")]
    [InlineData("/proc/self/fd/4")]
    [InlineData("/proc/self/fd/5")]
    [InlineData("/proc/self/fd/6")]
    [InlineData("/proc/self/fd/7")]
    [InlineData("/proc/self/cwd")]
    public void A_cwd_through_a_descriptor_never_starts_the_process_outside_its_root(string cwd)
    {
        using var s = new Sandbox();
        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", "pwd; ls /" }, c => c["process"]!["cwd"] = cwd), Sandbox.NewId());
        if (r.ExitCode == 0)
        {
            var lines = r.Stdout.Split('\n');
            Assert.DoesNotContain(s.Work, lines[0]);
            Assert.DoesNotContain("(unreachable)", lines[0]);
        }
        else
        {
            Assert.StartsWith("berth: ", r.Stderr);
        }
    }

    /// <summary>CVE-2025-31133: a /dev/null that is not the null device cannot be used to "mask" a path.</summary>
    [Fact]
    public void A_fake_dev_null_is_refused_as_the_source_of_masked_paths()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
            c["mounts"] = new JsonArray(c["mounts"]!.AsArray().Where(m => !((string)m!["destination"]!).StartsWith("/dev")).Select(m => m!.DeepClone()).ToArray()));
        // The image ships /dev/null as a regular file (it could as well point at a host secret).
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "dev"));
        File.WriteAllText(Path.Combine(bundle, "rootfs", "dev", "null"), "not a device");
        s.Berth("create", "--bundle", bundle, id).Fails("/dev/null is not the null device");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    /// <summary>
    /// CVE-2025-52881 class: a mount over a procfs file cannot redirect init's writes. mounts[]
    /// cannot place one there (runc's /proc rule refuses it before anything runs); a
    /// createContainer hook can, and then init's checked /proc refuses to write through it.
    /// </summary>
    [Theory]
    [InlineData("oom", "/proc/1/oom_score_adj", false)]
    [InlineData("sysctl", "/proc/sys/net/ipv4/ip_forward", false)]
    [InlineData("oom", "/proc/1/oom_score_adj", true)]
    [InlineData("sysctl", "/proc/sys/net/ipv4/ip_forward", true)]
    public void A_mount_over_a_procfs_file_cannot_redirect_inits_writes(string what, string target, bool byHook)
    {
        using var s = new Sandbox();
        var decoy = Path.Combine(s.Work, "decoy");
        File.WriteAllText(decoy, "untouched");
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            if (byHook)
                c["hooks"] = new JsonObject
                {
                    // Before pivot_root, in the container's mount namespace: rootfs/proc is the container's procfs.
                    ["createContainer"] = new JsonArray(new JsonObject
                    {
                        ["path"] = "/bin/sh",
                        ["args"] = new JsonArray("sh", "-c", $"mount --bind {decoy} {Path.Combine(s.Work, "bundle", "rootfs")}{target}"),
                    }),
                };
            else
                c["mounts"]!.AsArray().Add(new JsonObject { ["destination"] = target, ["type"] = "bind", ["source"] = decoy, ["options"] = new JsonArray("bind") });
            if (what == "oom") c["process"]!["oomScoreAdj"] = 500;
            else c["linux"]!["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1" };
            // The readonly remount of /proc/sys would stop the sysctl write anyway; take it away to test the check itself.
            c["linux"]!["readonlyPaths"] = new JsonArray();
        });
        s.Berth("create", "--bundle", bundle, id).Fails(byHook ? "has something mounted over it" : "is inside /proc");
        Assert.Equal("untouched", File.ReadAllText(decoy));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    /// <summary>A rootfs whose /proc, /sys and /dev are symlinks to host paths: mounts land inside the rootfs.</summary>
    [Fact]
    public void Symlinked_proc_sys_and_dev_in_the_image_cannot_reach_the_host()
    {
        using var s = new Sandbox();
        var victims = new[] { "proc", "sys", "dev" }.ToDictionary(n => n, n => Path.Combine(s.Work, "victim-" + n));
        foreach (var v in victims.Values) Directory.CreateDirectory(v);
        var bundle = s.Bundle(new[] { "sh", "-c", "ls /proc/self/status /dev/null >/dev/null && echo fine" });
        foreach (var (name, victim) in victims)
        {
            Directory.Delete(Path.Combine(bundle, "rootfs", name));
            File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", name), victim);
        }
        var r = s.Berth("run", "--bundle", bundle, Sandbox.NewId());
        foreach (var v in victims.Values) Assert.Empty(Directory.GetFileSystemEntries(v));
        Assert.DoesNotContain(s.Work + "/victim", File.ReadAllText("/proc/self/mountinfo"));
        Assert.Equal("fine\n", r.Ok().Stdout);
    }
}

/// <summary>Serial: no other berth may be running, or the kernel answers ETXTBSY before EROFS.</summary>
[Collection("serial")]
public class ExecutableProtectionTests
{
    /// <summary>
    /// CVE-2019-5736, the attack's own sequence: hold /proc/&lt;init&gt;/exe open while init runs,
    /// wait for it to be gone, then reopen that handle for writing. On the host's binary that
    /// succeeds; init runs from a read-only view of it, so the write must fail.
    /// </summary>
    [Fact]
    public void Inits_executable_cannot_be_reopened_for_writing_after_it_exits()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }), id).Ok();
        var pid = (int)s.State(id)["pid"]!;
        using var exe = Linux.Files.Open($"/proc/{pid}/exe", Linux.O.PATH);
        Assert.True(Linux.Files.Fstat(exe).IsRegular);
        s.Berth("delete", "--force", id).Ok();
        var e = Assert.Throws<Linux.LinuxException>(() => Linux.Files.Open(exe.ProcPath, Linux.O.WRONLY).Dispose());
        // EROFS: the view is read-only. (ETXTBSY would only say that some berth is running.)
        Assert.Equal(Linux.Errno.EROFS, e.Errno);
        // The binary itself is untouched and still writable by the host: the protection is the view.
        Assert.Equal(Linux.Files.Fstat(exe).Ino, Linux.Files.Stat(null, Sandbox.Binary).Ino);
    }
}
