using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Berth.Linux;

namespace Berth.Engine.Network;

/// <summary>Subnet arithmetic for network create: parse, overlap, the gateway, the host's own routes.</summary>
internal static class Subnets
{
    public static IPNetwork Parse(string text, string flag)
    {
        if (!IPNetwork.TryParse(text, out var net))
        {
            // TryParse refuses host bits set: say so, with the network that was meant.
            int slash = text.IndexOf('/');
            if (slash > 0 && IPAddress.TryParse(text[..slash], out var a) && int.TryParse(text[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var len) &&
                len <= (a.AddressFamily == AddressFamily.InterNetwork ? 32 : 128))
                throw new NetworkException($"{flag} {PortMapping.Quote(text)}: host bits are set (did you mean {Masked(a, len)}/{len}?)");
            throw new NetworkException($"{flag} {PortMapping.Quote(text)}: not a subnet in CIDR notation (e.g. 10.89.3.0/24)");
        }
        int max = net.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (net.PrefixLength > max - 2) throw new NetworkException($"{flag} {text}: too small for a gateway and a container (at most /{max - 2})");
        return net;
    }

    /// <summary>IPAddress.TryParse without inet_aton's shorthands ("1.2.3", "10"): a user who typed them meant something else.</summary>
    public static bool TryParseAddress(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains(':')) return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
        var parts = text.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)) && IPAddress.TryParse(text, out address!);
    }

    public static bool Overlap(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && (a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress));

    /// <summary>The first host address: where the bridge plugin puts the gateway by default.</summary>
    public static IPAddress FirstHost(IPNetwork net)
    {
        var bytes = net.BaseAddress.GetAddressBytes();
        for (int i = bytes.Length - 1; i >= 0; i--)
            if (++bytes[i] != 0) break;
        return new IPAddress(bytes);
    }

    static IPAddress Masked(IPAddress a, int len)
    {
        var bytes = a.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(len - i * 8, 0, 8);
            bytes[i] &= (byte)(0xff << (8 - keep));
        }
        return new IPAddress(bytes);
    }

    /// <summary>The IPv4 routes of the host's main table (not the default route): subnets in use on the host.</summary>
    public static List<IPNetwork> HostRoutes()
    {
        var routes = new List<IPNetwork>();
        var text = FileSystem.TryReadText("/proc/net/route") ?? "";
        foreach (var line in text.Split('\n').Skip(1))
        {
            var f = line.Split('\t', StringSplitOptions.TrimEntries);
            if (f.Length < 8 || !uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var dst) ||
                !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask) || mask == 0) continue;
            // /proc/net/route prints addresses in host (little-endian) byte order.
            var address = new IPAddress(BitConverter.GetBytes(dst & mask));
            routes.Add(new IPNetwork(address, System.Numerics.BitOperations.PopCount(mask)));
        }
        return routes;
    }
}
