using System.Diagnostics;
using Berth.Engine.Network;
using Xunit;

namespace Berth.Engine.Tests.Network;

/// <summary>Setup that fails or is killed half-way leaves nothing that Teardown cannot remove.</summary>
public class NetworkFaultTests
{
    /// <summary>A plugin dir: the real plugins, with <paramref name="type"/> replaced by a script doing <paramref name="onAdd"/> on ADD (the real one otherwise).</summary>
    static string PluginDir(NetworkFixture f, string type, string onAdd)
    {
        var dir = Path.Combine(f.Root, "plugins");
        Directory.CreateDirectory(dir);
        foreach (var p in Directory.GetFiles("/usr/lib/cni"))
            if (Path.GetFileName(p) != type) File.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(p)), p);
        var script = Path.Combine(dir, type);
        File.WriteAllText(script, $"#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ]; then\n{onAdd}\nfi\nexec /usr/lib/cni/{type}\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return dir;
    }

    static void AssertNothingLeft(NetworkFixture f, string network, bool bridgeGone)
    {
        Assert.DoesNotContain(NetworkFixture.Run("iptables-save").Stdout.Split('\n'), l => l.Contains(f.Prefix));
        var ipam = Path.Combine(f.StateDir, "ipam", network);
        if (Directory.Exists(ipam)) Assert.DoesNotContain(Directory.GetFiles(ipam), n => Path.GetFileName(n).StartsWith(f.Prefix));
        if (bridgeGone) Assert.False(NetworkFixture.LinkExists(f.Bridge));
        else Assert.Empty(NetworkFixture.Run("ip", "-o", "link", "show", "master", f.Bridge).Stdout.Trim());
        Assert.Empty(f.Networks.Peers(network));
    }

    [Fact]
    public void A_plugin_error_is_one_line_and_setup_is_undone()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("fail");
        var plugins = PluginDir(f, "tuning", "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"tuning refused\",\"details\":\"by the test\"}'; exit 1");
        var networks = new Networks(f.ConfigDir, f.StateDir, plugins);
        var r = f.Request("c1", "fail", PortMapping.Parse("127.0.0.1::80"));

        var e = Assert.Throws<NetworkException>(() => networks.Setup(r));
        Assert.Equal("network fail: CNI plugin tuning ADD: tuning refused: by the test (CNI error code 11)", e.Message);
        AssertNothingLeft(f, "fail", bridgeGone: true);
        Assert.False(File.Exists(r.HostsFile));
    }

    [Fact]
    public void A_missing_plugin_or_network_is_refused_before_anything_is_made()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("miss");
        var dir = Path.Combine(f.Root, "noportmap");
        Directory.CreateDirectory(dir);
        foreach (var p in Directory.GetFiles("/usr/lib/cni").Where(p => Path.GetFileName(p) != "portmap"))
            File.CreateSymbolicLink(Path.Combine(dir, Path.GetFileName(p)), p);
        var r = f.Request("c1", "miss");
        var e = Assert.Throws<NetworkException>(() => new Networks(f.ConfigDir, f.StateDir, dir).Setup(r));
        Assert.Equal($"network miss: CNI plugin \"portmap\" not found in {dir}", e.Message);
        Assert.Equal("network nope: no such network", Assert.Throws<NetworkException>(() => f.Networks.Setup(r with { Networks = new[] { "nope" } })).Message);
        AssertNothingLeft(f, "miss", bridgeGone: true);
        var records = Path.Combine(f.StateDir, "containers");
        Assert.True(!Directory.Exists(records) || Directory.GetFiles(records).Length == 0);
    }

    [Fact]
    public void A_cli_killed_in_the_middle_of_setup_leaves_what_teardown_removes()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("kill");
        var marker = Path.Combine(f.Root, "firewall.pid");
        // firewall's ADD hangs: bridge and portmap have run; the CLI is killed there.
        var plugins = PluginDir(f, "firewall", $"echo $$ > {marker}; exec sleep 60");
        var r = f.Request("k1", "kill");
        var cli = f.Start(Commands.Binary, "network", "attach", "--store", f.Root, "--network-config-dir", f.ConfigDir, "--cni-plugin-dir", plugins,
            "--netns", r.NetnsPath, "--hosts-file", r.HostsFile, "--resolv-conf", r.ResolvConf, "-p", "127.0.0.1::80", "k1", "kill");
        for (int i = 0; i < 200 && !File.Exists(marker); i++) Thread.Sleep(50);
        if (!File.Exists(marker))
        {
            cli.Kill();
            Assert.Fail("the firewall plugin was never called: " + cli.StandardError.ReadToEnd());
        }
        Thread.Sleep(100);
        cli.Kill();
        Assert.True(cli.WaitForExit(10_000));
        // The hung plugin runs on, as a real one would for a moment: Teardown waits for it, here the test ends it.
        using (var sleeper = Process.GetProcessById(int.Parse(File.ReadAllText(marker).Trim()))) sleeper.Kill();

        var ip = Directory.GetFiles(Path.Combine(f.StateDir, "ipam", "kill")).Select(Path.GetFileName).Single(n => n!.StartsWith(f.Prefix))!;
        Assert.NotEmpty(NetworkFixture.IptablesLines(ip + "/"));
        Assert.Equal(new[] { "k1" }, f.Networks.Peers("kill"));

        f.Networks.Teardown("k1");
        AssertNothingLeft(f, "kill", bridgeGone: false);
    }

    [Fact]
    public void Kills_at_random_moments_of_setup_are_all_repaired_by_teardown()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("rnd");
        for (int round = 0; round < 6; round++)
        {
            var id = $"r{round}";
            var r = f.Request(id, "rnd");
            var cli = f.Start(Commands.Binary, "network", "attach", "--store", f.Root, "--network-config-dir", f.ConfigDir,
                "--netns", r.NetnsPath, "--hosts-file", r.HostsFile, "--resolv-conf", r.ResolvConf, "-p", "127.0.0.1::80", id, "rnd");
            Thread.Sleep(Random.Shared.Next(0, 400));
            if (!cli.HasExited) cli.Kill();
            Assert.True(cli.WaitForExit(10_000));
            // No pause: a plugin the CLI was running may still be adding rules; Teardown waits for it.
            var record = Path.Combine(f.StateDir, "containers", id + ".json");
            var state = File.Exists(record) ? File.ReadAllText(record) : "(no record)";
            f.Networks.Teardown(id);
            var left = NetworkFixture.Run("iptables-save").Stdout.Split('\n').Where(l => l.Contains(f.Prefix)).ToList();
            Assert.True(left.Count == 0, $"round {round}: {string.Join('\n', left)}\n{state}\n{cli.StandardError.ReadToEnd()}");
            AssertNothingLeft(f, "rnd", bridgeGone: false);
        }
    }
}

