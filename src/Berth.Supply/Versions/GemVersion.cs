using System.Numerics;
using System.Text.RegularExpressions;

namespace Berth.Supply.Versions;

/// <summary>
/// RubyGems' Gem::Version order: "-" is ".pre."; segments are digit or letter runs; trailing zeros
/// of the numeric part and of the part after the first letters are dropped; a letter segment
/// (a prerelease) sorts before a number, numbers numerically, letters lexically.
/// </summary>
public sealed partial class GemVersion : IVersionOrder
{
    [GeneratedRegex("[0-9]+|[a-zA-Z]+")]
    private static partial Regex SegmentPattern();

    public int Compare(string a, string b)
    {
        var x = Canonical(a);
        var y = Canonical(b);
        for (int i = 0; i < Math.Max(x.Count, y.Count); i++)
        {
            object l = i < x.Count ? x[i] : BigInteger.Zero, r = i < y.Count ? y[i] : BigInteger.Zero;
            switch (l, r)
            {
                case (BigInteger m, BigInteger n) when m != n: return m.CompareTo(n);
                case (string s, string t) when s != t: return Math.Sign(string.CompareOrdinal(s, t));
                case (string, BigInteger): return -1;
                case (BigInteger, string): return 1;
            }
        }
        return 0;
    }

    static List<object> Canonical(string v)
    {
        var segments = SegmentPattern().Matches(v.Trim().Replace("-", ".pre.")).Select(m => char.IsAsciiDigit(m.Value[0])
            ? (object)BigInteger.Parse(m.Value, System.Globalization.CultureInfo.InvariantCulture) : m.Value).ToList();
        int firstString = segments.FindIndex(s => s is string);
        var numeric = firstString < 0 ? segments : segments[..firstString];
        var rest = firstString < 0 ? new List<object>() : segments[firstString..];
        static List<object> Trim(List<object> l)
        {
            int n = l.Count;
            while (n > 0 && l[n - 1] is BigInteger z && z.IsZero) n--;
            return l[..n];
        }
        return Trim(numeric).Concat(Trim(rest)).ToList();
    }
}
