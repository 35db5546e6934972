using System.Numerics;

namespace Berth.Supply.Versions;

/// <summary>
/// Maven's ComparableVersion (maven-artifact 3.8): the version lower-cased and cut at '.', '-' and
/// digit/letter transitions into numbers and qualifiers; '-' and a transition open a nested list
/// (and so does a qualifier after '.', "1.foo" = "1-foo"); trailing nulls (0, "", "ga", "final",
/// "release") are dropped. Qualifiers order alpha &lt; beta &lt; milestone &lt; rc = cr &lt; snapshot &lt;
/// "" &lt; sp &lt; any other (lexically); a, b and m directly before a digit are alpha, beta, milestone.
/// A number beats a list, which beats a qualifier.
/// </summary>
public sealed class MavenVersion : IVersionOrder
{
    abstract record Item
    {
        public abstract bool IsNull { get; }
    }

    sealed record Number(BigInteger Value) : Item
    {
        public override bool IsNull => Value.IsZero;
    }

    sealed record Qualifier(string Value) : Item
    {
        public override bool IsNull => Rank(Value) == Release;
    }

    sealed record ListItem(List<Item> Items) : Item
    {
        public override bool IsNull => Items.Count == 0;
    }

    static readonly string[] Known = { "alpha", "beta", "milestone", "rc", "snapshot", "", "sp" };
    static readonly string Release = "5";

    // ComparableVersion's comparableQualifier: an index for a known one, "7-NAME" (after all of them, lexically) for others.
    static string Rank(string q) => Array.IndexOf(Known, q) is var i and >= 0 ? i.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{Known.Length}-{q}";

    public int Compare(string a, string b) => Cmp(Parse(a), Parse(b));

    static Qualifier MakeQualifier(string s, bool followedByDigit)
    {
        if (followedByDigit && s.Length == 1)
            s = s[0] switch { 'a' => "alpha", 'b' => "beta", 'm' => "milestone", _ => s };
        return new Qualifier(s switch { "ga" or "final" or "release" => "", "cr" => "rc", _ => s });
    }

    static Item ParseItem(bool digits, string s) => digits ? new Number(BigInteger.Parse(s, System.Globalization.CultureInfo.InvariantCulture)) : MakeQualifier(s, false);

    static ListItem Parse(string version)
    {
        var v = version.ToLowerInvariant();
        var items = new ListItem(new List<Item>());
        var list = items;
        var stack = new Stack<ListItem>();
        stack.Push(list);
        void Nest()
        {
            var sub = new ListItem(new List<Item>());
            list.Items.Add(sub);
            list = sub;
            stack.Push(list);
        }
        bool digits = false;
        int start = 0;
        for (int i = 0; i < v.Length; i++)
        {
            char c = v[i];
            if (c == '.' || c == '-')
            {
                list.Items.Add(i == start ? new Number(BigInteger.Zero) : ParseItem(digits, v[start..i]));
                start = i + 1;
                if (c == '-') Nest();
            }
            else if (char.IsAsciiDigit(c))
            {
                if (!digits && i > start)
                {
                    // 1.0.0.X1 < 1.0.0-X2: a qualifier after '.' is one after '-'.
                    if (list.Items.Count > 0) Nest();
                    list.Items.Add(MakeQualifier(v[start..i], true));
                    start = i;
                    Nest();
                }
                digits = true;
            }
            else
            {
                if (digits && i > start)
                {
                    list.Items.Add(ParseItem(true, v[start..i]));
                    start = i;
                    Nest();
                }
                digits = false;
            }
        }
        if (v.Length > start)
        {
            if (!digits && list.Items.Count > 0) Nest();
            list.Items.Add(ParseItem(digits, v[start..]));
        }
        while (stack.TryPop(out var l)) Normalize(l);
        return items;
    }

    // Trailing nulls go, walking back over lists (which stay, even when emptied).
    static void Normalize(ListItem l)
    {
        for (int i = l.Items.Count - 1; i >= 0; i--)
        {
            if (l.Items[i].IsNull) l.Items.RemoveAt(i);
            else if (l.Items[i] is not ListItem) break;
        }
    }

    static int Cmp(Item? a, Item? b)
    {
        switch (a)
        {
            case null: return b is null ? 0 : -Cmp(b, null);
            case Number n:
                return b switch
                {
                    null => n.Value.IsZero ? 0 : 1,
                    Number m => n.Value.CompareTo(m.Value),
                    _ => 1,
                };
            case Qualifier q:
                return b switch
                {
                    null => Math.Sign(string.CompareOrdinal(Rank(q.Value), Release)),
                    Qualifier r => Math.Sign(string.CompareOrdinal(Rank(q.Value), Rank(r.Value))),
                    _ => -1,
                };
            case ListItem l:
                switch (b)
                {
                    // Against nothing: the first item that is not null decides ("1-ga.1" > "1").
                    case null: return l.Items.Select(x => Cmp(x, null)).FirstOrDefault(c => c != 0);
                    case Number: return -1;
                    case Qualifier: return 1;
                    case ListItem m:
                        for (int i = 0; i < Math.Max(l.Items.Count, m.Items.Count); i++)
                        {
                            var x = i < l.Items.Count ? l.Items[i] : null;
                            var y = i < m.Items.Count ? m.Items[i] : null;
                            int c = x is null ? (y is null ? 0 : -Cmp(y, null)) : Cmp(x, y);
                            if (c != 0) return c;
                        }
                        return 0;
                }
                break;
        }
        return 0;
    }
}
