using Berth.Engine.Network;
using Xunit;

namespace Berth.Engine.Tests.Network;

public class NetworkPortAndCleanupTests
{
    static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        return ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    static string HttpGet(int port, string path)
    {
        using var c = new System.Net.Sockets.TcpClient();
        c.ReceiveTimeout = 3000;
        c.Connect(System.Net.IPAddress.Loopback, port);
        using var s = c.GetStream();
        s.Write(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
        using var reader = new StreamReader(s);
        return reader.ReadToEnd();
    }

    [Theory]
    [InlineData("127.0.0.1:{0}:8080")]
    [InlineData("{0}:8080")]
    public void A_port_published_on_127_0_0_1_reaches_a_server_in_the_netns(string flag)
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("web");
        int hostPort = FreePort();
        var r = f.Request("httpd1", "web", PortMapping.Parse(string.Format(flag, hostPort)));
        f.Networks.Setup(r);
        var www = Path.Combine(f.Root, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), "hello from the netns\n");
        f.Start("nsenter", "--net=" + r.NetnsPath, "--", "busybox", "httpd", "-f", "-p", "8080", "-h", www);

        // busybox wget segfaults here: a raw HTTP/1.0 GET from the test process, as a client on the host would.
        string body = "", error = "";
        for (int i = 0; i < 50 && !body.Contains("hello"); i++)
        {
            try { body = HttpGet(hostPort, "/index.html"); }
            catch (System.Net.Sockets.SocketException e) { error = e.Message; Thread.Sleep(100); }
        }
        Assert.True(body.EndsWith("\r\n\r\nhello from the netns\n"), $"{error}\n{body}\n{NetworkFixture.Run("iptables-save", "-t", "nat").Stdout}");
        Assert.Equal(hostPort, Assert.Single(f.Networks.PublishedPorts("httpd1")).HostPort);
    }

    [Fact]
    public void A_random_host_port_is_picked_and_a_taken_one_is_refused()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("ports");
        var r = f.Request("rnd", "ports", PortMapping.Parse("127.0.0.1::80"));
        f.Networks.Setup(r);
        var picked = Assert.Single(f.Networks.PublishedPorts("rnd"));
        Assert.InRange(picked.HostPort, 1, 65535);

        // The same host port again: refused before any plugin runs, nothing left.
        var again = f.Request("dup", "ports", new[] { picked with { ContainerPort = 81 } });
        var e = Assert.Throws<NetworkException>(() => f.Networks.Setup(again));
        Assert.Contains($"host port {picked.HostPort}/tcp is already published", e.Message);
        Assert.Equal(new[] { "rnd" }, f.Networks.Peers("ports"));
        Assert.Empty(f.Networks.Attachments("dup"));

        using var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int used = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        var busy = f.Request("busy", "ports", PortMapping.Parse($"127.0.0.1:{used}:80"));
        Assert.Contains("already in use", Assert.Throws<NetworkException>(() => f.Networks.Setup(busy)).Message);
    }

    [Fact]
    public void Teardown_leaves_no_veth_no_iptables_rule_and_no_ipam_allocation()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("clean");
        var r = f.Request("c1", "clean", PortMapping.Parse($"127.0.0.1:{FreePort()}:80"));
        var ip = f.Networks.Setup(r)[0].Addresses[0].Split('/')[0];
        Assert.NotEmpty(NetworkFixture.IptablesLines(ip));
        var ipamDir = Path.Combine(f.StateDir, "ipam", "clean");
        Assert.True(File.Exists(Path.Combine(ipamDir, ip)));
        // The host end of the container's veth: the one interface on the test's bridge.
        var veth = NetworkFixture.Run("ip", "-o", "link", "show", "master", f.Bridge).Stdout.Split(':')[1].Trim().Split('@')[0];
        Assert.True(NetworkFixture.LinkExists(veth));

        f.Networks.Teardown(r);

        Assert.Empty(NetworkFixture.IptablesLines(ip));
        Assert.False(File.Exists(Path.Combine(ipamDir, ip)));
        Assert.DoesNotContain(Directory.GetFiles(ipamDir), n => Path.GetFileName(n).StartsWith(f.Prefix));
        // The bridge stays (the network does); the veth is gone.
        Assert.True(NetworkFixture.LinkExists(f.Bridge));
        Assert.False(NetworkFixture.LinkExists(veth));
        Assert.Empty(NetworkFixture.Run("ip", "-o", "link", "show", "master", f.Bridge).Stdout.Trim());
        Assert.Empty(f.Networks.Peers("clean"));
        // Again: nothing to do, no error.
        f.Networks.Teardown(r);
    }

    [Fact]
    public void Teardown_works_when_the_netns_is_already_gone()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("gone");
        var r = f.Request("c1", "gone", PortMapping.Parse($"127.0.0.1:{FreePort()}:80"));
        var ip = f.Networks.Setup(r)[0].Addresses[0].Split('/')[0];
        NetNs.Remove(r.NetnsPath);
        NetNs.Remove(r.NetnsPath);
        Assert.False(File.Exists(r.NetnsPath));

        f.Networks.Teardown(r);

        Assert.Empty(NetworkFixture.IptablesLines(ip));
        Assert.False(File.Exists(Path.Combine(f.StateDir, "ipam", "gone", ip)));
        Assert.Empty(NetworkFixture.Run("ip", "-o", "link", "show", "master", f.Bridge).Stdout.Trim());
    }

    [Fact]
    public void Ten_parallel_setups_get_distinct_addresses()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("many");
        var requests = Enumerable.Range(0, 10).Select(i => f.Request($"p{i}", "many")).ToList();
        var addresses = new string[10];
        Parallel.For(0, 10, new ParallelOptions { MaxDegreeOfParallelism = 10 }, i =>
            addresses[i] = new Networks(f.ConfigDir, f.StateDir).Setup(requests[i])[0].Addresses[0]);
        Assert.Equal(10, addresses.Distinct().Count());
        Assert.All(addresses, a => Assert.StartsWith(f.Prefix, a));
        Assert.Equal(10, f.Networks.Peers("many").Length);
        // Every hosts file names the nine others.
        foreach (var r in requests)
        {
            var hosts = File.ReadAllText(r.HostsFile);
            foreach (var other in requests) Assert.Contains("\t" + other.Name, hosts);
        }
        Parallel.For(0, 10, i => new Networks(f.ConfigDir, f.StateDir).Teardown(requests[i]));
        Assert.Empty(f.Networks.Peers("many"));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(f.StateDir, "ipam", "many")), n => Path.GetFileName(n).StartsWith(f.Prefix));
    }

    [Fact]
    public void Remove_is_refused_while_a_container_is_attached_and_forced_detaches_it()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("busy");
        var r = f.Request("c1", "busy");
        var ip = f.Networks.Setup(r)[0].Addresses[0].Split('/')[0];
        var e = Assert.Throws<NetworkException>(() => f.Networks.Remove("busy"));
        Assert.Equal("network busy: in use by 1 container(s): c1 (use -f to detach them)", e.Message);
        Assert.True(File.Exists(Path.Combine(f.ConfigDir, "busy.conflist")));

        f.Networks.Remove("busy", force: true);
        Assert.False(File.Exists(Path.Combine(f.ConfigDir, "busy.conflist")));
        Assert.False(NetworkFixture.LinkExists(f.Bridge));
        Assert.Empty(NetworkFixture.IptablesLines(ip));
        Assert.False(Directory.Exists(Path.Combine(f.StateDir, "ipam", "busy")));
        Assert.Throws<NetworkException>(() => f.Networks.Inspect("busy"));
    }
}
