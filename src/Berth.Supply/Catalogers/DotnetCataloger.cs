using System.Text.Json;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>.NET applications' *.deps.json: each "libraries" entry "NAME/VERSION" of type "package" is a NuGet package.</summary>
public sealed class DotnetCataloger : IFileCataloger
{
    public string Name => "dotnet";

    public bool Wants(string dir, string name) => name.EndsWith(".deps.json", StringComparison.Ordinal);

    public IEnumerable<Package> Read(RootView root, string path)
    {
        if (root.TryRead(path, 64 << 20) is not { } bytes) return Array.Empty<Package>();
        var found = new List<Package>();
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (!doc.RootElement.TryGetProperty("libraries", out var libs) || libs.ValueKind != JsonValueKind.Object) return found;
            foreach (var lib in libs.EnumerateObject())
            {
                if (!lib.Value.TryGetProperty("type", out var t) || t.GetString() != "package") continue;
                int slash = lib.Name.IndexOf('/');
                if (slash <= 0) continue;
                var name = lib.Name[..slash];
                var version = lib.Name[(slash + 1)..];
                found.Add(new Package("nuget", name, version)
                {
                    Purl = PackageUrl.Build("nuget", null, name, version), Cpes = new[] { Cpe.Of(name, name, version) },
                    Location = path, FoundBy = "dotnet", Layer = root.LayerOf(path),
                });
            }
        }
        catch (JsonException e)
        {
            throw new SupplyException($"{path}: not JSON: {e.Message}", e);
        }
        return found;
    }
}
