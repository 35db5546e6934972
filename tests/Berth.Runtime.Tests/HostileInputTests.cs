using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// Input that used to crash or hang Berth — bytes that are not UTF-8, a FIFO or /dev/zero where
/// a file should be, a config of tens of megabytes, limits too small for init — now either
/// works or fails with one line, a non-zero exit and nothing left behind.
/// </summary>
public class HostileInputTests
{
    static void OneLine(Result r)
    {
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("berth: ", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    static void NothingLeft(Sandbox s, string id)
    {
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)), "state directory left behind");
        Assert.Empty(Directory.Exists(s.Root) ? Directory.GetFileSystemEntries(s.Root).Where(e => !e.EndsWith("/.cache")) : Array.Empty<string>());
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
    }

    [Fact]
    public void Invalid_utf8_in_config_json_is_one_line_naming_the_file()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" });
        var path = Path.Combine(bundle, "config.json");
        var bytes = File.ReadAllBytes(path);
        int at = Array.IndexOf(bytes, (byte)'t', Encoding.UTF8.GetString(bytes).IndexOf("\"true\"", StringComparison.Ordinal));
        bytes[at] = 0xff;
        File.WriteAllBytes(path, bytes);
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--bundle", bundle, id);
        OneLine(r);
        Assert.Contains($"config.json: invalid UTF-8 at byte {at}", r.Stderr);
        NothingLeft(s, id);
    }

    /// <summary>What can sit where a file is expected: a FIFO (an open would block), a link to /dev/zero (a read would never end), a directory.</summary>
    static void Plant(string path, string what)
    {
        if (File.Exists(path) || Directory.Exists(path)) File.Delete(path);
        switch (what)
        {
            case "fifo": Sandbox.Exec("mkfifo", path).Ok(); break;
            case "zero": File.CreateSymbolicLink(path, "/dev/zero"); break;
            case "dir": Directory.CreateDirectory(path); break;
            case "huge":
                using (var f = File.Create(path)) f.SetLength(65L << 20); // sparse: 64 MiB of zeros and more
                File.AppendAllText(path, "x");
                break;
        }
    }

    [Theory]
    [InlineData("fifo", "is a FIFO, not a regular file")]
    [InlineData("zero", "is a character device, not a regular file")]
    [InlineData("dir", "is a directory, not a regular file")]
    [InlineData("huge", "is larger than 67108864 bytes")]
    public void Something_else_in_place_of_config_json_is_refused_without_hanging(string what, string message)
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" });
        Plant(Path.Combine(bundle, "config.json"), what);
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--bundle", bundle, id);
        OneLine(r);
        Assert.Contains("config.json", r.Stderr);
        Assert.Contains(message, r.Stderr);
        NothingLeft(s, id);
    }

    [Theory]
    [InlineData("fifo", "is a FIFO")]
    [InlineData("zero", "is a character device")]
    [InlineData("huge", "is larger than")]
    public void Something_else_in_place_of_a_process_json_is_refused_without_hanging(string what, string message)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        var process = Path.Combine(s.Work, "process.json");
        Plant(process, what);
        var r = s.Berth("exec", "--process", process, id);
        OneLine(r);
        Assert.Contains("--process", r.Stderr);
        Assert.Contains(message, r.Stderr);
    }

    [Theory]
    [InlineData("state.json", "fifo")]
    [InlineData("state.json", "zero")]
    [InlineData("config.json", "fifo")]
    [InlineData("config.json", "zero")]
    public void A_damaged_state_directory_never_hangs_a_command_and_delete_force_clears_it(string file, string what)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        int pid = (int)s.State(id)["pid"]!;
        Plant(Path.Combine(s.Root, id, file), what);
        // Each returns (the test's runner gives up after 120 s); none prints a stack trace.
        foreach (var args in new[] { new[] { "state", id }, new[] { "list" }, new[] { "exec", id, "true" }, new[] { "kill", id, "KILL" }, new[] { "start", id } })
        {
            var r = s.Berth(args);
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.True(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, r.Stderr);
        }
        s.Berth("delete", "--force", id).Ok();
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        // Without its record nothing knows the container's pid or cgroups: the test cleans up what it broke.
        Sandbox.Exec("kill", "-9", pid.ToString());
        KillDeleteTests.WaitUntil(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z"));
        foreach (var d in HostCgroups.DirsFor(id).Where(Directory.Exists))
            KillDeleteTests.WaitUntil(() => { try { Directory.Delete(d); return true; } catch (IOException) { return false; } });
    }

    [Fact]
    public void A_fifty_megabyte_config_runs()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sh", "-c", "echo ran" }, c =>
        {
            var annotations = new JsonObject();
            var value = new string('v', 1000);
            for (int i = 0; i < 50_000; i++) annotations[$"berth.test/{i}"] = value;
            c["annotations"] = annotations;
        });
        Assert.True(new FileInfo(Path.Combine(bundle, "config.json")).Length > 50_000_000);
        Assert.Equal("ran\n", s.Berth("run", "--bundle", bundle, id).Ok().Stdout);
        NothingLeft(s, id);
    }

    [Fact]
    public void An_environment_too_large_for_execve_fails_create_with_one_line()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            var env = c["process"]!["env"]!.AsArray();
            for (int i = 0; i < 20_000; i++) env.Add($"BIG{i}={new string('x', 500)}");
        });
        var r = s.Berth("create", "--bundle", bundle, id);
        OneLine(r);
        Assert.Contains("E2BIG", r.Stderr);
        NothingLeft(s, id);

        var one = s.Bundle(new[] { "true" }, c => c["process"]!["env"]!.AsArray().Add("ONE=" + new string('y', 200_000)), name: "one");
        r = s.Berth("create", "--bundle", one, id);
        OneLine(r);
        Assert.Contains("MAX_ARG_STRLEN", r.Stderr);
        NothingLeft(s, id);
    }

    [Fact]
    public void Limits_too_small_for_init_are_the_processs_limits()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "ulimit -v; ulimit -s; ulimit -d; ulimit -n; echo ok" }, c =>
            c["process"]!["rlimits"] = new JsonArray(
                new JsonObject { ["type"] = "RLIMIT_AS", ["soft"] = 16 << 20, ["hard"] = 16 << 20 },
                new JsonObject { ["type"] = "RLIMIT_STACK", ["soft"] = 64 << 10, ["hard"] = 64 << 10 },
                new JsonObject { ["type"] = "RLIMIT_DATA", ["soft"] = 8 << 20, ["hard"] = 8 << 20 },
                new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 16, ["hard"] = 16 }));
        var id = Sandbox.NewId();
        var r = s.Berth("run", "--keep", "--bundle", bundle, id).Ok();
        Assert.Equal(new[] { "16384", "64", "8192", "16", "ok" }, r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // The same limits hold for a process exec'd into a container with them.
        var running = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }, c => c["process"]!["rlimits"] = new JsonArray(
            new JsonObject { ["type"] = "RLIMIT_AS", ["soft"] = 16 << 20, ["hard"] = 16 << 20 }), name: "exec"), running).Ok();
        Assert.Equal("16384\n", s.Berth("exec", running, "sh", "-c", "ulimit -v").Ok().Stdout);
    }

    [Fact]
    public void A_hard_limit_above_the_runtimes_is_still_refused_at_create()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        // This VM's bounding set lacks CAP_SYS_RESOURCE: the hard NOFILE limit (20000) cannot be raised.
        var bundle = s.Bundle(new[] { "true" }, c => c["process"]!["rlimits"] = new JsonArray(
            new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 1024, ["hard"] = 1 << 30 }));
        var r = s.Berth("create", "--bundle", bundle, id);
        OneLine(r);
        Assert.Contains("process.rlimits[0] RLIMIT_NOFILE", r.Stderr);
        NothingLeft(s, id);
    }

    [Fact]
    public void Preserve_fds_naming_a_closed_descriptor_is_one_line()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--preserve-fds", "1000", "--bundle", s.Bundle(new[] { "true" }), id);
        OneLine(r);
        Assert.Contains("--preserve-fds", r.Stderr);
        NothingLeft(s, id);
    }
}
