namespace Berth.Supply.Versions;

/// <summary>
/// rpm's order of [EPOCH:]VERSION[-RELEASE] (rpmvercmp.c, rpmVersionCompare): the epoch numerically
/// (none is 0), then version and release each by rpmvercmp — alternating digit and letter runs,
/// other characters only separate; digits beat letters; '~' sorts before anything, even the end;
/// '^' after the end but before anything else.
/// </summary>
public sealed class RpmVersion : IVersionOrder
{
    public int Compare(string a, string b)
    {
        var (ea, va, ra) = Split(a);
        var (eb, vb, rb) = Split(b);
        if (ea != eb) return ea.CompareTo(eb);
        int c = Segments(va, vb);
        return c != 0 ? c : Segments(ra, rb);
    }

    public static (long Epoch, string Version, string Release) Split(string evr)
    {
        evr = evr.Trim();
        long epoch = 0;
        int colon = evr.IndexOf(':');
        if (colon >= 0)
        {
            long.TryParse(evr.AsSpan(0, colon), out epoch);
            evr = evr[(colon + 1)..];
        }
        int dash = evr.LastIndexOf('-');
        return dash >= 0 ? (epoch, evr[..dash], evr[(dash + 1)..]) : (epoch, evr, "");
    }

    /// <summary>rpmvercmp: negative, zero or positive.</summary>
    public static int Segments(string a, string b)
    {
        if (a == b) return 0;
        int i = 0, j = 0;
        static bool Sep(char c) => !char.IsAsciiLetterOrDigit(c) && c != '~' && c != '^';
        while (i < a.Length || j < b.Length)
        {
            while (i < a.Length && Sep(a[i])) i++;
            while (j < b.Length && Sep(b[j])) j++;
            char ca = i < a.Length ? a[i] : '\0', cb = j < b.Length ? b[j] : '\0';
            if (ca == '~' || cb == '~')
            {
                if (ca != '~') return 1;
                if (cb != '~') return -1;
                i++; j++;
                continue;
            }
            // '^' (a snapshot after a release): the plain release sorts before it, anything else after.
            if (ca == '^' || cb == '^')
            {
                if (i >= a.Length) return -1;
                if (j >= b.Length) return 1;
                if (ca != '^') return 1;
                if (cb != '^') return -1;
                i++; j++;
                continue;
            }
            if (i >= a.Length || j >= b.Length) break;
            int si = i, sj = j;
            bool numeric = char.IsAsciiDigit(a[i]);
            if (numeric)
            {
                while (i < a.Length && char.IsAsciiDigit(a[i])) i++;
                while (j < b.Length && char.IsAsciiDigit(b[j])) j++;
            }
            else
            {
                while (i < a.Length && char.IsAsciiLetter(a[i])) i++;
                while (j < b.Length && char.IsAsciiLetter(b[j])) j++;
            }
            // Segments of different kinds: a number is newer than letters.
            if (sj == j) return numeric ? 1 : -1;
            var x = a.AsSpan(si, i - si);
            var y = b.AsSpan(sj, j - sj);
            if (numeric)
            {
                x = x.TrimStart('0');
                y = y.TrimStart('0');
                if (x.Length != y.Length) return x.Length > y.Length ? 1 : -1;
            }
            int c = x.SequenceCompareTo(y);
            if (c != 0) return c < 0 ? -1 : 1;
        }
        if (i >= a.Length && j >= b.Length) return 0;
        return i >= a.Length ? -1 : 1;
    }
}
