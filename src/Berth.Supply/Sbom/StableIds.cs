using System.Security.Cryptography;
using System.Text;

namespace Berth.Supply.Sbom;

/// <summary>Identifiers derived from content, never random: the same image gives the same document.</summary>
public static class StableIds
{
    public static string Hex(string text, int chars = 16) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..chars];

    /// <summary>An RFC 4122 version-5-shaped UUID from a SHA-256 of <paramref name="text"/> (name-based, so stable).</summary>
    public static Guid Uuid(string text)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        h[6] = (byte)((h[6] & 0x0F) | 0x50);
        h[8] = (byte)((h[8] & 0x3F) | 0x80);
        var hex = Convert.ToHexStringLower(h.AsSpan(0, 16));
        return Guid.ParseExact($"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}", "D");
    }

    /// <summary>SPDX element ids allow letters, digits, '.' and '-' only.</summary>
    public static string SpdxSafe(string s) => new(s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '-').ToArray());

    /// <summary>A fingerprint of the inventory: what the document's namespace and serial number are made from.</summary>
    public static string Fingerprint(Inventory inv) =>
        Hex(inv.Source + "\n" + inv.ImageDigest + "\n" + string.Join('\n', inv.Packages.Select(p => p.Purl + " " + p.Location)), 32);
}
