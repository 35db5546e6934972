using System.Text;

namespace Berth.Supply.Sbom;

/// <summary>One line a package, for people: NAME VERSION TYPE LICENSE.</summary>
public static class TableWriter
{
    public static string Write(Inventory inv)
    {
        var rows = inv.Packages.Select(p => (Name: p.Namespace is not null && p.Type == "npm" ? $"{p.Namespace}/{p.Name}" : p.Name, p.Version, p.Type, License: p.License ?? "")).ToList();
        int n = Math.Max(4, rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length)), v = Math.Max(7, rows.Count == 0 ? 0 : rows.Max(r => r.Version.Length));
        var sb = new StringBuilder();
        if (inv.Os is { } os) sb.Append($"OS: {os.PrettyName ?? os.Distro}\n");
        sb.Append($"{"NAME".PadRight(n)}  {"VERSION".PadRight(v)}  {"TYPE",-6}  LICENSE\n");
        foreach (var r in rows) sb.Append($"{r.Name.PadRight(n)}  {r.Version.PadRight(v)}  {r.Type,-6}  {r.License}".TrimEnd()).Append('\n');
        sb.Append($"{rows.Count} packages\n");
        return sb.ToString();
    }
}
