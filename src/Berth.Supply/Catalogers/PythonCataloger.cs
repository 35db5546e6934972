using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// Installed Python distributions (PyPA's "Recording installed projects"): NAME-VER.dist-info/METADATA
/// with its RECORD of files, and setuptools' NAME.egg-info/PKG-INFO (or a single NAME.egg-info file).
/// </summary>
public sealed class PythonCataloger : IFileCataloger
{
    public string Name => "python";

    public bool Wants(string dir, string name) =>
        (name == "METADATA" && dir.EndsWith(".dist-info", StringComparison.Ordinal)) ||
        (name == "PKG-INFO" && dir.EndsWith(".egg-info", StringComparison.Ordinal)) ||
        name.EndsWith(".egg-info", StringComparison.Ordinal);

    public IEnumerable<Package> Read(RootView root, string path)
    {
        if (root.TryReadText(path, 16 << 20) is not { } text) yield break;
        var headers = ControlFile.Headers(text);
        string? Get(string k) => headers.FirstOrDefault(h => h.Key.Equals(k, StringComparison.OrdinalIgnoreCase)).Value;
        var name = Get("Name");
        var version = Get("Version");
        if (string.IsNullOrEmpty(name) || string.IsNullOrEmpty(version)) yield break;
        // Core metadata 2.4's License-Expression is SPDX already; else License, else the trove classifiers.
        var license = Get("License-Expression") is { Length: > 0 } le ? le
            : Get("License") is { Length: > 0 and < 100 } l && !l.Contains('\n') && l != "UNKNOWN" ? Licenses.Expression(l)
            : Classifier(headers);
        var files = new List<PackageFile>();
        var dir = path[..path.LastIndexOf('/')];
        if (path.EndsWith("/METADATA", StringComparison.Ordinal) && root.TryReadText(dir + "/RECORD") is { } record)
        {
            var site = dir[..dir.LastIndexOf('/')];
            foreach (var line in record.Split('\n'))
            {
                // RECORD is CSV: path, "ALG=urlsafe-base64 digest", size.
                var fields = line.Split(',');
                var file = fields[0].Trim('"');
                if (file.Length == 0) continue;
                var (alg, hex) = fields.Length > 1 ? RecordHash(fields[1]) : (null, null);
                files.Add(new PackageFile(Normalize(site + "/" + file), alg, hex));
            }
        }
        // PEP 503 normalization: what PyPI and OSV's PyPI ecosystem use as the name.
        var normalized = Normalize503(name);
        yield return new Package("pypi", name, version)
        {
            Purl = PackageUrl.Build("pypi", null, normalized, version), Cpes = new[] { Cpe.Of(normalized, normalized, version) },
            License = license, Location = path, FoundBy = "python", Files = files, Supplier = Get("Author"), Layer = root.LayerOf(path),
        };
    }

    static (string?, string?) RecordHash(string field)
    {
        int eq = field.IndexOf('=');
        if (eq <= 0) return (null, null);
        var alg = field[..eq] switch { "sha256" => "SHA256", "sha384" => "SHA384", "sha512" => "SHA512", "sha1" => "SHA1", "md5" => "MD5", _ => null };
        var b64 = field[(eq + 1)..].Trim().Replace('-', '+').Replace('_', '/');
        b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
        var bytes = new byte[64];
        return alg is not null && Convert.TryFromBase64String(b64, bytes, out int n) ? (alg, Convert.ToHexStringLower(bytes.AsSpan(0, n))) : (null, null);
    }

    public static string Normalize503(string name) =>
        System.Text.RegularExpressions.Regex.Replace(name, "[-_.]+", "-").ToLowerInvariant();

    static string? Classifier(List<KeyValuePair<string, string>> headers)
    {
        var ids = new List<string>();
        foreach (var h in headers)
        {
            if (!h.Key.Equals("Classifier", StringComparison.OrdinalIgnoreCase) || !h.Value.StartsWith("License ::", StringComparison.Ordinal)) continue;
            var last = h.Value.Split("::").Last().Trim();
            if (Licenses.Expression(last) is { } id && !id.StartsWith("LicenseRef-") && !ids.Contains(id)) ids.Add(id);
        }
        return ids.Count == 0 ? null : string.Join(" AND ", ids);
    }

    static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }
}