public class NetworkConcurrentCliTests
{
    [Fact]
    public void Ten_clis_attaching_at_once_get_distinct_addresses_and_name_each_other()
    {
        using var f = new NetworkFixture();
        f.CreateNetwork("crowd");
        var requests = Enumerable.Range(0, 10).Select(i => f.Request($"q{i}", "crowd")).ToList();
        var clis = requests.Select(r => f.Start(Commands.Binary, "network", "attach", "--store", f.Root, "--network-config-dir", f.ConfigDir,
            "--netns", r.NetnsPath, "--hosts-file", r.HostsFile, "--resolv-conf", r.ResolvConf, "--name", r.Name, r.ContainerId, "crowd")).ToList();
        var lines = new List<string>();
        foreach (var c in clis)
        {
            var output = c.StandardOutput.ReadToEndAsync();
            Assert.True(c.WaitForExit(120_000));
            Assert.True(c.ExitCode == 0, c.StandardError.ReadToEnd());
            lines.Add(output.Result.Trim());
        }
        // "crowd eth0 10.x.y.z/24 GATEWAY MAC"
        var addresses = lines.Select(l => l.Split(' ')[2]).ToList();
        Assert.Equal(10, addresses.Distinct().Count());
        Assert.All(addresses, a => Assert.StartsWith(f.Prefix, a));
        foreach (var r in requests)
            foreach (var other in requests) Assert.Contains("\t" + other.Name, File.ReadAllText(r.HostsFile));
        foreach (var r in requests) f.Networks.Teardown(r);
        Assert.Empty(f.Networks.Peers("crowd"));
    }
}
