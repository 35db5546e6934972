using System.Text;
using System.Text.Json;

namespace Berth.Supply.Vulnerabilities;

/// <summary>Findings written for people (table), for programs (json) and for code-scanning UIs (SARIF 2.1.0).</summary>
public static class ScanReport
{
    public static string Table(IReadOnlyList<Finding> findings)
    {
        if (findings.Count == 0) return "no vulnerabilities found\n";
        var rows = findings.Select(f => new[]
        {
            f.PackageName, f.Version, f.Record.Id, f.Severity.ToString() + (f.Score is { } s ? $" {Cvss3.Format(s)}" : ""), f.FixedIn ?? "",
            f.VexStatus is null ? "" : f.Suppressed ? $"not exploitable ({f.VexStatus}{(f.VexJustification is null ? "" : ": " + f.VexJustification)})" : f.VexStatus,
        }).ToList();
        var header = new[] { "PACKAGE", "VERSION", "VULNERABILITY", "SEVERITY", "FIXED IN", "VEX" };
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        void Line(string[] cells) => sb.Append(string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd()).Append('\n');
        Line(header);
        foreach (var r in rows) Line(r);
        int suppressed = findings.Count(f => f.Suppressed);
        sb.Append($"{findings.Count} findings ({string.Join(", ", findings.Where(f => !f.Suppressed).GroupBy(f => f.Severity).OrderByDescending(g => g.Key).Select(g => $"{g.Count()} {g.Key}"))}" +
            $"{(suppressed > 0 ? $"; {suppressed} not exploitable per VEX" : "")})\n");
        return sb.ToString();
    }

    public static byte[] Json(IReadOnlyList<Finding> findings)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("matches");
            foreach (var f in findings)
            {
                w.WriteStartObject();
                w.WriteString("vulnerability", f.Record.Id);
                w.WriteStartArray("aliases");
                foreach (var a in f.Record.Aliases) w.WriteStringValue(a);
                w.WriteEndArray();
                if (f.Record.Summary is not null) w.WriteString("summary", f.Record.Summary);
                w.WriteString("severity", f.Severity.ToString());
                if (f.Score is { } s) w.WriteNumber("cvss_score", s);
                if (f.Vector is not null) w.WriteString("cvss_vector", f.Vector);
                w.WriteStartObject("package");
                w.WriteString("name", f.PackageName);
                w.WriteString("version", f.Version);
                w.WriteString("purl", f.Purl);
                w.WriteString("location", f.Location);
                w.WriteEndObject();
                if (f.FixedIn is not null) w.WriteString("fixed_in", f.FixedIn);
                if (f.VexStatus is not null)
                {
                    w.WriteStartObject("vex");
                    w.WriteString("status", f.VexStatus);
                    if (f.VexJustification is not null) w.WriteString("justification", f.VexJustification);
                    if (f.VexStatement is not null) w.WriteString("statement", f.VexStatement);
                    w.WriteEndObject();
                }
                w.WriteBoolean("suppressed", f.Suppressed);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }

    /// <summary>SARIF 2.1.0 (OASIS): one rule a vulnerability, one result a finding; VEX-suppressed findings carry an external suppression.</summary>
    public static byte[] Sarif(IReadOnlyList<Finding> findings, string toolVersion, string target)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
            w.WriteString("version", "2.1.0");
            w.WriteStartArray("runs");
            w.WriteStartObject();
            w.WriteStartObject("tool");
            w.WriteStartObject("driver");
            w.WriteString("name", "berth");
            w.WriteString("version", toolVersion);
            w.WriteString("informationUri", "https://osv.dev");
            w.WriteStartArray("rules");
            foreach (var f in findings.DistinctBy(f => f.Record.Id).OrderBy(f => f.Record.Id, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("id", f.Record.Id);
                w.WriteStartObject("shortDescription");
                w.WriteString("text", f.Record.Summary ?? f.Record.Id);
                w.WriteEndObject();
                w.WriteString("helpUri", $"https://osv.dev/vulnerability/{f.Record.Id}");
                w.WriteStartObject("properties");
                // GitHub code scanning reads security-severity as a number in a string.
                if (f.Score is { } s) w.WriteString("security-severity", Cvss3.Format(s));
                w.WriteStartArray("tags");
                w.WriteStringValue("security");
                w.WriteEndArray();
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("results");
            foreach (var f in findings)
            {
                w.WriteStartObject();
                w.WriteString("ruleId", f.Record.Id);
                w.WriteString("level", f.Severity is Severity.Critical or Severity.High ? "error" : f.Severity is Severity.Medium ? "warning" : "note");
                w.WriteStartObject("message");
                w.WriteString("text", $"{f.PackageName} {f.Version} is affected by {f.Record.Id}" + (f.FixedIn is null ? " (no fix yet)" : $" (fixed in {f.FixedIn})"));
                w.WriteEndObject();
                w.WriteStartArray("locations");
                w.WriteStartObject();
                w.WriteStartObject("physicalLocation");
                w.WriteStartObject("artifactLocation");
                w.WriteString("uri", f.Location.TrimStart('/').Length > 0 ? f.Location.TrimStart('/') : target);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                if (f.Suppressed)
                {
                    w.WriteStartArray("suppressions");
                    w.WriteStartObject();
                    w.WriteString("kind", "external");
                    w.WriteString("justification", $"VEX {f.VexStatus}" + (f.VexJustification is null ? "" : $": {f.VexJustification}"));
                    w.WriteEndObject();
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        ms.WriteByte((byte)'\n');
        return ms.ToArray();
    }
}
