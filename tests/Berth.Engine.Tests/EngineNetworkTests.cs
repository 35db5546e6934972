using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>
/// `berth run` on CNI bridge networks, as a user drives it: a network of the test's own (its
/// bridge and subnet unique, so nothing of the host's is touched), a detached httpd published on
/// 127.0.0.1 and fetched from the host, a second container reaching it by name, and nothing of the
/// network left once the containers and the network are removed.
/// </summary>
public class EngineNetworkTests : IDisposable
{
    readonly EngineSandbox _e = new();
    readonly string _bridge = "be" + Guid.NewGuid().ToString("N")[..8];
    readonly string _net = "tn" + Guid.NewGuid().ToString("N")[..8];
    readonly string _prefix;

    public EngineNetworkTests()
    {
        var used = Commands.Exec("ip", "-4", "route", "show", "table", "all").Ok().Stdout;
        _prefix = Enumerable.Range(0, 200).Select(_ => $"10.{200 + Random.Shared.Next(50)}.{Random.Shared.Next(1, 250)}.")
            .First(p => !used.Contains(p));
    }

    static int FreePort()
    {
        var l = new TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        var port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static string Get(int port)
    {
        using var c = new TcpClient();
        c.ReceiveTimeout = c.SendTimeout = 5000;
        c.Connect(System.Net.IPAddress.Loopback, port);
        var s = c.GetStream();
        s.Write("GET / HTTP/1.0\r\n\r\n"u8);
        return new StreamReader(s, Encoding.ASCII).ReadToEnd();
    }

    [Fact]
    public void A_published_httpd_answers_on_127_0_0_1_and_a_peer_reaches_it_by_name()
    {
        _e.Run("network", "create", "--subnet", _prefix + "0/24", "--interface-name", _bridge, _net).Ok();
        var www = Path.Combine(_e.Dir, "www");
        Directory.CreateDirectory(www);
        File.WriteAllText(Path.Combine(www, "index.html"), "hello from a berth bridge\n");
        var port = FreePort();
        _e.Run("run", "-d", "--name", "web", "--network", _net, "-p", $"127.0.0.1:{port}:80", "-v", $"{www}:/www:ro",
            EngineSandbox.Image, "httpd", "-f", "-p", "80", "-h", "/www").Ok();
        Assert.Equal($"80/tcp -> 127.0.0.1:{port}", _e.Run("port", "web").Ok().Stdout.Trim());

        string page = "";
        EngineSandbox.Eventually(() => { try { page = Get(port); return true; } catch (SocketException) { return false; } }, "httpd to listen");
        Assert.Contains("hello from a berth bridge", page);

        // The default network, named by BERTH_DEFAULT_NETWORK: a peer on it finds web by name.
        var peer = Commands.ExecWithEnv(new Dictionary<string, string?> { ["BERTH_DEFAULT_NETWORK"] = _net }, EngineSandbox.Berth,
            _e.Global.Concat(new[] { "run", "--rm", EngineSandbox.Image, "sh", "-c",
                "ip -4 -o addr show eth0; grep -w web /etc/hosts; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc web 80" }).ToArray()).Ok();
        Assert.Contains($"inet {_prefix}", peer.Stdout);
        Assert.Contains("hello from a berth bridge", peer.Stdout);

        _e.Run("rm", "-f", "web").Ok();
        Assert.Throws<SocketException>(() => Get(port));
        _e.Run("network", "rm", _net).Ok();
        Assert.False(Directory.Exists($"/sys/class/net/{_bridge}"), "the bridge is left");
        Assert.DoesNotContain(_prefix, Commands.Exec("iptables-save").Ok().Stdout);
        Assert.Empty(Directory.Exists(Path.Combine(_e.Root, "netns")) ? Directory.GetFileSystemEntries(Path.Combine(_e.Root, "netns")) : Array.Empty<string>());
    }

    [Fact]
    public void A_port_already_taken_is_one_line_exit_125_and_leaves_no_container()
    {
        _e.Run("network", "create", "--subnet", _prefix + "0/24", "--interface-name", _bridge, _net).Ok();
        using var taken = new TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var r = _e.Run("run", "-d", "--network", _net, "-p", $"127.0.0.1:{port}:80", EngineSandbox.Image, "sleep", "30");
        Assert.Equal(125, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(port.ToString(), r.Stderr);
        Assert.Equal("", _e.Run("ps", "-a", "-q").Ok().Stdout.Trim());
        Assert.DoesNotContain(_prefix, Commands.Exec("iptables-save").Ok().Stdout);
    }

    public void Dispose()
    {
        // Containers, then the network (its bridge with it), then the store: even when a test failed half-way.
        _e.Run("rm", "-a", "-f", "-v");
        _e.Run("network", "rm", "-f", _net);
        _e.Dispose();
    }
}
