using System.Text.Json;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// npm packages: every package.json that has a name and a version — those installed under node_modules
/// (NAME/ or @SCOPE/NAME/, at any depth) and those of applications and bundled sub-packages elsewhere,
/// as syft's and cdxgen's catalogers count them. One without a version ("main"-only stubs) is not a package.
/// </summary>
public sealed class NpmCataloger : IFileCataloger
{
    public string Name => "npm";

    public bool Wants(string dir, string name) => name == "package.json";

    public IEnumerable<Package> Read(RootView root, string path)
    {
        if (root.TryRead(path, 16 << 20) is not { } bytes) yield break;
        string? name = null, version = null, license = null, author = null;
        try
        {
            using var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) yield break;
            name = Str(r, "name");
            version = Str(r, "version");
            license = r.TryGetProperty("license", out var l) ? (l.ValueKind == JsonValueKind.String ? l.GetString() : Str(l, "type"))
                : r.TryGetProperty("licenses", out var ls) && ls.ValueKind == JsonValueKind.Array
                    ? string.Join(" OR ", ls.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString() : Str(x, "type")).Where(x => x is not null))
                    : null;
            author = r.TryGetProperty("author", out var a) ? (a.ValueKind == JsonValueKind.String ? a.GetString() : Str(a, "name")) : null;
        }
        catch (JsonException)
        {
            yield break;
        }
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version)) yield break;
        string? scope = null;
        var bare = name;
        if (name.StartsWith('@') && name.IndexOf('/') is var slash and > 0)
        {
            scope = name[..slash];
            bare = name[(slash + 1)..];
        }
        yield return new Package("npm", bare, version)
        {
            Namespace = scope, Purl = PackageUrl.Build("npm", scope, bare, version), Cpes = new[] { Cpe.Of(bare, bare, version) },
            License = Licenses.Expression(license), Location = path, FoundBy = "npm", Supplier = author, Layer = root.LayerOf(path),
        };
    }

    static string? Str(JsonElement e, string key) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
