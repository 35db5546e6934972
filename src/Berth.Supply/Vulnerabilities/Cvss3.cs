using System.Globalization;

namespace Berth.Supply.Vulnerabilities;

/// <summary>
/// CVSS v3.0/v3.1 base score from a vector ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"), as the
/// specification's section 7 computes it (3.1's Roundup; 3.0 rounds up to one decimal).
/// </summary>
public static class Cvss3
{
    public static double BaseScore(string vector)
    {
        var parts = vector.Split('/');
        if (parts.Length == 0 || !parts[0].StartsWith("CVSS:3.", StringComparison.Ordinal))
            throw new SupplyException($"CVSS vector {vector}: not CVSS:3.x");
        bool v30 = parts[0] == "CVSS:3.0";
        var m = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in parts.Skip(1))
        {
            int colon = p.IndexOf(':');
            if (colon <= 0) throw new SupplyException($"CVSS vector {vector}: \"{p}\" is not METRIC:VALUE");
            m[p[..colon]] = p[(colon + 1)..];
        }
        string Get(string k) => m.TryGetValue(k, out var v) ? v : throw new SupplyException($"CVSS vector {vector}: no {k}");
        bool changed = Get("S") switch { "U" => false, "C" => true, var s => throw new SupplyException($"CVSS vector {vector}: S:{s}") };
        double av = Pick(vector, "AV", Get("AV"), ("N", 0.85), ("A", 0.62), ("L", 0.55), ("P", 0.2));
        double ac = Pick(vector, "AC", Get("AC"), ("L", 0.77), ("H", 0.44));
        double pr = Pick(vector, "PR", Get("PR"), ("N", 0.85), ("L", changed ? 0.68 : 0.62), ("H", changed ? 0.5 : 0.27));
        double ui = Pick(vector, "UI", Get("UI"), ("N", 0.85), ("R", 0.62));
        double c = Cia(vector, "C", Get("C")), i = Cia(vector, "I", Get("I")), a = Cia(vector, "A", Get("A"));
        double iss = 1 - (1 - c) * (1 - i) * (1 - a);
        double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.Pow(iss - 0.02, 15) : 6.42 * iss;
        double exploitability = 8.22 * av * ac * pr * ui;
        if (impact <= 0) return 0;
        double raw = changed ? Math.Min(1.08 * (impact + exploitability), 10) : Math.Min(impact + exploitability, 10);
        return v30 ? Math.Ceiling(raw * 10) / 10 : Roundup(raw);
    }

    static double Cia(string vector, string k, string v) => Pick(vector, k, v, ("H", 0.56), ("L", 0.22), ("N", 0));

    static double Pick(string vector, string metric, string value, params (string Key, double Weight)[] table)
    {
        foreach (var (key, weight) in table) if (key == value) return weight;
        throw new SupplyException($"CVSS vector {vector}: {metric}:{value} is not a value of {metric}");
    }

    /// <summary>CVSS 3.1 Appendix A: the smallest one-decimal number ≥ x, free of floating-point error.</summary>
    static double Roundup(double x)
    {
        long n = (long)Math.Round(x * 100000);
        return n % 10000 == 0 ? n / 100000.0 : (Math.Floor(n / 10000.0) + 1) / 10.0;
    }

    /// <summary>The qualitative rating (CVSS 3.1 §5): Critical ≥ 9.0, High ≥ 7.0, Medium ≥ 4.0, Low ≥ 0.1, else None.</summary>
    public static Severity Rating(double score) => score >= 9.0 ? Severity.Critical : score >= 7.0 ? Severity.High : score >= 4.0 ? Severity.Medium : score >= 0.1 ? Severity.Low : Severity.None;

    public static string Format(double score) => score.ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>Severities in order, for --fail-on.</summary>
public enum Severity { Unknown, None, Low, Medium, High, Critical }

public static class Severities
{
    public static Severity Parse(string text) => text.ToLowerInvariant() switch
    {
        "critical" => Severity.Critical, "high" => Severity.High, "medium" or "moderate" => Severity.Medium, "low" => Severity.Low,
        "none" or "negligible" => Severity.None, "unknown" => Severity.Unknown,
        _ => throw new SupplyException($"severity \"{text}\": not critical, high, medium, low, none or unknown"),
    };
}
