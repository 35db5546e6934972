using System.Text.Json;

namespace Berth.Supply.Vulnerabilities;

/// <summary>
/// The fields of an OSV record (ossf.github.io/osv-schema) that matching needs: id, aliases,
/// summary, severity, and each affected package's ranges and versions.
/// </summary>
public sealed record OsvRecord(string Id, string? Modified, IReadOnlyList<string> Aliases, string? Summary, IReadOnlyList<(string Type, string Score)> SeverityScores,
    string? DatabaseSeverity, IReadOnlyList<OsvAffected> Affected)
{
    public static OsvRecord Parse(JsonElement r, string what)
    {
        if (r.ValueKind != JsonValueKind.Object) throw new SupplyException($"{what}: an OSV record is a JSON object");
        var id = Str(r, "id") ?? throw new SupplyException($"{what}: no \"id\"");
        var aliases = Strings(r, "aliases");
        var scores = new List<(string, string)>();
        if (r.TryGetProperty("severity", out var sev) && sev.ValueKind == JsonValueKind.Array)
            foreach (var s in sev.EnumerateArray())
                if (Str(s, "type") is { } t && Str(s, "score") is { } score) scores.Add((t, score));
        var affected = new List<OsvAffected>();
        if (r.TryGetProperty("affected", out var aff) && aff.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var a in aff.EnumerateArray())
            {
                var where = $"{what}: {id}: affected[{i++}]";
                if (!a.TryGetProperty("package", out var pkg)) continue;
                var eco = Str(pkg, "ecosystem") ?? throw new SupplyException($"{where}.package: no \"ecosystem\"");
                var name = Str(pkg, "name") ?? throw new SupplyException($"{where}.package: no \"name\"");
                var ranges = new List<OsvRange>();
                if (a.TryGetProperty("ranges", out var rs) && rs.ValueKind == JsonValueKind.Array)
                    foreach (var range in rs.EnumerateArray())
                    {
                        var type = Str(range, "type") ?? throw new SupplyException($"{where}.ranges: no \"type\"");
                        var events = new List<(string, string)>();
                        if (range.TryGetProperty("events", out var evs) && evs.ValueKind == JsonValueKind.Array)
                            foreach (var e in evs.EnumerateArray())
                                foreach (var p in e.EnumerateObject())
                                    if (p.Value.ValueKind == JsonValueKind.String) events.Add((p.Name, p.Value.GetString()!));
                        ranges.Add(new OsvRange(type, events));
                    }
                string? affSeverity = a.TryGetProperty("database_specific", out var ads) ? Str(ads, "severity") : null;
                affSeverity ??= a.TryGetProperty("ecosystem_specific", out var aes) ? Str(aes, "severity") : null;
                affected.Add(new OsvAffected(eco, name, ranges, Strings(a, "versions"), affSeverity));
            }
        }
        var dbSeverity = r.TryGetProperty("database_specific", out var ds) ? Str(ds, "severity") : null;
        return new OsvRecord(id, Str(r, "modified"), aliases, Str(r, "summary"), scores, dbSeverity, affected);
    }

    static string? Str(JsonElement e, string k) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    static List<string> Strings(JsonElement e, string k) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : new();

    /// <summary>The CVSS v3 base score and its rating, else the database's own word ("HIGH", "MODERATE"), else Unknown.</summary>
    public (Severity Severity, double? Score, string? Vector) Rate(OsvAffected? affected = null)
    {
        foreach (var (type, score) in SeverityScores)
            if (type == "CVSS_V3" && score.StartsWith("CVSS:3.", StringComparison.Ordinal))
            {
                var s = Cvss3.BaseScore(score);
                return (Cvss3.Rating(s), s, score);
            }
        foreach (var word in new[] { affected?.Severity, DatabaseSeverity })
            if (word is not null)
                try { return (Severities.Parse(word), null, null); }
                catch (SupplyException) { }
        return (Severity.Unknown, null, null);
    }
}

public sealed record OsvAffected(string Ecosystem, string Name, IReadOnlyList<OsvRange> Ranges, IReadOnlyList<string> Versions, string? Severity);

/// <summary>A range: its type (ECOSYSTEM, SEMVER, GIT) and events in the record's order (introduced, fixed, last_affected, limit).</summary>
public sealed record OsvRange(string Type, IReadOnlyList<(string Kind, string Version)> Events);
