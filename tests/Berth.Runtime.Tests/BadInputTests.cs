using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>Bad input: one line naming the field or path, a non-zero exit, nothing left behind.</summary>
public class BadInputTests
{
    static void NothingLeft(Sandbox s, string id)
    {
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)), "state directory left behind");
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
        Assert.DoesNotContain(Directory.Exists(s.Root) ? Directory.GetDirectories(s.Root) : Array.Empty<string>(), d => Path.GetFileName(d).StartsWith(".new-"));
    }

    static void OneLine(Result r) => Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public void A_missing_rootfs_is_named()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["root"]!["path"] = "nowhere");
        var r = s.Berth("create", "--bundle", bundle, id).Fails("root.path");
        Assert.Contains("nowhere", r.Stderr);
        OneLine(r);
        NothingLeft(s, id);
    }

    [Fact]
    public void A_missing_executable_fails_create_and_leaves_nothing()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--bundle", s.Bundle(new[] { "no-such-binary" }), id).Fails("executable file not found");
        OneLine(r);
        NothingLeft(s, id);
    }

    [Fact]
    public void A_mount_that_fails_names_the_destination_and_leaves_nothing()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/broken", ["type"] = "nosuchfs", ["source"] = "none",
        }));
        var r = s.Berth("create", "--bundle", bundle, id).Fails("/broken");
        Assert.Contains("ENODEV", r.Stderr);
        OneLine(r);
        NothingLeft(s, id);
    }

    [Fact]
    public void A_wrong_type_in_config_names_the_field_and_leaves_nothing()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c => c["process"]!["cwd"] = 7);
        var r = s.Berth("create", "--bundle", bundle, id).Fails("process.cwd");
        OneLine(r);
        NothingLeft(s, id);
    }

    [Fact]
    public void A_missing_bundle_is_named()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--bundle", Path.Combine(s.Work, "nope"), id).Fails("config.json");
        OneLine(r);
        NothingLeft(s, id);
    }

    [Fact]
    public void Unknown_flags_and_commands_are_usage_errors()
    {
        using var s = new Sandbox();
        s.Berth("create", "--bogus", "x").Fails("unknown flag: --bogus");
        s.Berth("frobnicate").Fails("unknown command");
        s.Berth("state").Fails("a container id is required");
    }
}

public class CliTests
{
    [Fact]
    public void Version_has_runcs_layout()
    {
        var lines = Sandbox.Exec(Sandbox.Binary, "--version").Ok().Stdout.Split('\n');
        Assert.Matches(@"^berth-runtime version \d+\.\d+\.\d+", lines[0]);
        Assert.StartsWith("commit: ", lines[1]);
        Assert.Equal("spec: 1.2.0", lines[2]);
    }

    [Fact]
    public void Json_log_format_writes_one_object_per_line_as_go_runc_reads_it()
    {
        using var s = new Sandbox();
        var log = Path.Combine(s.Work, "log.json");
        Sandbox.Exec(Sandbox.Binary, "--root", s.Root, "--log", log, "--log-format", "json", "state", "missing").Fails("does not exist");
        var line = JsonNode.Parse(File.ReadAllLines(log).Single())!.AsObject();
        Assert.Equal("error", (string)line["level"]!);
        Assert.Contains("does not exist", (string)line["msg"]!);
        Assert.True(DateTime.TryParse((string)line["time"]!, out _));
    }
}
