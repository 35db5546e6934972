using System.Text.Json;

namespace Berth.Supply.Vulnerabilities;

/// <summary>
/// The Debian Security Tracker's JSON (security-tracker.debian.org/tracker/data/json):
/// {SOURCE-PACKAGE: {CVE: {"releases": {CODENAME: {"status", "fixed_version", "urgency"}}}}}, turned into
/// OSV records, one a CVE, with an affected entry per package and release ("Debian:12"): fixed in
/// fixed_version when resolved ("0" means the release was never affected), open with no fix otherwise.
/// </summary>
public static class DebianTracker
{
    static readonly Dictionary<string, string> Releases = new(StringComparer.Ordinal)
    {
        ["buster"] = "10", ["bullseye"] = "11", ["bookworm"] = "12", ["trixie"] = "13", ["forky"] = "14",
    };

    /// <summary>Whether <paramref name="root"/> has the tracker's shape: packages whose issues have "releases".</summary>
    public static bool Is(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || root.TryGetProperty("id", out _)) return false;
        foreach (var package in root.EnumerateObject())
        {
            if (package.Value.ValueKind != JsonValueKind.Object) return false;
            foreach (var issue in package.Value.EnumerateObject())
                return issue.Value.ValueKind == JsonValueKind.Object && issue.Value.TryGetProperty("releases", out _);
        }
        return false;
    }

    /// <summary>The OSV records, as JSON bytes, in CVE order.</summary>
    public static IEnumerable<byte[]> ToOsv(JsonElement root)
    {
        var byCve = new SortedDictionary<string, List<(string Package, string Release, string? Fixed, string? Urgency)>>(StringComparer.Ordinal);
        var descriptions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var package in root.EnumerateObject())
            foreach (var issue in package.Value.EnumerateObject())
            {
                if (!issue.Value.TryGetProperty("releases", out var releases) || releases.ValueKind != JsonValueKind.Object) continue;
                if (issue.Value.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String) descriptions.TryAdd(issue.Name, d.GetString()!);
                foreach (var release in releases.EnumerateObject())
                {
                    if (!Releases.TryGetValue(release.Name, out var number)) continue;
                    var status = Str(release.Value, "status");
                    var fix = Str(release.Value, "fixed_version");
                    // Resolved at "0": this release never had the vulnerable code. "undetermined": nothing to match.
                    if (status == "resolved" && (fix is null || fix == "0")) continue;
                    if (status is not ("resolved" or "open")) continue;
                    if (!byCve.TryGetValue(issue.Name, out var list)) byCve[issue.Name] = list = new();
                    list.Add((package.Name, number, status == "resolved" ? fix : null, Str(release.Value, "urgency")));
                }
            }
        foreach (var (cve, affected) in byCve)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("id", "DEBIAN-" + cve);
                w.WriteStartArray("aliases");
                w.WriteStringValue(cve);
                w.WriteEndArray();
                if (descriptions.TryGetValue(cve, out var summary)) w.WriteString("summary", summary);
                w.WriteStartArray("affected");
                foreach (var (package, release, fix, urgency) in affected)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("package");
                    w.WriteString("ecosystem", $"Debian:{release}");
                    w.WriteString("name", package);
                    w.WriteEndObject();
                    w.WriteStartArray("ranges");
                    w.WriteStartObject();
                    w.WriteString("type", "ECOSYSTEM");
                    w.WriteStartArray("events");
                    w.WriteStartObject();
                    w.WriteString("introduced", "0");
                    w.WriteEndObject();
                    if (fix is not null)
                    {
                        w.WriteStartObject();
                        w.WriteString("fixed", fix);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                    w.WriteEndArray();
                    // The tracker's urgency stands for a severity where no CVSS vector is given.
                    var severity = urgency?.TrimEnd('*') switch { "high" => "HIGH", "medium" => "MEDIUM", "low" => "LOW", "unimportant" => "NONE", _ => null };
                    if (severity is not null)
                    {
                        w.WriteStartObject("ecosystem_specific");
                        w.WriteString("severity", severity);
                        w.WriteEndObject();
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            yield return ms.ToArray();
        }
    }

    static string? Str(JsonElement e, string k) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
