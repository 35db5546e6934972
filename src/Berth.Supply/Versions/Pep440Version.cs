using System.Numerics;
using System.Text.RegularExpressions;

namespace Berth.Supply.Versions;

/// <summary>
/// PEP 440 (packaging.python.org "Version specifiers"): [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local],
/// with the spec's normalizations (alpha→a, c/pre/preview→rc, rev/r→post, "-N" as a post-release,
/// separators optional) and its order: dev < pre < release < post; a local version sorts after its public one.
/// </summary>
public sealed partial class Pep440Version : IVersionOrder
{
    [GeneratedRegex(@"^\s*v?(?:(?<epoch>[0-9]+)!)?(?<release>[0-9]+(?:\.[0-9]+)*)(?<pre>[-_\.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?<pre_n>[0-9]+)?)?(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_\.]?(?<post_l>post|rev|r)[-_\.]?(?<post_n2>[0-9]+)?))?(?<dev>[-_\.]?(?<dev_l>dev)[-_\.]?(?<dev_n>[0-9]+)?)?(?:\+(?<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();

    readonly record struct Parsed(BigInteger Epoch, BigInteger[] Release, int PreKind, BigInteger Pre, BigInteger? Post, BigInteger? Dev, string[]? Local);

    public static bool IsValid(string v) => Pattern().IsMatch(v);

    public int Compare(string a, string b)
    {
        var (pa, pb) = (Parse(a), Parse(b));
        if (pa is null || pb is null) return pa is null ? (pb is null ? string.CompareOrdinal(a, b) : -1) : 1;
        var x = pa.Value;
        var y = pb.Value;
        int c = x.Epoch.CompareTo(y.Epoch);
        if (c != 0) return c;
        // Trailing zeros do not count: 1.0 == 1.0.0.
        int n = Math.Max(x.Release.Length, y.Release.Length);
        for (int i = 0; i < n; i++)
        {
            c = (i < x.Release.Length ? x.Release[i] : 0).CompareTo(i < y.Release.Length ? y.Release[i] : 0);
            if (c != 0) return c;
        }
        c = PreKey(x).CompareTo(PreKey(y));
        if (c != 0) return c;
        if (x.PreKind != 3)
        {
            c = x.Pre.CompareTo(y.Pre);
            if (c != 0) return c;
        }
        c = (x.Post is null ? -1 : 1).CompareTo(y.Post is null ? -1 : 1);
        if (c != 0) return c;
        if (x.Post is not null) { c = x.Post.Value.CompareTo(y.Post!.Value); if (c != 0) return c; }
        c = (x.Dev is null ? 1 : -1).CompareTo(y.Dev is null ? 1 : -1);
        if (c != 0) return c;
        if (x.Dev is not null) { c = x.Dev.Value.CompareTo(y.Dev!.Value); if (c != 0) return c; }
        return Local(x.Local, y.Local);
    }

    // packaging's _cmpkey: a dev release with no pre and no post sorts before every pre-release ("-1").
    static int PreKey(Parsed p) => p.PreKind == 3 && p.Post is null && p.Dev is not null ? -1 : p.PreKind;

    static int Local(string[]? a, string[]? b)
    {
        if (a is null || b is null) return a is null ? (b is null ? 0 : -1) : 1;
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            bool na = a[i].All(char.IsAsciiDigit), nb = b[i].All(char.IsAsciiDigit);
            // Numeric segments sort after alphanumeric ones, and numerically among themselves.
            int c = na && nb ? BigInteger.Parse(a[i]).CompareTo(BigInteger.Parse(b[i])) : na ? 1 : nb ? -1 : string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    static Parsed? Parse(string v)
    {
        var m = Pattern().Match(v);
        if (!m.Success) return null;
        var release = m.Groups["release"].Value.Split('.').Select(BigInteger.Parse).ToArray();
        int kind = 3;
        BigInteger pre = 0;
        if (m.Groups["pre"].Success)
        {
            kind = m.Groups["pre_l"].Value.ToLowerInvariant() switch { "a" or "alpha" => 0, "b" or "beta" => 1, _ => 2 };
            pre = m.Groups["pre_n"].Success ? BigInteger.Parse(m.Groups["pre_n"].Value) : 0;
        }
        BigInteger? post = m.Groups["post"].Success
            ? BigInteger.Parse(m.Groups["post_n1"].Success ? m.Groups["post_n1"].Value : m.Groups["post_n2"].Success ? m.Groups["post_n2"].Value : "0")
            : null;
        BigInteger? dev = m.Groups["dev"].Success ? BigInteger.Parse(m.Groups["dev_n"].Success ? m.Groups["dev_n"].Value : "0") : null;
        var local = m.Groups["local"].Success ? m.Groups["local"].Value.ToLowerInvariant().Split('-', '_', '.') : null;
        return new Parsed(m.Groups["epoch"].Success ? BigInteger.Parse(m.Groups["epoch"].Value) : 0, release, kind, pre, post, dev, local);
    }
}
