using System.Text.Json;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Promotion;

/// <summary>The matches of a stored findings document (Jobs/FindingsDocument) as Berth.Supply's findings, so VEX applies to them by OpenVexStatement.Apply's rule.</summary>
public static class StoredFindings
{
    public static List<Finding> Read(byte[] document)
    {
        using var doc = JsonDocument.Parse(document);
        var list = new List<Finding>();
        if (!doc.RootElement.TryGetProperty("matches", out var ms) || ms.ValueKind != JsonValueKind.Array) return list;
        foreach (var m in ms.EnumerateArray())
        {
            string S(string k) => m.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
            var aliases = m.TryGetProperty("aliases", out var al) && al.ValueKind == JsonValueKind.Array
                ? al.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToList() : new List<string>();
            var severity = S("severity") is { Length: > 0 } s ? Severities.Parse(s) : Severity.Unknown;
            var record = new OsvRecord(S("id"), null, aliases, m.TryGetProperty("summary", out var su) ? su.GetString() : null, [], S("severity"), []);
            list.Add(new Finding(S("purl"), S("package"), S("version"), S("location"), record, severity,
                m.TryGetProperty("cvssScore", out var sc) && sc.ValueKind == JsonValueKind.Number ? sc.GetDouble() : null, null,
                S("fixedIn") is { Length: > 0 } f ? f : null));
        }
        return list;
    }
}
