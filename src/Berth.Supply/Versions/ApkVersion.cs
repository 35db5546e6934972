namespace Berth.Supply.Versions;

/// <summary>
/// apk-tools' version order (Gentoo's, as apk_version_compare tokenizes it):
/// NUMBER{.NUMBER}[LETTER]{_SUFFIX[NUMBER]}[~HASH][-rREVISION]. Pre-release suffixes
/// (_alpha, _beta, _pre, _rc) sort before the bare version, post ones (_cvs, _svn, _git, _hg, _p) after;
/// where one version ends and the other goes on, the longer is greater unless it goes on with a pre-release suffix.
/// </summary>
public sealed class ApkVersion : IVersionOrder
{
    // The token types in apk's order: a later type sorts lower when the two versions part there.
    enum T { Digit, Letter, Suffix, SuffixNo, Revision, End }

    static readonly string[] Pre = { "alpha", "beta", "pre", "rc" };
    static readonly string[] Post = { "cvs", "svn", "git", "hg", "p" };

    public int Compare(string a, string b)
    {
        var ta = Tokens(a);
        var tb = Tokens(b);
        for (int i = 0; ; i++)
        {
            var (at, av) = ta[Math.Min(i, ta.Count - 1)];
            var (bt, bv) = tb[Math.Min(i, tb.Count - 1)];
            if (at == bt)
            {
                if (at == T.End) return 0;
                if (av != bv) return av.CompareTo(bv);
                continue;
            }
            if (at == T.Suffix && av < 0) return -1;
            if (bt == T.Suffix && bv < 0) return 1;
            return at > bt ? -1 : 1;
        }
    }

    static List<(T Type, long Value)> Tokens(string v)
    {
        var list = new List<(T, long)>();
        int i = 0;
        v = v.Trim();
        long Number()
        {
            long n = 0;
            while (i < v.Length && char.IsAsciiDigit(v[i])) n = Math.Min(n * 10 + (v[i++] - '0'), long.MaxValue / 10);
            return n;
        }
        list.Add((T.Digit, Number()));
        while (i < v.Length)
        {
            char c = v[i];
            if (c == '.' && i + 1 < v.Length && char.IsAsciiDigit(v[i + 1]))
            {
                i++;
                list.Add((T.Digit, Number()));
            }
            else if (char.IsAsciiLetter(c) && (list[^1].Item1 == T.Digit))
            {
                list.Add((T.Letter, c));
                i++;
            }
            else if (c == '_')
            {
                i++;
                int start = i;
                while (i < v.Length && char.IsAsciiLetter(v[i])) i++;
                var name = v[start..i];
                int pre = Array.IndexOf(Pre, name), post = Array.IndexOf(Post, name);
                list.Add((T.Suffix, pre >= 0 ? pre - Pre.Length : post >= 0 ? post + 1 : 0));
                if (i < v.Length && char.IsAsciiDigit(v[i])) list.Add((T.SuffixNo, Number()));
            }
            else if (c == '~')
            {
                // A commit hash: not ordered.
                while (i < v.Length && v[i] != '-') i++;
            }
            else if (c == '-' && i + 1 < v.Length && v[i + 1] == 'r')
            {
                i += 2;
                list.Add((T.Revision, Number()));
            }
            else break;
        }
        list.Add((T.End, 0));
        return list;
    }
}
