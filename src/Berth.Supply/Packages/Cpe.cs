using System.Text;

namespace Berth.Supply.Packages;

/// <summary>CPE 2.3 formatted strings (NISTIR 7695): cpe:2.3:a:VENDOR:PRODUCT:VERSION:*:*:*:*:*:*:*, special characters quoted.</summary>
public static class Cpe
{
    public static string Of(string vendor, string product, string version) =>
        $"cpe:2.3:a:{Quote(vendor)}:{Quote(product)}:{Quote(version)}:*:*:*:*:*:*:*";

    static string Quote(string s)
    {
        var sb = new StringBuilder();
        foreach (var c in s.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-') sb.Append(c);
            else if (c is ' ') sb.Append('_');
            else sb.Append('\\').Append(c);
        }
        return sb.Length == 0 ? "*" : sb.ToString();
    }
}
