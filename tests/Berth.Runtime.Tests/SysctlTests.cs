using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// linux.sysctl is judged by the identity of the namespace the container will be in (nsfs
/// device and inode), never by the text of the path that named it: every spelling of the
/// host's namespace is refused, for every namespaced family, and another container's
/// namespace is accepted (the write lands there, not on the host).
/// </summary>
public class SysctlTests
{
    /// <summary>family → (runtime-spec namespace type, /proc/PID/ns name, a key, two values to flip between).</summary>
    public static readonly Dictionary<string, (string Type, string Proc, string Key, string A, string B)> Families = new()
    {
        ["net"] = ("network", "net", "net.ipv4.ip_forward", "0", "1"),
        ["ipc"] = ("ipc", "ipc", "kernel.shmmni", "4000", "4001"),
        ["mqueue"] = ("ipc", "ipc", "fs.mqueue.msg_max", "11", "12"),
        ["uts"] = ("uts", "uts", "kernel.domainname", "berth.one", "berth.two"),
    };

    static string ProcFile(string key) => "/proc/sys/" + key.Replace('.', '/');

    static void JoinAt(JsonObject c, string type, string path)
    {
        foreach (var n in Sandbox.Namespaces(c))
            if ((string)n!["type"]! == type) n["path"] = path;
        c.Remove("hostname");
    }

    public static TheoryData<string, string> HostSpellings()
    {
        var data = new TheoryData<string, string>();
        foreach (var family in Families.Keys)
            foreach (var spelling in new[] { "self", "thread-self", "pid1", "pid2", "test-process", "bind-mount", "symlink" })
                data.Add(family, spelling);
        return data;
    }

    [Theory]
    [MemberData(nameof(HostSpellings))]
    public void A_sysctl_in_the_hosts_namespace_is_refused_however_its_path_is_spelled(string family, string spelling)
    {
        var (type, proc, key, a, b) = Families[family];
        using var s = new Sandbox();
        var before = File.ReadAllText(ProcFile(key));
        var alias = Path.Combine(s.Work, "ns-alias");
        string path = spelling switch
        {
            "self" => $"/proc/self/ns/{proc}",
            "thread-self" => $"/proc/thread-self/ns/{proc}",
            "pid1" => $"/proc/1/ns/{proc}",
            "pid2" => $"/proc/2/ns/{proc}",
            "test-process" => $"/proc/{Environment.ProcessId}/ns/{proc}",
            _ => alias,
        };
        if (spelling == "bind-mount")
        {
            File.WriteAllText(alias, "");
            Sandbox.Exec("mount", "--bind", $"/proc/self/ns/{proc}", alias).Ok();
        }
        else if (spelling == "symlink")
        {
            File.CreateSymbolicLink(alias, $"/proc/self/ns/{proc}");
        }
        try
        {
            var id = Sandbox.NewId();
            var bundle = s.Bundle(new[] { "true" }, c =>
            {
                JoinAt(c, type, path);
                c["linux"]!["sysctl"] = new JsonObject { [key] = before.Trim() == a ? b : a };
            });
            var r = s.Berth("create", "--bundle", bundle, id);
            // On this VM pid 1 (process_api) refuses even root a look at its namespaces: then the
            // path itself is refused, which keeps the host as safe.
            if (spelling == "pid1" && !Linux.Files.TryStat(null, path, follow: true, out _, out _))
                r.Fails("linux.namespaces[");
            else
                Assert.Contains($"{type} namespace is the host's", r.Fails($"linux.sysctl[\"{key}\"]").Stderr);
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Equal(before, File.ReadAllText(ProcFile(key)));
            Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        }
        finally
        {
            if (spelling == "bind-mount") Sandbox.Exec("umount", alias);
        }
    }

    [Theory]
    [InlineData("net")]
    [InlineData("ipc")]
    [InlineData("mqueue")]
    [InlineData("uts")]
    public void A_sysctl_in_another_containers_namespace_is_applied_there_and_not_on_the_host(string family)
    {
        var (type, proc, key, a, b) = Families[family];
        using var s = new Sandbox();
        var before = File.ReadAllText(ProcFile(key));
        var first = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }, name: "first"), first).Ok();
        int pid = (int)s.State(first)["pid"]!;
        var value = before.Trim() == a ? b : a;
        var bundle = s.Bundle(new[] { "cat", ProcFile(key) }, c =>
        {
            JoinAt(c, type, $"/proc/{pid}/ns/{proc}");
            c["linux"]!["sysctl"] = new JsonObject { [key] = value };
        }, name: "second");
        Assert.Equal(value, s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Trim());
        // The first container sees the value: the write went to the namespace that was judged.
        Assert.Equal(value, s.Berth("exec", first, "cat", ProcFile(key)).Ok().Stdout.Trim());
        Assert.Equal(before, File.ReadAllText(ProcFile(key)));
    }

    [Theory]
    [InlineData("net")]
    [InlineData("ipc")]
    [InlineData("uts")]
    public void A_sysctl_without_its_namespace_in_the_config_is_refused(string family)
    {
        var (type, _, key, a, b) = Families[family];
        using var s = new Sandbox();
        var before = File.ReadAllText(ProcFile(key));
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            c["linux"]!["namespaces"] = new JsonArray(Sandbox.Namespaces(c).Where(n => (string)n!["type"]! != type).Select(n => n!.DeepClone()).ToArray());
            c.Remove("hostname");
            c["linux"]!["sysctl"] = new JsonObject { [key] = before.Trim() == a ? b : a };
        });
        s.Berth("create", "--bundle", bundle, id).Fails($"linux.sysctl[\"{key}\"]");
        Assert.Equal(before, File.ReadAllText(ProcFile(key)));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    [Fact]
    public void A_namespace_path_that_is_a_fifo_or_a_device_is_refused_without_blocking()
    {
        using var s = new Sandbox();
        var fifo = Path.Combine(s.Work, "fifo");
        Sandbox.Exec("mkfifo", fifo).Ok();
        var zero = Path.Combine(s.Work, "zero");
        File.CreateSymbolicLink(zero, "/dev/zero");
        foreach (var path in new[] { fifo, zero, "/dev/null", s.Work })
        {
            var id = Sandbox.NewId();
            var r = s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => JoinAt(c, "network", path), name: Sandbox.NewId("b")), id)
                .Fails("linux.namespaces[");
            Assert.Contains("not a namespace file", r.Stderr);
            Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        }
    }
}
