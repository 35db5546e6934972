using System.Diagnostics;
using Berth.Engine.Network;

namespace Berth.Engine.Tests.Network;

/// <summary>
/// A private world for one test: config and state dirs, a bridge name and a 10.2xx.N.0/24 subnet
/// nobody else uses, network namespaces made with <see cref="NetNs"/>, and processes the test starts.
/// Dispose tears down and removes all of it, even after a failure: attachments, namespaces, networks,
/// the bridge, started processes (by pid).
/// </summary>
public sealed class NetworkFixture : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("berth-net-").FullName;
    public string ConfigDir => Path.Combine(Root, "net.d");
    /// <summary>STORE/networks, as the CLI makes it from --store Root.</summary>
    public string StateDir => Path.Combine(Root, "networks");
    public string Bridge { get; } = "bt" + Guid.NewGuid().ToString("N")[..8];
    public string Subnet { get; }
    public string Prefix { get; }
    /// <summary>A second bridge and subnet, for a container on two networks.</summary>
    public string Bridge2 { get; } = "bu" + Guid.NewGuid().ToString("N")[..8];
    public string Prefix2 { get; }
    public Networks Networks { get; }
    readonly List<string> _netns = new();
    readonly List<string> _ids = new();
    readonly List<Process> _processes = new();
    readonly List<string> _bridges = new();

    public NetworkFixture()
    {
        Networks = new Networks(ConfigDir, StateDir);
        var used = Run("ip", "-4", "route", "show", "table", "all").Stdout;
        for (int i = 0; ; i++)
        {
            var prefix = $"10.{200 + Random.Shared.Next(50)}.{Random.Shared.Next(1, 250)}.";
            if (!used.Contains(prefix)) { Prefix = prefix; break; }
            if (i > 100) throw new InvalidOperationException("no free 10.2xx.N.0/24 for the test");
        }
        Subnet = Prefix + "0/24";
        for (int i = 0; ; i++)
        {
            var prefix = $"10.{200 + Random.Shared.Next(50)}.{Random.Shared.Next(1, 250)}.";
            if (!used.Contains(prefix) && prefix != Prefix) { Prefix2 = prefix; break; }
            if (i > 100) throw new InvalidOperationException("no free 10.2xx.N.0/24 for the test");
        }
        _bridges.Add(Bridge);
        _bridges.Add(Bridge2);
    }

    /// <summary>A network on the fixture's subnet and bridge.</summary>
    public NetworkInfo CreateNetwork(string name, string? subnet = null, string? bridge = null)
    {
        if (bridge is not null) _bridges.Add(bridge);
        return Networks.Create(name, subnet ?? Subnet, null, false, new Dictionary<string, string>(), bridge ?? Bridge);
    }

    public string NewNetns(string id)
    {
        var path = Path.Combine(Root, "netns", id);
        NetNs.Create(path);
        _netns.Add(path);
        return path;
    }

    public ContainerNetworkRequest Request(string id, string network, IReadOnlyList<PortMapping>? ports = null, string? netns = null, IReadOnlyList<string>? aliases = null)
    {
        var dir = Path.Combine(Root, "containers", id);
        Directory.CreateDirectory(dir);
        _ids.Add(id);
        return new ContainerNetworkRequest(id, id, aliases ?? Array.Empty<string>(), netns ?? NewNetns(id), new[] { network },
            ports ?? Array.Empty<PortMapping>(), Path.Combine(dir, "hosts"), Path.Combine(dir, "resolv.conf"), id + "-host",
            Array.Empty<string>(), Array.Empty<string>());
    }

    /// <summary>A process the test owns, ended by its pid at Dispose.</summary>
    public Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        _processes.Add(p);
        return p;
    }

    public static (int Code, string Stdout, string Stderr) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var outp = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill();
            throw new TimeoutException($"{file} {string.Join(' ', args)}: no exit within 30 s");
        }
        p.WaitForExit();
        return (p.ExitCode, outp.Result, err.Result);
    }

    /// <summary>Runs in a netns: nsenter --net=PATH.</summary>
    public static (int Code, string Stdout, string Stderr) In(string netns, params string[] args) =>
        Run("nsenter", new[] { "--net=" + netns, "--" }.Concat(args).ToArray());

    public static bool LinkExists(string name) => Directory.Exists("/sys/class/net/" + name);

    /// <summary>The iptables-save lines (every table) that mention <paramref name="needle"/>.</summary>
    public static List<string> IptablesLines(string needle) =>
        Run("iptables-save").Stdout.Split('\n').Where(l => l.Contains(needle)).ToList();

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            try { if (!p.HasExited) { p.Kill(); p.WaitForExit(5000); } } catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (var id in _ids)
        {
            try { Networks.Teardown(id); } catch (Exception) { }
        }
        foreach (var path in _netns)
        {
            try { NetNs.Remove(path); } catch (Exception) { }
        }
        try
        {
            foreach (var n in Directory.Exists(ConfigDir) ? Networks.List() : Array.Empty<NetworkInfo>())
                if (n.Name != Networks.DefaultNetwork) Networks.Remove(n.Name, force: true);
        }
        catch (Exception) { }
        foreach (var b in _bridges)
            if (LinkExists(b)) Run("ip", "link", "delete", b);
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
