using System.Text.Json;
using Berth.Supply.Packages;
using Berth.Supply.Vulnerabilities;

namespace Berth.Supply.Vex;

/// <summary>
/// OpenVEX documents (github.com/openvex/spec, v0.2.0; v0.0.1's string forms are read too): each
/// statement names a vulnerability (or its aliases), products by purl, and a status. Products match
/// as the spec says: a purl's type, namespace, name and (if given) version must be equal; qualifiers
/// the statement names must match, those it omits match any. Later statements override earlier ones.
/// </summary>
public sealed record OpenVexStatement(string Vulnerability, IReadOnlyList<string> Aliases, IReadOnlyList<string> Products, string Status, string? Justification,
    string? ImpactStatement, string? ActionStatement, string? Timestamp, string Source)
{
    public static readonly string[] Statuses = { "not_affected", "affected", "fixed", "under_investigation" };
    public static readonly string[] Justifications =
    {
        "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
    };

    public static List<OpenVexStatement> Read(byte[] json, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new SupplyException($"{what}: not JSON: {e.Message}", e); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("statements", out var statements) || statements.ValueKind != JsonValueKind.Array)
                throw new SupplyException($"{what}: not an OpenVEX document (no \"statements\" array)");
            var docTime = Str(root, "timestamp");
            var list = new List<OpenVexStatement>();
            int i = 0;
            foreach (var s in statements.EnumerateArray())
            {
                var where = $"{what}: statements[{i++}]";
                string? vuln = null;
                var aliases = new List<string>();
                if (s.TryGetProperty("vulnerability", out var v))
                {
                    if (v.ValueKind == JsonValueKind.String) vuln = v.GetString();
                    else
                    {
                        vuln = Str(v, "name") ?? Str(v, "@id");
                        if (v.TryGetProperty("aliases", out var al) && al.ValueKind == JsonValueKind.Array)
                            aliases.AddRange(al.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!));
                    }
                }
                if (string.IsNullOrEmpty(vuln)) throw new SupplyException($"{where}.vulnerability: no name");
                var status = Str(s, "status") ?? throw new SupplyException($"{where}.status: missing");
                if (!Statuses.Contains(status)) throw new SupplyException($"{where}.status: \"{status}\" is not one of {string.Join(", ", Statuses)}");
                var justification = Str(s, "justification");
                if (status == "not_affected" && justification is null && Str(s, "impact_statement") is null)
                    throw new SupplyException($"{where}: not_affected needs a justification or an impact_statement");
                if (justification is not null && !Justifications.Contains(justification))
                    throw new SupplyException($"{where}.justification: \"{justification}\" is not one of {string.Join(", ", Justifications)}");
                var products = new List<string>();
                if (s.TryGetProperty("products", out var ps) && ps.ValueKind == JsonValueKind.Array)
                    foreach (var p in ps.EnumerateArray())
                    {
                        if (p.ValueKind == JsonValueKind.String) { products.Add(p.GetString()!); continue; }
                        // A product with subcomponents (an image and the packages in it): the statement is about the subcomponents.
                        if (p.TryGetProperty("subcomponents", out var subs) && subs.ValueKind == JsonValueKind.Array && subs.GetArrayLength() > 0)
                        {
                            foreach (var sub in subs.EnumerateArray()) if (Id(sub) is { } sid) products.Add(sid);
                        }
                        else if (Id(p) is { } pid) products.Add(pid);
                    }
                if (products.Count == 0) throw new SupplyException($"{where}.products: none");
                list.Add(new OpenVexStatement(vuln!, aliases, products, status, justification, Str(s, "impact_statement"), Str(s, "action_statement"),
                    Str(s, "timestamp") ?? docTime, what));
            }
            return list;
        }
    }

    // A product is named by "@id" (a purl) or by identifiers.purl.
    static string? Id(JsonElement p) =>
        Str(p, "@id") is { } id ? id : p.TryGetProperty("identifiers", out var ids) ? Str(ids, "purl") : null;

    static string? Str(JsonElement e, string k) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Whether this statement's product <paramref name="statementPurl"/> names the package <paramref name="packagePurl"/>.</summary>
    public static bool ProductMatches(string statementPurl, string packagePurl)
    {
        if (statementPurl == packagePurl) return true;
        PackageUrl s, p;
        try
        {
            s = PackageUrl.Parse(statementPurl);
            p = PackageUrl.Parse(packagePurl);
        }
        catch (SupplyException) { return false; }
        if (s.Type != p.Type || !string.Equals(s.Namespace ?? "", p.Namespace ?? "", StringComparison.OrdinalIgnoreCase) || s.Name != p.Name) return false;
        if (s.Version is not null && s.Version != p.Version) return false;
        foreach (var q in s.Qualifiers)
            if (p.Qualifier(q.Key) != q.Value) return false;
        return true;
    }

    /// <summary>Applies statements to findings, in document order then by timestamp: the last statement that matches wins. Nothing is dropped.</summary>
    public static List<Finding> Apply(IEnumerable<Finding> findings, IReadOnlyList<OpenVexStatement> statements)
    {
        var ordered = statements.Select((s, i) => (s, i)).OrderBy(x => x.s.Timestamp ?? "", StringComparer.Ordinal).ThenBy(x => x.i).Select(x => x.s).ToList();
        return findings.Select(f =>
        {
            var names = new HashSet<string>(f.Record.Aliases.Append(f.Record.Id), StringComparer.OrdinalIgnoreCase);
            var match = ordered.LastOrDefault(s => (names.Contains(s.Vulnerability) || s.Aliases.Any(names.Contains)) && s.Products.Any(p => ProductMatches(p, f.Purl)));
            return match is null ? f : f with
            {
                VexStatus = match.Status, VexJustification = match.Justification,
                VexStatement = match.ImpactStatement ?? match.ActionStatement,
            };
        }).ToList();
    }
}
