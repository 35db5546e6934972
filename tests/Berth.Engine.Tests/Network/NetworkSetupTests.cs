using System.Net;
using Berth.Engine.Network;
using Xunit;

namespace Berth.Engine.Tests.Network;

/// <summary>Real network namespaces, real CNI plugins (Debian's, /usr/lib/cni), a private bridge and subnet per test.</summary>
public class NetworkSetupTests
{
    [Fact]
    public void Setup_gives_eth0_an_address_inside_the_subnet()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("n1");
        var r = f.Request("c1", "n1");
        var attachments = f.Networks.Setup(r);

        var a = Assert.Single(attachments);
        Assert.Equal("n1", a.Network);
        Assert.Equal("eth0", a.Interface);
        var address = Assert.Single(a.Addresses);
        Assert.StartsWith(f.Prefix, address);
        Assert.EndsWith("/24", address);
        Assert.Equal(f.Prefix + "1", a.Gateway);
        Assert.NotNull(a.Mac);

        var shown = NetworkFixture.In(r.NetnsPath, "ip", "-4", "-o", "addr", "show", "eth0");
        Assert.Equal(0, shown.Code);
        Assert.Contains("inet " + address, shown.Stdout);
        Assert.Contains("state UP", NetworkFixture.In(r.NetnsPath, "ip", "link", "show", "lo").Stdout.Replace("state UNKNOWN", "state UP"));
        Assert.Contains("default via " + f.Prefix + "1", NetworkFixture.In(r.NetnsPath, "ip", "route").Stdout);

        var hosts = File.ReadAllText(r.HostsFile);
        Assert.Contains("127.0.0.1\tlocalhost", hosts);
        Assert.Contains($"{address.Split('/')[0]}\tc1-host c1", hosts);
        Assert.DoesNotContain("nameserver 127.", File.ReadAllText(r.ResolvConf));
        Assert.Equal(new[] { "c1" }, f.Networks.Peers("n1"));
    }

    [Fact]
    public void Two_containers_on_one_network_reach_each_other_and_name_each_other()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("n2");
        var ra = f.Request("web", "n2", aliases: new[] { "www" });
        var ipA = f.Networks.Setup(ra)[0].Addresses[0].Split('/')[0];
        var inode = Inode(ra.HostsFile);
        var rb = f.Request("client", "n2");
        var ipB = f.Networks.Setup(rb)[0].Addresses[0].Split('/')[0];
        Assert.NotEqual(ipA, ipB);

        // Each names the other: the new one from its Setup, the old one rewritten in place.
        Assert.Contains($"{ipA}\tweb www", File.ReadAllText(rb.HostsFile));
        Assert.Contains($"{ipB}\tclient", File.ReadAllText(ra.HostsFile));

        Assert.Equal(inode, Inode(ra.HostsFile));

        var ping = NetworkFixture.In(rb.NetnsPath, "busybox", "ping", "-c", "1", "-W", "3", ipA);
        Assert.True(ping.Code == 0, ping.Stdout + ping.Stderr);

        // A TCP connection by name, resolved from the hosts file as a container would.
        var listener = f.Start("nsenter", "--net=" + ra.NetnsPath, "--", "busybox", "nc", "-l", "-p", "7000");
        string? got = null;
        for (int i = 0; i < 50 && got is null; i++)
        {
            var name = File.ReadAllLines(rb.HostsFile).First(l => l.Contains("\tweb")).Split('\t')[0];
            var send = NetworkFixture.Run("sh", "-c", $"echo hello | nsenter --net={rb.NetnsPath} -- busybox nc -w 2 {name} 7000");
            if (send.Code == 0) got = "sent";
            else Thread.Sleep(100);
        }
        Assert.Equal("sent", got);
        Assert.True(listener.WaitForExit(5000));
        Assert.Equal("hello", listener.StandardOutput.ReadToEnd().Trim());

        // Teardown of one takes it out of the other's hosts file.
        f.Networks.Teardown(rb);
        Assert.DoesNotContain("client", File.ReadAllText(ra.HostsFile));
        Assert.Equal(new[] { "web" }, f.Networks.Peers("n2"));
    }

    static string Inode(string path) => NetworkFixture.Run("stat", "-c", "%i", path).Stdout.Trim();
}

public class NetworkCheckTests
{
    [Fact]
    public void Check_passes_after_setup_and_names_the_plugin_when_the_interface_is_gone()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("chk");
        // No ports: portmap 1.1.1's CHECK looks for an IPv6 DNAT chain even on an IPv4 network and fails.
        var r = f.Request("c1", "chk");
        f.Networks.Setup(r);
        f.Networks.Check("c1");

