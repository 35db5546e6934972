namespace Berth.Supply.Versions;

/// <summary>
/// apk-tools' version order (Gentoo's, as apk_version_compare tokenizes it):
/// NUMBER{.NUMBER}[LETTER]{_SUFFIX[NUMBER]}[~HASH][-rREVISION]; a later number with a leading zero is a decimal fraction. Pre-release suffixes
/// (_alpha, _beta, _pre, _rc) sort before the bare version, post ones (_cvs, _svn, _git, _hg, _p) after;
/// where one version ends and the other goes on, the longer is greater unless it goes on with a pre-release suffix.
/// </summary>
public sealed class ApkVersion : IVersionOrder
{
    // The token types in apk's order: a later type sorts lower when the two versions part there.
    enum T { Digit, Letter, Suffix, SuffixNo, Hash, Revision, End }

    static readonly string[] Pre = { "alpha", "beta", "pre", "rc" };
    static readonly string[] Post = { "cvs", "svn", "git", "hg", "p" };

    public int Compare(string a, string b)
    {
        var ta = Tokens(a);
        var tb = Tokens(b);
        for (int i = 0; ; i++)
        {
            var (at, av, atext) = ta[Math.Min(i, ta.Count - 1)];
            var (bt, bv, btext) = tb[Math.Min(i, tb.Count - 1)];
            if (at == bt)
            {
                if (at == T.End) return 0;
                // A commit hash, and a later number with a leading zero ("4.09", "8.2.0015"), compare as strings: as decimal fractions.
                int c = at == T.Hash || (at == T.Digit && i > 0 && (atext.StartsWith('0') || btext.StartsWith('0')))
                    ? Math.Sign(string.CompareOrdinal(atext, btext)) : av.CompareTo(bv);
                if (c != 0) return c;
                continue;
            }
            if (at == T.Suffix && av < 0) return -1;
            if (bt == T.Suffix && bv < 0) return 1;
            return at > bt ? -1 : 1;
        }
    }

    static List<(T Type, long Value, string Text)> Tokens(string v)
    {
        var list = new List<(T, long, string)>();
        int i = 0;
        v = v.Trim();
        string digits = "";
        long Number()
        {
            long n = 0;
            int start = i;
            while (i < v.Length && char.IsAsciiDigit(v[i])) n = Math.Min(n * 10 + (v[i++] - '0'), long.MaxValue / 10);
            digits = v[start..i];
            return n;
        }
        list.Add((T.Digit, Number(), digits));
        while (i < v.Length)
        {
            char c = v[i];
            if (c == '.' && i + 1 < v.Length && char.IsAsciiDigit(v[i + 1]))
            {
                i++;
                list.Add((T.Digit, Number(), digits));
            }
            else if (char.IsAsciiLetter(c) && (list[^1].Item1 == T.Digit))
            {
                list.Add((T.Letter, c, ""));
                i++;
            }
            else if (c == '_')
            {
                i++;
                int start = i;
                while (i < v.Length && char.IsAsciiLetter(v[i])) i++;
                var name = v[start..i];
                int pre = Array.IndexOf(Pre, name), post = Array.IndexOf(Post, name);
                list.Add((T.Suffix, pre >= 0 ? pre - Pre.Length : post >= 0 ? post + 1 : 0, name));
                if (i < v.Length && char.IsAsciiDigit(v[i])) list.Add((T.SuffixNo, Number(), digits));
            }
            else if (c == '~')
            {
                int start = ++i;
                while (i < v.Length && v[i] != '-') i++;
                list.Add((T.Hash, 0, v[start..i]));
            }
            else if (c == '-' && i + 1 < v.Length && v[i + 1] == 'r')
            {
                i += 2;
                list.Add((T.Revision, Number(), digits));
            }
            else break;
        }
        list.Add((T.End, 0, ""));
        return list;
    }
}
