namespace Berth.Supply.Versions;

/// <summary>
/// deb-version(7): [EPOCH:]UPSTREAM[-REVISION]; each part compared as alternating non-digit and
/// digit runs, letters before non-letters, '~' before anything (even the end).
/// </summary>
public sealed class DpkgVersion : IVersionOrder
{
    public int Compare(string a, string b)
    {
        var (ea, ua, ra) = Split(a);
        var (eb, ub, rb) = Split(b);
        if (ea != eb) return ea.CompareTo(eb);
        int c = Part(ua, ub);
        return c != 0 ? c : Part(ra, rb);
    }

    static (long Epoch, string Upstream, string Revision) Split(string v)
    {
        v = v.Trim();
        long epoch = 0;
        int colon = v.IndexOf(':');
        if (colon > 0 && long.TryParse(v.AsSpan(0, colon), out var e))
        {
            epoch = e;
            v = v[(colon + 1)..];
        }
        int dash = v.LastIndexOf('-');
        return dash >= 0 ? (epoch, v[..dash], v[(dash + 1)..]) : (epoch, v, "");
    }

    static int Order(char c) => c == '~' ? -1 : char.IsAsciiDigit(c) ? 0 : char.IsAsciiLetter(c) ? c : c + 256;

    /// <summary>dpkg's verrevcmp.</summary>
    static int Part(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length || j < b.Length)
        {
            int firstDiff = 0;
            while ((i < a.Length && !char.IsAsciiDigit(a[i])) || (j < b.Length && !char.IsAsciiDigit(b[j])))
            {
                int ac = i < a.Length ? Order(a[i]) : 0;
                int bc = j < b.Length ? Order(b[j]) : 0;
                if (ac != bc) return ac - bc;
                i++;
                j++;
            }
            while (i < a.Length && a[i] == '0') i++;
            while (j < b.Length && b[j] == '0') j++;
            while (i < a.Length && char.IsAsciiDigit(a[i]) && j < b.Length && char.IsAsciiDigit(b[j]))
            {
                if (firstDiff == 0) firstDiff = a[i] - b[j];
                i++;
                j++;
            }
            if (i < a.Length && char.IsAsciiDigit(a[i])) return 1;
            if (j < b.Length && char.IsAsciiDigit(b[j])) return -1;
            if (firstDiff != 0) return firstDiff;
        }
        return 0;
    }
}
