using System.Numerics;

namespace Berth.Supply.Versions;

/// <summary>
/// Semantic Versioning 2.0.0 precedence (semver.org §11): MAJOR.MINOR.PATCH numerically, a
/// pre-release sorts before its release, its dot-separated identifiers numeric before
/// alphanumeric; build metadata is ignored. A leading "v" (Go's modules) and missing parts are allowed.
/// </summary>
public sealed class SemVersion : IVersionOrder
{
    public int Compare(string a, string b)
    {
        var (ca, pa) = Split(a);
        var (cb, pb) = Split(b);
        for (int i = 0; i < Math.Max(ca.Length, cb.Length); i++)
        {
            int c = Numeric(i < ca.Length ? ca[i] : "0", i < cb.Length ? cb[i] : "0");
            if (c != 0) return c;
        }
        if (pa is null || pb is null) return pa is null ? (pb is null ? 0 : 1) : -1;
        var ia = pa.Split('.');
        var ib = pb.Split('.');
        for (int i = 0; i < Math.Min(ia.Length, ib.Length); i++)
        {
            bool na = IsNumber(ia[i]), nb = IsNumber(ib[i]);
            int c = na && nb ? Numeric(ia[i], ib[i]) : na ? -1 : nb ? 1 : string.CompareOrdinal(ia[i], ib[i]);
            if (c != 0) return Math.Sign(c);
        }
        return ia.Length.CompareTo(ib.Length);
    }

    static (string[] Core, string? Pre) Split(string v)
    {
        v = v.Trim();
        if (v.StartsWith('v') || v.StartsWith('V')) v = v[1..];
        int plus = v.IndexOf('+');
        if (plus >= 0) v = v[..plus];
        int dash = v.IndexOf('-');
        var core = dash >= 0 ? v[..dash] : v;
        return (core.Split('.'), dash >= 0 ? v[(dash + 1)..] : null);
    }

    static bool IsNumber(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);

    static int Numeric(string a, string b)
    {
        if (IsNumber(a) && IsNumber(b)) return BigInteger.Parse(a).CompareTo(BigInteger.Parse(b));
        return Math.Sign(string.CompareOrdinal(a, b));
    }
}
