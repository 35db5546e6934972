using Xunit;

namespace Berth.Engine.Tests.Network;

/// <summary>`berth network …` as a user types it (out/berth), in private store and config dirs.</summary>
public class NetworkCliTests
{
    [Fact]
    public void Create_ls_inspect_rm_and_prune()
    {
        using var f = new NetworkFixture();
        string[] O(params string[] a) => a.Concat(new[] { "--store", f.Root, "--network-config-dir", f.ConfigDir }).ToArray();
        var berth = Commands.Binary;

        Assert.Equal("cli1\n", Commands.Exec(berth, O("network", "create", "--subnet", f.Subnet, "--interface-name", f.Bridge, "--label", "team=net", "cli1")).Ok().Stdout);
        var ls = Commands.Exec(berth, O("network", "ls")).Ok().Stdout;
        Assert.Contains($"cli1                 bridge   {f.Subnet}", ls);
        Assert.Contains("berth                bridge   10.88.0.0/16", ls);
        Assert.Equal("berth\ncli1\n", Commands.Exec(berth, O("network", "ls", "-q")).Ok().Stdout);
        var json = Commands.Exec(berth, O("network", "ls", "--format", "json")).Ok().Stdout;
        using (var doc = System.Text.Json.JsonDocument.Parse(json))
            Assert.Equal("net", doc.RootElement[1].GetProperty("labels").GetProperty("team").GetString());
        var inspect = Commands.Exec(berth, O("network", "inspect", "cli1")).Ok().Stdout;
        Assert.Contains($"\"bridge\": \"{f.Bridge}\"", inspect);
        Assert.Contains("\"plugins\": [", inspect);

        // The conflist is what any CNI runtime reads.
        var conflist = File.ReadAllText(Path.Combine(f.ConfigDir, "cli1.conflist"));
        Assert.Contains("\"type\": \"host-local\"", conflist);
        Assert.Contains("\"portMappings\": true", conflist);

        Assert.Equal("cli1\n", Commands.Exec(berth, O("network", "rm", "cli1")).Ok().Stdout);
        Commands.Exec(berth, O("network", "create", "--subnet", f.Subnet, "--interface-name", f.Bridge, "unused")).Ok();
        Assert.Equal("unused\n", Commands.Exec(berth, O("network", "prune")).Ok().Stdout);
        Assert.Equal("berth\n", Commands.Exec(berth, O("network", "ls", "-q")).Ok().Stdout);
    }

    [Fact]
    public void Bad_input_is_one_line_and_leaves_nothing()
    {
        using var f = new NetworkFixture();
        string[] O(params string[] a) => a.Concat(new[] { "--store", f.Root, "--network-config-dir", f.ConfigDir }).ToArray();
        var berth = Commands.Binary;
        Commands.Exec(berth, O("network", "create", "--subnet", f.Subnet, "--interface-name", f.Bridge, "taken")).Ok();
        var before = Directory.GetFiles(f.ConfigDir).Order().ToList();

        Commands.Exec(berth, O("network", "create", "--subnet", "10.1.2.3/24", "x")).FailsNaming("--subnet \"10.1.2.3/24\"", "host bits are set", "10.1.2.0/24");
        Commands.Exec(berth, O("network", "create", "--subnet", "nonsense", "x")).FailsNaming("--subnet \"nonsense\"", "not a subnet");
        Commands.Exec(berth, O("network", "create", "taken")).FailsNaming("network taken", "already exists");
        Commands.Exec(berth, O("network", "create", "--subnet", f.Subnet, "x")).FailsNaming("--subnet " + f.Subnet, "overlaps network taken");
        Commands.Exec(berth, O("network", "create", "--subnet", "10.99.0.0/24", "--gateway", "10.98.0.1", "x")).FailsNaming("--gateway \"10.98.0.1\"", "not a host address of 10.99.0.0/24");
        Commands.Exec(berth, O("network", "create", "bad/name")).FailsNaming("network name \"bad/name\"");
        Commands.Exec(berth, O("network", "create", "--cni-plugin-dir", f.Root, "x")).FailsNaming("CNI plugin \"bridge\" not found in " + f.Root);
        Commands.Exec(berth, O("network", "inspect", "nope")).FailsNaming("network nope", "no such network");
        Commands.Exec(berth, O("network", "rm", "nope")).FailsNaming("network nope", "no such network");
        Commands.Exec(berth, O("network", "rm", "berth")).FailsNaming("network berth", "default network");

        Assert.Equal(before, Directory.GetFiles(f.ConfigDir).Order().ToList());
        Assert.False(NetworkFixture.LinkExists(f.Bridge));
    }
}
