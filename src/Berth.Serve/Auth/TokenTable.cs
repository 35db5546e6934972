using System.Security.Cryptography;
using System.Text;
using Berth.Linux;

namespace Berth.Serve.Auth;

/// <summary>
/// The principals the service knows: bearer tokens and mTLS client-certificate subjects, each with a
/// subject name and roles. Tokens file, one principal a line, `#` comments:
///   token:SECRET SUBJECT ROLE[,ROLE…]
///   cert:CERT-SUBJECT SUBJECT ROLE[,ROLE…]     (CERT-SUBJECT: the full subject DN or its CN)
/// BERTH_SERVE_TOKEN adds one admin token (subject "env"). Tokens are kept only as SHA-256 hashes and
/// compared in constant time, so a timing probe learns nothing.
/// </summary>
public sealed class TokenTable
{
    readonly List<(byte[] Hash, string Subject, HashSet<Role> Roles)> _tokens = new();
    readonly Dictionary<string, (string Subject, HashSet<Role> Roles)> _certs = new(StringComparer.Ordinal);

    public int Count => _tokens.Count + _certs.Count;

    public static TokenTable Load(string? path, string? envToken)
    {
        var t = new TokenTable();
        if (!string.IsNullOrEmpty(envToken)) t._tokens.Add((Hash(envToken), "env", new HashSet<Role> { Role.Admin }));
        if (path is null) return t;
        var text = FileSystem.TryReadText(path) ?? throw new ServeException(0, $"--tokens: {path}: no such file");
        int n = 0;
        foreach (var raw in text.Split('\n'))
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var where = $"{path}:{n}";
            // The cert subject may contain spaces ("CN=a, O=b"): roles and subject are the last two fields.
            var last = line.LastIndexOf(' ');
            var mid = last > 0 ? line.LastIndexOf(' ', last - 1) : -1;
            if (mid <= 0) throw new ServeException(0, $"{where}: expected \"token:SECRET SUBJECT ROLES\" or \"cert:SUBJECT-DN SUBJECT ROLES\"");
            var key = line[..mid].Trim();
            var subject = line[(mid + 1)..last];
            var roles = new HashSet<Role>(line[(last + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => Roles.Parse(r, where)));
            if (key.StartsWith("token:", StringComparison.Ordinal) && key.Length > "token:".Length)
                t._tokens.Add((Hash(key["token:".Length..]), subject, roles));
            else if (key.StartsWith("cert:", StringComparison.Ordinal) && key.Length > "cert:".Length)
                t._certs[key["cert:".Length..]] = (subject, roles);
            else throw new ServeException(0, $"{where}: a principal starts with token: or cert:");
        }
        return t;
    }

    public Caller? ForToken(string token)
    {
        var h = Hash(token);
        Caller? found = null;
        // Every entry is compared, matched or not: the time does not depend on the position.
        foreach (var (hash, subject, roles) in _tokens)
            if (CryptographicOperations.FixedTimeEquals(hash, h) && found is null) found = new Caller(subject, roles, "token");
        return found;
    }

    /// <summary>A verified client certificate's subject: the full DN first, then its CN.</summary>
    public Caller? ForCertificate(string subjectDn, string? commonName)
    {
        if (_certs.TryGetValue(subjectDn, out var p)) return new Caller(p.Subject, p.Roles, "mtls");
        if (commonName is not null && (_certs.TryGetValue(commonName, out p) || _certs.TryGetValue("CN=" + commonName, out p)))
            return new Caller(p.Subject, p.Roles, "mtls");
        return null;
    }

    static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
