using System.Net;

namespace Berth.Engine.Network;

/// <summary>
/// A published port: traffic to <see cref="HostIp"/>:<see cref="HostPort"/> on the host goes to
/// <see cref="ContainerPort"/> in the container (CNI's portMappings capability, done by portmap).
/// HostIp "" means every host address; HostPort 0 means one picked at Setup.
/// </summary>
public sealed record PortMapping(string HostIp, int HostPort, int ContainerPort, string Protocol)
{
    /// <summary>
    /// docker's <c>-p [IP:][HOST:]CTR[/tcp|udp|sctp]</c>: <c>8080:80</c>, <c>127.0.0.1:8080:80/udp</c>,
    /// <c>127.0.0.1::80</c> and <c>80</c> (a host port picked at Setup), <c>8000-8001:80-81</c>,
    /// <c>[::1]:8080:80</c>. One mapping per port of a range.
    /// </summary>
    public static IReadOnlyList<PortMapping> Parse(string value)
    {
        NetworkException Bad(string why) => new($"-p {Quote(value)}: {why} (expected [IP:][HOST:]CTR[/tcp|udp], e.g. 127.0.0.1:8080:80)");
        var text = value;
        var protocol = "tcp";
        int slash = text.LastIndexOf('/');
        if (slash >= 0)
        {
            protocol = text[(slash + 1)..].ToLowerInvariant();
            if (protocol is not ("tcp" or "udp" or "sctp")) throw Bad($"unknown protocol \"{text[(slash + 1)..]}\"");
            text = text[..slash];
        }
        string ip = "";
        string? host = null;
        string ctr;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':') throw Bad("an IPv6 address in brackets must be followed by :HOST:CTR");
            ip = text[1..close];
            var rest = text[(close + 2)..].Split(':');
            if (rest.Length != 2) throw Bad("expected [IPv6]:HOST:CTR");
            host = rest[0];
            ctr = rest[1];
        }
        else
        {
            var parts = text.Split(':');
            switch (parts.Length)
            {
                case 1: ctr = parts[0]; break;
                case 2: host = parts[0]; ctr = parts[1]; break;
                case 3: ip = parts[0]; host = parts[1]; ctr = parts[2]; break;
                default: throw Bad("too many colons (an IPv6 address goes in brackets)");
            }
        }
        if (ip.Length > 0)
        {
            if (!Subnets.TryParseAddress(ip, out var address) || (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
                throw Bad($"\"{ip}\" is not an IP address");
            ip = address.ToString();
        }
        var (ctrFirst, ctrLast) = Range(ctr, "container port", Bad, allowZero: false);
        if (string.IsNullOrEmpty(host))
            return Enumerable.Range(ctrFirst, ctrLast - ctrFirst + 1).Select(p => new PortMapping(ip, 0, p, protocol)).ToList();
        var (hostFirst, hostLast) = Range(host, "host port", Bad, allowZero: false);
        if (hostLast - hostFirst != ctrLast - ctrFirst)
            throw Bad($"host range {host} and container range {ctr} differ in length");
        return Enumerable.Range(0, ctrLast - ctrFirst + 1).Select(i => new PortMapping(ip, hostFirst + i, ctrFirst + i, protocol)).ToList();
    }

    static (int First, int Last) Range(string text, string what, Func<string, NetworkException> bad, bool allowZero)
    {
        int dash = text.IndexOf('-');
        int first = Port(dash < 0 ? text : text[..dash], what, bad, allowZero);
        int last = dash < 0 ? first : Port(text[(dash + 1)..], what, bad, allowZero);
        if (last < first) throw bad($"{what} range {text} ends before it starts");
        return (first, last);
    }

    static int Port(string text, string what, Func<string, NetworkException> bad, bool allowZero)
    {
        if (text.Length == 0 || text.Length > 5 || !text.All(char.IsAsciiDigit)) throw bad($"{what} \"{text}\" is not a number");
        int n = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        if (n > 65535 || (n == 0 && !allowZero)) throw bad($"{what} {n} is not in 1-65535");
        return n;
    }

    /// <summary>A user's string in an error: quoted, control characters escaped (one line whatever it holds).</summary>
    internal static string Quote(string s) => Images.Quote.Of(s);

    /// <summary>How docker prints it: 127.0.0.1:8080->80/tcp.</summary>
    public override string ToString() =>
        $"{(HostIp.Contains(':') ? $"[{HostIp}]" : HostIp.Length == 0 ? "0.0.0.0" : HostIp)}:{HostPort}->{ContainerPort}/{Protocol}";
}
