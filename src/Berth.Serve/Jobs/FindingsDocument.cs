using System.Text.Json;
using Berth.Serve.Plugins;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Jobs;

/// <summary>
/// The findings of one image against one database version, as stored (encrypted) and served:
/// {"image","digest","database":{"version","records"},"sbom":{CycloneDX},"matches":[…]}. The stored
/// form has no VEX: statements posted later are applied when it is read (<see cref="WriteWithVex"/>),
/// so a VEX changes a finding's state without a rescan.
/// </summary>
public static class FindingsDocument
{
    public static byte[] Write(string image, string digest, string scanner, ScanOutput output)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("image", image);
            w.WriteString("digest", digest);
            w.WriteString("scanner", scanner);
            w.WriteStartObject("database");
            w.WriteString("version", output.DatabaseVersion);
            w.WriteEndObject();
            if (output.Sbom is { } sbom)
            {
                w.WritePropertyName("sbom");
                w.WriteRawValue(sbom);
            }
            else w.WriteNull("sbom");
            w.WriteStartArray("matches");
            foreach (var m in output.Matches)
            {
                w.WriteStartObject();
                w.WriteString("id", m.Id);
                w.WriteStartArray("aliases");
                foreach (var a in m.Aliases) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteString("package", m.Package);
                w.WriteString("version", m.Version);
                w.WriteString("purl", m.Purl);
                w.WriteString("severity", m.Severity);
                if (m.FixedIn is not null) w.WriteString("fixedIn", m.FixedIn);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    public static string Severity(Severity s) => s.ToString().ToLowerInvariant();

    /// <summary>
    /// Writes the stored document's members into the open object <paramref name="w"/>, each match with
    /// its "vex" state and "suppressed" under <paramref name="statements"/>, by OpenVexStatement.Apply's
    /// rule: the last matching statement (by timestamp, then order) wins.
    /// </summary>
    public static void WriteWithVex(Utf8JsonWriter w, JsonElement stored, IReadOnlyList<OpenVexStatement> statements)
    {
        var ordered = statements.Select((s, i) => (s, i)).OrderBy(x => x.s.Timestamp ?? "", StringComparer.Ordinal).ThenBy(x => x.i).Select(x => x.s).ToList();
        foreach (var p in stored.EnumerateObject())
        {
            if (p.Name != "matches") { p.WriteTo(w); continue; }
            w.WriteStartArray("matches");
            foreach (var m in p.Value.EnumerateArray())
            {
                var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { m.GetProperty("id").GetString()! };
                foreach (var a in m.GetProperty("aliases").EnumerateArray()) names.Add(a.GetString()!);
                var purl = m.GetProperty("purl").GetString()!;
                var match = ordered.LastOrDefault(s => (names.Contains(s.Vulnerability) || s.Aliases.Any(names.Contains)) && s.Products.Any(pr => OpenVexStatement.ProductMatches(pr, purl)));
                w.WriteStartObject();
                foreach (var f in m.EnumerateObject()) f.WriteTo(w);
                if (match is null) w.WriteNull("vex");
                else
                {
                    w.WriteStartObject("vex");
                    w.WriteString("status", match.Status);
                    if (match.Justification is not null) w.WriteString("justification", match.Justification);
                    if ((match.ImpactStatement ?? match.ActionStatement) is { } text) w.WriteString("statement", text);
                    w.WriteEndObject();
                }
                w.WriteBoolean("suppressed", match?.Status is "not_affected" or "fixed");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
    }
}
