using Berth.Engine.Network;
using Xunit;

namespace Berth.Engine.Tests.Network;

public class NetworkCreateTests
{
    [Fact]
    public void Subnets_and_bridges_are_picked_free_and_distinct()
    {
        using var f = new NetworkFixture();
        var a = f.Networks.Create("auto-a", null, null, false, new Dictionary<string, string>());
        var b = f.Networks.Create("auto-b", null, null, false, new Dictionary<string, string>());
        Assert.Matches(@"^10\.89\.\d+\.0/24$", a.Subnet);
        Assert.Matches(@"^10\.89\.\d+\.0/24$", b.Subnet);
        Assert.NotEqual(a.Subnet, b.Subnet);
        Assert.NotEqual(a.Bridge, b.Bridge);
        Assert.Equal(a.Subnet![..^4] + "1", a.Gateway);
        var routes = NetworkFixture.Run("ip", "-4", "route").Stdout;
        Assert.DoesNotContain(a.Subnet!, routes);
        // The default network is there too, and cannot be made twice.
        Assert.Contains(f.Networks.List(), n => n.Name == "berth" && n.Subnet == "10.88.0.0/16" && n.Bridge == "berth0");
        Assert.Equal("network berth: already exists", Assert.Throws<NetworkException>(() => f.Networks.Create("berth", null, null, false, new Dictionary<string, string>())).Message);
    }

    [Fact]
    public void An_internal_network_has_no_route_out_and_no_masquerade()
    {
        using var f = new NetworkFixture();
        var info = f.Networks.Create("inner", f.Subnet, null, true, new Dictionary<string, string> { ["k"] = "v" }, f.Bridge);
        Assert.True(info.Internal);
        Assert.Equal("v", info.Labels["k"]);
        var r = f.Request("c1", "inner");
        var ip = f.Networks.Setup(r)[0].Addresses[0].Split('/')[0];
        Assert.DoesNotContain("default", NetworkFixture.In(r.NetnsPath, "ip", "route").Stdout);
        Assert.DoesNotContain(NetworkFixture.IptablesLines(ip + "/"), l => l.Contains("MASQUERADE") || l.Contains("-t nat") || l.Contains("POSTROUTING"));
        // Containers on it still reach each other.
        var r2 = f.Request("c2", "inner");
        f.Networks.Setup(r2);
        var ping = NetworkFixture.In(r2.NetnsPath, "busybox", "ping", "-c", "1", "-W", "3", ip);
        Assert.True(ping.Code == 0, ping.Stdout + ping.Stderr);
    }
}
