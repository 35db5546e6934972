using System.Net;
using System.Text;
using Berth.Linux;

namespace Berth.Engine.Network;

/// <summary>
/// A container's /etc/hosts and /etc/resolv.conf. Containers of one network find each other by
/// name through their hosts files (podman 3's way before aardvark-dns), so attaching or detaching
/// one rewrites its peers' files: in place (truncate and write the same inode), because the engine
/// bind-mounts each file into its container and a rename would leave the container the old one.
/// </summary>
public static class HostsFiles
{
    /// <summary>A container's own addresses (no prefix) with the names it answers to.</summary>
    public sealed record Entry(string Address, IReadOnlyList<string> Names);

    /// <summary>docker's --add-host NAME:IP, checked: (name, address).</summary>
    public static (string Host, string Ip) ParseAddHost(string value)
    {
        int colon = value.IndexOf(':');
        var host = colon > 0 ? value[..colon] : "";
        var ip = colon > 0 ? value[(colon + 1)..].Trim('[', ']') : "";
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) || !Subnets.TryParseAddress(ip, out var address))
            throw new NetworkException($"--add-host {PortMapping.Quote(value)}: expected HOST:IP (e.g. db:10.89.0.5)");
        return (host, address.ToString());
    }

    public static string RenderHosts(IReadOnlyList<Entry> own, IReadOnlyList<string> addHosts, IReadOnlyList<Entry> peers)
    {
        var sb = new StringBuilder();
        sb.Append("127.0.0.1\tlocalhost\n");
        sb.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        foreach (var e in own) sb.Append(e.Address).Append('\t').AppendJoin(' ', e.Names).Append('\n');
        foreach (var a in addHosts)
        {
            var (host, ip) = ParseAddHost(a);
            sb.Append(ip).Append('\t').Append(host).Append('\n');
        }
        // A name given twice resolves to its first line: own names and --add-host win over peers.
        var taken = new HashSet<string>(own.SelectMany(e => e.Names));
        foreach (var p in peers)
        {
            var names = p.Names.Where(n => n.Length > 0 && taken.Add(n)).ToList();
            if (names.Count > 0) sb.Append(p.Address).Append('\t').AppendJoin(' ', names).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// --dns servers when given (the host's search and options kept, as docker does); else the
    /// host's resolv.conf without loopback nameservers (127.0.0.53 and the like answer on the
    /// host's lo, which a network namespace does not see). If only loopback ones remain, they
    /// are copied anyway: no DNS server runs on the bridge, and nothing outside the machine is
    /// ever made up (docker would write 8.8.8.8).
    /// </summary>
    public static string RenderResolvConf(string? hostResolvConf, IReadOnlyList<string> dns)
    {
        var lines = (hostResolvConf ?? "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] is not ('#' or ';')).ToList();
        static bool IsNameserver(string l) => l.StartsWith("nameserver", StringComparison.Ordinal) && l.Length > 10 && char.IsWhiteSpace(l[10]);
        static string Server(string l) => l[10..].Trim();
        var others = lines.Where(l => !IsNameserver(l)).ToList();
        List<string> servers;
        if (dns.Count > 0)
        {
            servers = new();
            foreach (var d in dns)
                servers.Add(Subnets.TryParseAddress(d, out var a) ? a.ToString() : throw new NetworkException($"--dns {PortMapping.Quote(d)}: not an IP address"));
        }
        else
        {
            var all = lines.Where(IsNameserver).Select(Server).ToList();
            servers = all.Where(s => !(Subnets.TryParseAddress(s.Split('%')[0], out var a) && IPAddress.IsLoopback(a))).ToList();
            if (servers.Count == 0) servers = all;
        }
        var sb = new StringBuilder();
        foreach (var o in others) sb.Append(o).Append('\n');
        foreach (var s in servers) sb.Append("nameserver ").Append(s).Append('\n');
        return sb.ToString();
    }

    /// <summary>Replaces the content of <paramref name="path"/> keeping its inode (a bind mount of it stays valid).</summary>
    public static void WriteInPlace(string path, string content, bool create)
    {
        try
        {
            using var fd = Files.Open(path, O.WRONLY | O.TRUNC | O.NOFOLLOW | (create ? O.CREAT : 0), 0x1a4 /* 0644 */);
            Files.WriteAll(fd, Encoding.UTF8.GetBytes(content), path);
        }
        catch (LinuxException e)
        {
            throw new LinuxException(e.Errno, "writing", path);
        }
    }
}
