using System.Text.RegularExpressions;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// Installed Ruby gems: RubyGems writes each one's specification as Ruby to
/// …/specifications/NAME-VERSION.gemspec (`s.name = "rake".freeze`, `s.version = "13.0.6"`,
/// `s.licenses = ["MIT".freeze]`, `s.authors = […]`). The file is read as text, never run.
/// </summary>
public sealed partial class GemCataloger : IFileCataloger
{
    public string Name => "gem";

    public bool Wants(string dir, string name) => name.EndsWith(".gemspec", StringComparison.Ordinal) && dir.EndsWith("/specifications", StringComparison.Ordinal);

    [GeneratedRegex(@"^\s*\w+\.(name|version|license|licenses|authors|homepage)\s*=\s*(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex Assignment();

    [GeneratedRegex(@"""((?:[^""\\]|\\.)*)""|'((?:[^'\\]|\\.)*)'")]
    private static partial Regex StringLiteral();

    public IEnumerable<Package> Read(RootView root, string path)
    {
        if (root.TryReadText(path, 4 << 20) is not { } text) yield break;
        var fields = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (Match m in Assignment().Matches(text))
            // The first assignment of each wins: installed specifications assign each once, at the top.
            fields.TryAdd(m.Groups[1].Value, StringLiteral().Matches(m.Groups[2].Value).Select(s => s.Groups[1].Success ? s.Groups[1].Value : s.Groups[2].Value).ToList());
        var name = fields.GetValueOrDefault("name")?.FirstOrDefault();
        var version = fields.GetValueOrDefault("version")?.FirstOrDefault();
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version)) yield break;
        var licenses = (fields.GetValueOrDefault("licenses") ?? fields.GetValueOrDefault("license") ?? new()).Select(Licenses.Expression).Where(l => l is not null).Distinct().ToList();
        yield return new Package("gem", name, version)
        {
            Purl = PackageUrl.Build("gem", null, name, version), Cpes = new[] { Cpe.Of(name, name, version) },
            License = licenses.Count == 0 ? null : string.Join(" OR ", licenses.Select(l => l!.Contains(' ') ? $"({l})" : l)),
            Location = path, FoundBy = "gem", Supplier = fields.GetValueOrDefault("authors") is { Count: > 0 } a ? string.Join(", ", a) : null, Layer = root.LayerOf(path),
        };
    }
}
