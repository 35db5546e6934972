using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>`update` rewrites the container's stored config.json: what Berth does not model survives it.</summary>
public class UpdateConfigTests
{
    [Fact]
    public void Update_keeps_every_field_berth_does_not_model_at_every_depth()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var (major, minor) = BlockDevice();
        var bundle = s.Bundle(new[] { "sleep", "60" }, c =>
        {
            c["x-root"] = new JsonObject { ["nested"] = new JsonArray(1, new JsonObject { ["deep"] = true }) };
            c["annotations"] = new JsonObject { ["org.example.keep"] = "yes", ["com.vendor/other"] = "1" };
            c["process"]!["x-process"] = "p";
            c["process"]!["capabilities"]!["x-caps"] = 7;
            c["root"]!["x-root-path"] = 1.5;
            c["mounts"]![0]!["x-mount"] = new JsonObject { ["m"] = new JsonArray("a", "b") };
            c["linux"]!["x-linux"] = "l";
            c["linux"]!["namespaces"]![0]!["x-ns"] = false;
            var r = c["linux"]!["resources"]!.AsObject();
            r["x-resources"] = new JsonObject { ["future"] = 1 };
            r["memory"] = new JsonObject { ["limit"] = 64L << 20, ["x-memory"] = -1 };
            r["pids"] = new JsonObject { ["limit"] = 50, ["x-pids"] = "q" };
            r["blockIO"] = new JsonObject
            {
                ["x-blkio"] = 1,
                ["throttleReadBpsDevice"] = new JsonArray(new JsonObject { ["major"] = major, ["minor"] = minor, ["rate"] = 100, ["x-td"] = true }),
            };
            r["devices"]![0]!["x-dev"] = 2;
        });
        s.Berth("create", "--bundle", bundle, id).Ok();
        var stored = Path.Join(s.Root, id, "config.json");
        var before = JsonNode.Parse(File.ReadAllText(stored))!;
        Assert.Equal("p", (string)before["process"]!["x-process"]!);

        s.Berth("update", "--memory", "96m", "--pids-limit", "60", id).Ok();
        File.WriteAllText(Path.Join(s.Work, "r.json"), $$"""{"blockIO":{"throttleReadBpsDevice":[{"major":{{major}},"minor":{{minor}},"rate":200}]},"x-update":1}""");
        s.Berth("update", "-r", Path.Join(s.Work, "r.json"), id).Ok();

        var expected = before.DeepClone();
        var resources = expected["linux"]!["resources"]!;
        resources["memory"]!["limit"] = 96L << 20;
        resources["pids"]!["limit"] = 60;
        resources["blockIO"]!["throttleReadBpsDevice"]![0]!["rate"] = 200;
        var after = JsonNode.Parse(File.ReadAllText(stored))!;
        Assert.True(JsonNode.DeepEquals(expected, after), $"stored config after update:\n{after.ToJsonString()}");
    }

    /// <summary>A disk of this machine (blkio throttles need a real device), as major:minor.</summary>
    static (int Major, int Minor) BlockDevice()
    {
        var name = Directory.EnumerateDirectories("/sys/block").Select(Path.GetFileName)
            .OrderBy(n => n!.StartsWith("loop") || n.StartsWith("zram") || n.StartsWith("ram")).First();
        var mm = File.ReadAllText($"/sys/block/{name}/dev").Trim().Split(':');
        return (int.Parse(mm[0]), int.Parse(mm[1]));
    }
}
