using System.Text;
using Berth.Supply.Packages;

namespace Berth.Supply.Sbom;

/// <summary>
/// `berth sbom diff A B`: packages added, removed and changed between two inventories (a base-image
/// bump's review). A package is the same one in both when its type, namespace, name and arch are.
/// </summary>
public static class InventoryDiff
{
    public sealed record Change(string Kind, string Type, string Name, string? From, string? To);

    public static List<Change> Compare(Inventory a, Inventory b)
    {
        static string Id(Package p) => $"{p.Type}\u0000{p.Namespace}\u0000{p.Name}\u0000{p.Arch}";
        static string Display(Package p) => p.Namespace is not null && p.Type is "npm" or "golang" ? $"{p.Namespace}/{p.Name}" : p.Name;
        var before = a.Packages.GroupBy(Id).ToDictionary(g => g.Key, g => g.Select(p => p.Version).Distinct().Order(StringComparer.Ordinal).ToList());
        var after = b.Packages.GroupBy(Id).ToDictionary(g => g.Key, g => g.Select(p => p.Version).Distinct().Order(StringComparer.Ordinal).ToList());
        var named = a.Packages.Concat(b.Packages).GroupBy(Id).ToDictionary(g => g.Key, g => g.First());
        var changes = new List<Change>();
        foreach (var id in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            var p = named[id];
            var from = before.GetValueOrDefault(id);
            var to = after.GetValueOrDefault(id);
            if (from is null) changes.Add(new("added", p.Type, Display(p), null, string.Join(", ", to!)));
            else if (to is null) changes.Add(new("removed", p.Type, Display(p), string.Join(", ", from), null));
            else if (!from.SequenceEqual(to)) changes.Add(new("changed", p.Type, Display(p), string.Join(", ", from), string.Join(", ", to)));
        }
        return changes;
    }

    public static string Table(List<Change> changes)
    {
        if (changes.Count == 0) return "no package changes\n";
        int n = Math.Max(4, changes.Max(c => c.Name.Length)), f = Math.Max(4, changes.Max(c => (c.From ?? "").Length));
        var sb = new StringBuilder($"{"CHANGE",-8} {"TYPE",-6} {"NAME".PadRight(n)}  {"FROM".PadRight(f)}  TO\n");
        foreach (var c in changes) sb.Append($"{c.Kind,-8} {c.Type,-6} {c.Name.PadRight(n)}  {(c.From ?? "").PadRight(f)}  {c.To}".TrimEnd()).Append('\n');
        sb.Append($"{changes.Count(c => c.Kind == "added")} added, {changes.Count(c => c.Kind == "removed")} removed, {changes.Count(c => c.Kind == "changed")} changed\n");
        return sb.ToString();
    }
}
