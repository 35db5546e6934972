using System.Text;

namespace Berth.Images.Registry;

/// <summary>
/// A WWW-Authenticate challenge (RFC 7235): its scheme and parameters. Registries send
/// `Bearer realm="…",service="…",scope="…"` (the token flow) or `Basic realm="…"`.
/// </summary>
public sealed record AuthChallenge(string Scheme, IReadOnlyDictionary<string, string> Parameters)
{
    public string? Realm => Parameters.GetValueOrDefault("realm");
    public string? Service => Parameters.GetValueOrDefault("service");
    public string? Scope => Parameters.GetValueOrDefault("scope");

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    /// <summary>The challenges of a response's WWW-Authenticate headers, Bearer preferred over Basic.</summary>
    public static AuthChallenge? From(HttpResponseMessage response)
    {
        var all = new List<AuthChallenge>();
        if (response.Headers.TryGetValues("WWW-Authenticate", out var values))
            foreach (var v in values) all.AddRange(ParseAll(v));
        return all.FirstOrDefault(c => c.IsBearer) ?? all.FirstOrDefault(c => c.IsBasic) ?? all.FirstOrDefault();
    }

    /// <summary>Parses one header value, which may hold several challenges ("Basic realm=x, Bearer realm=y").</summary>
    public static List<AuthChallenge> ParseAll(string header)
    {
        var result = new List<AuthChallenge>();
        int i = 0;
        string? scheme = null;
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (i < header.Length)
        {
            while (i < header.Length && (header[i] == ' ' || header[i] == ',')) i++;
            int start = i;
            while (i < header.Length && header[i] is not (' ' or '=' or ',')) i++;
            var token = header[start..i];
            if (token.Length == 0) break;
            while (i < header.Length && header[i] == ' ') i++;
            if (i < header.Length && header[i] == '=' && scheme is not null)
            {
                i++;
                while (i < header.Length && header[i] == ' ') i++;
                string value;
                if (i < header.Length && header[i] == '"')
                {
                    var sb = new StringBuilder();
                    i++;
                    while (i < header.Length && header[i] != '"')
                    {
                        if (header[i] == '\\' && i + 1 < header.Length) i++;
                        sb.Append(header[i++]);
                    }
                    i++;
                    value = sb.ToString();
                }
                else
                {
                    int vs = i;
                    while (i < header.Length && header[i] != ',') i++;
                    value = header[vs..i].Trim();
                }
                parameters[token] = value;
            }
            else
            {
                if (scheme is not null) result.Add(new AuthChallenge(scheme, parameters));
                scheme = token;
                parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            }
        }
        if (scheme is not null) result.Add(new AuthChallenge(scheme, parameters));
        return result;
    }
}