        Assert.Equal(0, NetworkFixture.In(r.NetnsPath, "ip", "link", "delete", "eth0").Code);
        var e = Assert.Throws<NetworkException>(() => f.Networks.Check("c1"));
        Assert.StartsWith("network chk: CNI plugin bridge CHECK: ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // Teardown still removes what bridge made (its ipMasq rule is found through the stored addresses).
        var ip = f.Networks.Attachments("c1")[0].Addresses[0].Split('/')[0];
        f.Networks.Teardown(r);
        Assert.Empty(NetworkFixture.IptablesLines(ip + "/"));
        Assert.Equal("container c1: not attached to any network", Assert.Throws<NetworkException>(() => f.Networks.Check("c1")).Message);
    }
}

public class NetworkFilesTests
{
    [Fact]
    public void Add_hosts_and_dns_reach_the_files_and_bad_ones_are_refused_first()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("files");
        var r = f.Request("c1", "files") with { AddHosts = new[] { "db:10.9.9.9" }, Dns = new[] { "10.2.2.2" } };
        var ip = f.Networks.Setup(r)[0].Addresses[0].Split('/')[0];
        var hosts = File.ReadAllText(r.HostsFile);
        Assert.Contains($"{ip}\tc1-host c1\n", hosts);
        Assert.Contains("10.9.9.9\tdb\n", hosts);
        var resolv = File.ReadAllText(r.ResolvConf);
        Assert.Contains("nameserver 10.2.2.2\n", resolv);
        Assert.Single(resolv.Split('\n'), l => l.StartsWith("nameserver"));

        var bad = f.Request("c2", "files") with { AddHosts = new[] { "nocolon" } };
        Assert.Equal("--add-host \"nocolon\": expected HOST:IP (e.g. db:10.89.0.5)", Assert.Throws<NetworkException>(() => f.Networks.Setup(bad)).Message);
        var badDns = f.Request("c3", "files") with { Dns = new[] { "dns.example" } };
        Assert.Equal("--dns \"dns.example\": not an IP address", Assert.Throws<NetworkException>(() => f.Networks.Setup(badDns)).Message);
        Assert.Equal(new[] { "c1" }, f.Networks.Peers("files"));
    }
}

public class NetworkMultiTests
{
    [Fact]
    public void A_container_on_two_networks_gets_eth0_and_eth1_and_peers_see_only_the_shared_one()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("front");
        f.Networks.Create("back", f.Prefix2 + "0/24", null, false, new Dictionary<string, string>(), f.Bridge2);
        var both = f.Request("both", "front") with { Networks = new[] { "front", "back" } };
        var a = f.Networks.Setup(both);
        Assert.Equal(new[] { ("front", "eth0"), ("back", "eth1") }, a.Select(x => (x.Network, x.Interface)));
        Assert.StartsWith(f.Prefix2, a[1].Addresses[0]);
        Assert.Contains("inet " + a[1].Addresses[0], NetworkFixture.In(both.NetnsPath, "ip", "-4", "-o", "addr", "show", "eth1").Stdout);

        var backOnly = f.Request("backonly", "back");
        f.Networks.Setup(backOnly);
        var hosts = File.ReadAllText(backOnly.HostsFile);
        Assert.Contains($"{a[1].Addresses[0].Split('/')[0]}\tboth\n", hosts);
        Assert.DoesNotContain(a[0].Addresses[0].Split('/')[0], hosts);

        f.Networks.Teardown(both);
        Assert.DoesNotContain("both", File.ReadAllText(backOnly.HostsFile));
        Assert.Empty(f.Networks.Peers("front"));
    }
}

public class NetworkNoneTests
{
    [Fact]
    public void No_network_brings_up_lo_only_and_writes_the_files()
    {
        using var f = new NetworkFixture();
        var r = f.Request("solo", "unused") with { Networks = Array.Empty<string>() };
        Assert.Empty(f.Networks.Setup(r));
        Assert.Contains("inet 127.0.0.1/8", NetworkFixture.In(r.NetnsPath, "ip", "-4", "-o", "addr", "show", "lo").Stdout);
        Assert.DoesNotContain("eth0", NetworkFixture.In(r.NetnsPath, "ip", "-o", "link").Stdout);
        Assert.StartsWith("127.0.0.1\tlocalhost\n", File.ReadAllText(r.HostsFile));
        Assert.True(File.Exists(r.ResolvConf));
        f.Networks.Teardown(r);
        Assert.Contains("-p needs a network", Assert.Throws<NetworkException>(() => f.Networks.Setup(r with { Ports = PortMapping.Parse("80") })).Message);
    }
}
