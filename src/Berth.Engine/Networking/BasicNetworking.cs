using System.Text;
using Berth.Linux;

namespace Berth.Engine.Networking;

/// <summary>
/// --network none (a new network namespace of the runtime's, loopback only) and --network host
/// (the host's namespace, its resolv.conf and hosts). Any other network needs CNI: until that is
/// wired in, a clear error (exit 125) before anything is made.
/// </summary>
public sealed class BasicNetworking : INetworking
{
    public string DefaultNetwork => "none";

    public string? Prepare(NetworkRequest r)
    {
        switch (r.Network)
        {
            case "none":
                if (r.Ports.Count > 0) throw new EngineException("-p/--publish: a container with --network none has no ports to publish");
                HostFiles.Write(r, hostNetwork: false);
                return null;
            case "host":
                if (r.Ports.Count > 0) throw new EngineException("-p/--publish: with --network host the container's ports are the host's already");
                HostFiles.Write(r, hostNetwork: true);
                return null;
            default:
                throw new EngineException($"--network {r.Network}: bridge networks (CNI) are not available in this build; use --network none or host");
        }
    }

    public void Teardown(NetworkRequest r) { }
}

/// <summary>/etc/hosts and /etc/resolv.conf for a container (docker's contents), bind-mounted from its directory.</summary>
public static class HostFiles
{
    public static void Write(NetworkRequest r, bool hostNetwork)
    {
        var hosts = new StringBuilder();
        if (hostNetwork && FileSystem.TryReadText("/etc/hosts") is { } host) hosts.Append(host.TrimEnd('\n')).Append('\n');
        else hosts.Append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        hosts.Append($"127.0.1.1\t{r.Hostname}{(r.Name != r.Hostname ? " " + r.Name : "")}\n");
        foreach (var h in r.AddHosts)
        {
            var kv = h.Split(':', 2);
            hosts.Append($"{kv[1]}\t{kv[0]}\n");
        }
        Replace(r.HostsFile, hosts.ToString());

        var resolv = new StringBuilder();
        if (r.Dns.Count > 0)
            foreach (var d in r.Dns) resolv.Append($"nameserver {d}\n");
        else if (FileSystem.TryReadText("/etc/resolv.conf") is { } text)
            // A loopback resolver of the host (systemd-resolved) is unreachable from a namespace of its own.
            foreach (var line in text.Split('\n'))
                if (hostNetwork || !line.StartsWith("nameserver 127.")) resolv.Append(line).Append('\n');
        Replace(r.ResolvConf, resolv.ToString().TrimEnd('\n') + "\n");
    }

    public static void Replace(string path, string content)
    {
        FileSystem.TryDelete(path);
        FileSystem.WriteNew(path, Encoding.UTF8.GetBytes(content));
    }
}
