using Berth.Supply.Packages;
using Berth.Supply.Versions;

namespace Berth.Supply.Vulnerabilities;

/// <summary>One package affected by one advisory, and what VEX says of it.</summary>
public sealed record Finding(string Purl, string PackageName, string Version, string Location, OsvRecord Record, Severity Severity, double? Score, string? Vector, string? FixedIn)
{
    /// <summary>The VEX status applied: null (no statement), not_affected, affected, fixed, under_investigation.</summary>
    public string? VexStatus { get; init; }
    public string? VexJustification { get; init; }
    public string? VexStatement { get; init; }

    /// <summary>A VEX document says this package is not exploitable here: reported, not counted against the policy.</summary>
    public bool Suppressed => VexStatus is "not_affected" or "fixed";
}

/// <summary>
/// Matches packages against OSV records with each ecosystem's version order: OSV's
/// "Evaluation" algorithm over a range's events, and the record's explicit versions list.
/// </summary>
public static class Matcher
{
    public sealed record Target(string Purl, string Location);

    public static List<Finding> Match(OsvDatabase db, IEnumerable<Target> targets)
    {
        var findings = new List<Finding>();
        foreach (var t in targets)
        {
            PackageUrl purl;
            try { purl = PackageUrl.Parse(t.Purl); }
            catch (SupplyException) { continue; }
            if (Ecosystems.Of(purl) is not { } key) continue;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var record in db.Lookup(key.Ecosystem, key.Name))
            {
                if (!seen.Add(record.Id)) continue;
                foreach (var a in record.Affected)
                {
                    if (Ecosystems.Key(a.Ecosystem, a.Name) != Ecosystems.Key(key.Ecosystem, key.Name)) continue;
                    if (!Affects(a, key.Ecosystem, key.Version, out var fixedIn)) continue;
                    var (severity, score, vector) = record.Rate(a);
                    findings.Add(new Finding(t.Purl, purl.Namespace is not null && purl.Type is "npm" or "golang" ? $"{purl.Namespace}/{purl.Name}" : purl.Name,
                        purl.Version!, t.Location, record, severity, score, vector, fixedIn));
                    break;
                }
            }
        }
        return findings.OrderByDescending(f => f.Severity).ThenBy(f => f.PackageName, StringComparer.Ordinal).ThenBy(f => f.Record.Id, StringComparer.Ordinal)
            .ThenBy(f => f.Purl, StringComparer.Ordinal).ToList();
    }

    /// <summary>Whether <paramref name="version"/> is in one of the entry's ranges or versions; the fix that range names, if any.</summary>
    public static bool Affects(OsvAffected a, string ecosystem, string version, out string? fixedIn)
    {
        fixedIn = null;
        if (a.Versions.Contains(version, StringComparer.Ordinal)) return true;
        foreach (var range in a.Ranges)
        {
            IVersionOrder order = range.Type switch
            {
                "SEMVER" => VersionOrders.SemVer,
                "ECOSYSTEM" => VersionOrders.For(ecosystem),
                _ => null!,
            };
            if (order is null) continue;
            if (InRange(range, order, version, out fixedIn)) return true;
        }
        return false;
    }

    /// <summary>
    /// OSV schema, "Evaluation": events sorted by version; walking them, "introduced" ≤ v sets affected,
    /// "fixed" ≤ v clears it, "last_affected" &lt; v clears it; "0" is before every version.
    /// </summary>
    static bool InRange(OsvRange range, IVersionOrder order, string version, out string? fixedIn)
    {
        fixedIn = null;
        int Cmp(string a, string b) => a == "0" ? (b == "0" ? 0 : -1) : b == "0" ? 1 : order.Compare(a, b);
        var events = range.Events.Where(e => e.Kind is "introduced" or "fixed" or "last_affected" or "limit").ToList();
        // Stable sort by version; at one version, "introduced" before the events that end a range.
        events = events.Select((e, i) => (e, i)).OrderBy(x => x.e.Version, Comparer<string>.Create(Cmp)).ThenBy(x => x.e.Kind == "introduced" ? 0 : 1).ThenBy(x => x.i).Select(x => x.e).ToList();
        bool affected = false;
        foreach (var (kind, at) in events)
        {
            int c = Cmp(version, at);
            switch (kind)
            {
                case "introduced" when c >= 0: affected = true; break;
                case "fixed" when c >= 0: affected = false; break;
                case "last_affected" when c > 0: affected = false; break;
                case "limit" when c >= 0: affected = false; break;
            }
        }
        if (!affected) return false;
        // The fix of the range this version is in: the first "fixed" above it.
        fixedIn = events.Where(e => e.Kind == "fixed" && Cmp(e.Version, version) > 0).Select(e => e.Version).FirstOrDefault();
        return true;
    }
}
