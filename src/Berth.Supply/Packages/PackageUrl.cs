using System.Text;

namespace Berth.Supply.Packages;

/// <summary>
/// Package URLs (github.com/package-url/purl-spec): pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH,
/// each part percent-encoded, qualifiers sorted by key as the spec's canonical form requires.
/// </summary>
public sealed record PackageUrl(string Type, string? Namespace, string Name, string? Version, IReadOnlyList<KeyValuePair<string, string>> Qualifiers)
{
    public static string Build(string type, string? ns, string name, string? version, params (string Key, string? Value)[] qualifiers) =>
        new PackageUrl(type, ns, name, version, qualifiers.Where(q => !string.IsNullOrEmpty(q.Value)).Select(q => KeyValuePair.Create(q.Key, q.Value!)).ToList()).ToString();

    public override string ToString()
    {
        var sb = new StringBuilder("pkg:").Append(Type.ToLowerInvariant()).Append('/');
        if (!string.IsNullOrEmpty(Namespace))
            sb.Append(string.Join('/', Namespace.Split('/').Select(Encode))).Append('/');
        sb.Append(Encode(Name));
        if (!string.IsNullOrEmpty(Version)) sb.Append('@').Append(Encode(Version));
        var qs = Qualifiers.OrderBy(q => q.Key, StringComparer.Ordinal).ToList();
        for (int i = 0; i < qs.Count; i++)
            sb.Append(i == 0 ? '?' : '&').Append(qs[i].Key.ToLowerInvariant()).Append('=').Append(Encode(qs[i].Value));
        return sb.ToString();
    }

    /// <summary>Percent-encodes all but the spec's unreserved set (and ':' which it allows unencoded).</summary>
    static string Encode(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '~' or ':') sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    public static PackageUrl Parse(string text)
    {
        if (!text.StartsWith("pkg:", StringComparison.Ordinal)) throw new SupplyException($"purl {text}: does not start with \"pkg:\"");
        var rest = text[4..].TrimStart('/');
        int hash = rest.IndexOf('#');
        if (hash >= 0) rest = rest[..hash];
        var qualifiers = new List<KeyValuePair<string, string>>();
        int q = rest.IndexOf('?');
        if (q >= 0)
        {
            foreach (var pair in rest[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                if (eq > 0) qualifiers.Add(KeyValuePair.Create(pair[..eq].ToLowerInvariant(), Uri.UnescapeDataString(pair[(eq + 1)..])));
            }
            rest = rest[..q];
        }
        int slash = rest.IndexOf('/');
        if (slash <= 0) throw new SupplyException($"purl {text}: no type");
        var type = rest[..slash].ToLowerInvariant();
        rest = rest[(slash + 1)..];
        string? version = null;
        int at = rest.LastIndexOf('@');
        if (at >= 0)
        {
            version = Uri.UnescapeDataString(rest[(at + 1)..]);
            rest = rest[..at];
        }
        var parts = rest.Trim('/').Split('/');
        var name = Uri.UnescapeDataString(parts[^1]);
        if (name.Length == 0) throw new SupplyException($"purl {text}: no name");
        var ns = parts.Length > 1 ? string.Join('/', parts[..^1].Select(Uri.UnescapeDataString)) : null;
        return new PackageUrl(type, ns, name, version, qualifiers);
    }

    public string? Qualifier(string key) => Qualifiers.FirstOrDefault(q => q.Key == key).Value;
}
