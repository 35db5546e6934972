using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// A seccomp profile too large for the kernel is refused at once, naming the field; the
/// program cache stays within its bounds and never fails a container.
/// </summary>
public class SeccompLimitTests
{
    static JsonObject Profile(int rules, int salt = 0)
    {
        var syscalls = new JsonArray();
        for (int i = 0; i < rules; i++)
            syscalls.Add(new JsonObject
            {
                ["names"] = new JsonArray("getcpu"), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 1 + (i + salt) % 4000,
                ["args"] = new JsonArray(new JsonObject { ["index"] = 0, ["value"] = i + salt, ["op"] = "SCMP_CMP_EQ" }),
            });
        return new JsonObject { ["defaultAction"] = "SCMP_ACT_ALLOW", ["syscalls"] = syscalls };
    }

    [Fact]
    public void A_profile_with_more_rules_than_a_filter_can_hold_is_refused_before_compiling()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = Profile(50_000));
        var r = s.Berth("create", "--bundle", bundle, id).Fails("linux.seccomp.syscalls: 50000 rules");
        Assert.Contains("4096", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.False(Directory.Exists(Path.Combine(s.Root, ".cache", "seccomp")) && Directory.GetFiles(Path.Combine(s.Root, ".cache", "seccomp")).Length > 0);
    }

    [Fact]
    public void A_profile_within_the_rule_limit_but_compiling_past_the_kernels_is_refused_naming_the_field()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        // 4000 rules with a condition each compile to far more than 4096 instructions.
        var r = s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = Profile(4000)), id);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("linux.seccomp: the compiled filter has", r.Stderr);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    /// <summary>A create that compiles (and caches) the profile and then fails before anything is spawned: a namespace path that does not exist.</summary>
    static void CompileOnly(Sandbox s, JsonObject profile, string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        var c = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        c["linux"]!["seccomp"] = profile;
        foreach (var n in Sandbox.Namespaces(c))
            if ((string)n!["type"]! == "network") n["path"] = "/nonexistent/ns";
        File.WriteAllText(path, c.ToJsonString());
        s.Berth("create", "--bundle", bundle, Sandbox.NewId()).Fails("linux.namespaces[");
    }

    [Fact]
    public void The_program_cache_keeps_within_its_entry_and_size_bounds()
    {
        using var s = new Sandbox();
        var cache = Path.Combine(s.Root, ".cache", "seccomp");
        var bundle = s.Bundle(new[] { "true" });
        for (int i = 0; i < 80; i++) CompileOnly(s, Profile(20, salt: i * 100), bundle);
        var entries = Directory.GetFiles(cache);
        Assert.InRange(entries.Length, 1, 64);
        Assert.True(entries.Sum(e => new FileInfo(e).Length) <= 4L << 20);
        Assert.DoesNotContain(entries, e => e.EndsWith(".tmp"));
        // The newest survived eviction: it is used from the cache (no second entry is written for it).
        CompileOnly(s, Profile(20, salt: 79 * 100), bundle);
        Assert.Equal(entries.Order(), Directory.GetFiles(cache).Order());
    }

    [Theory]
    [InlineData("immutable")]
    [InlineData("fifo-entry")]
    [InlineData("file-instead-of-dir")]
    public void A_cache_that_cannot_be_read_or_written_never_fails_a_container(string damage)
    {
        using var s = new Sandbox();
        var profile = Profile(3);
        var cacheRoot = Path.Combine(s.Root, ".cache");
        var cache = Path.Combine(cacheRoot, "seccomp");
        s.Berth("run", "--bundle", s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = profile.DeepClone(), name: "first"), Sandbox.NewId()).Ok();
        var entry = Directory.GetFiles(cache).Single();
        switch (damage)
        {
            case "immutable":
                File.Delete(entry);
                Sandbox.Exec("chattr", "+i", cache).Ok();
                break;
            case "fifo-entry":
                File.Delete(entry);
                Sandbox.Exec("mkfifo", entry).Ok();
                break;
            default:
                Directory.Delete(cacheRoot, recursive: true);
                File.WriteAllText(cacheRoot, "not a directory");
                break;
        }
        try
        {
            var bundle = s.Bundle(new[] { "sh", "-c", "grep Seccomp: /proc/self/status" }, c => c["linux"]!["seccomp"] = profile.DeepClone(), name: "second");
            var r = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
            Assert.Matches(@"Seccomp:\s+2", r.Stdout);
            Assert.Equal("", r.Stderr);
        }
        finally
        {
            if (damage == "immutable") Sandbox.Exec("chattr", "-i", cache).Ok();
        }
    }
}
