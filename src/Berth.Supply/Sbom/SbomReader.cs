using System.Text.Json;
using Berth.Supply.Vulnerabilities;

namespace Berth.Supply.Sbom;

/// <summary>The packages of an SBOM to scan, by purl: CycloneDX JSON components (nested too) or SPDX JSON packages' purl external refs.</summary>
public static class SbomReader
{
    public static bool LooksLikeSbom(byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.ValueKind == JsonValueKind.Object && (doc.RootElement.TryGetProperty("bomFormat", out _) || doc.RootElement.TryGetProperty("spdxVersion", out _));
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static List<Matcher.Target> Read(byte[] json, string what)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var targets = new List<Matcher.Target>();
        if (root.TryGetProperty("bomFormat", out _))
        {
            void Walk(JsonElement components)
            {
                foreach (var c in components.EnumerateArray())
                {
                    if (c.TryGetProperty("purl", out var p) && p.ValueKind == JsonValueKind.String)
                        targets.Add(new Matcher.Target(p.GetString()!, Property(c, "berth:location") ?? what));
                    if (c.TryGetProperty("components", out var nested) && nested.ValueKind == JsonValueKind.Array) Walk(nested);
                }
            }
            if (root.TryGetProperty("components", out var cs) && cs.ValueKind == JsonValueKind.Array) Walk(cs);
        }
        else if (root.TryGetProperty("spdxVersion", out _))
        {
            if (root.TryGetProperty("packages", out var ps) && ps.ValueKind == JsonValueKind.Array)
                foreach (var p in ps.EnumerateArray())
                    if (p.TryGetProperty("externalRefs", out var refs) && refs.ValueKind == JsonValueKind.Array)
                        foreach (var r in refs.EnumerateArray())
                            if (r.TryGetProperty("referenceType", out var t) && t.GetString() == "purl" && r.TryGetProperty("referenceLocator", out var l) && l.GetString() is { } purl)
                                targets.Add(new Matcher.Target(purl, p.TryGetProperty("sourceInfo", out var si) && si.GetString() is { } info ? info : what));
        }
        else throw new SupplyException($"{what}: neither CycloneDX (bomFormat) nor SPDX (spdxVersion) JSON");
        return targets.DistinctBy(t => t.Purl + "\n" + t.Location).ToList();
    }

    static string? Property(JsonElement c, string name)
    {
        if (!c.TryGetProperty("properties", out var ps) || ps.ValueKind != JsonValueKind.Array) return null;
        foreach (var p in ps.EnumerateArray())
            if (p.TryGetProperty("name", out var n) && n.GetString() == name && p.TryGetProperty("value", out var v)) return v.GetString();
        return null;
    }
}
