using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// apk's database, lib/apk/db/installed: one paragraph a package of "K:value" lines (apk's
/// "installed database" format: P name, V version, A arch, L license, o origin, m maintainer,
/// F a directory and R each file in the F above it).
/// </summary>
public sealed class ApkCataloger : ICataloger
{
    const string Db = "/lib/apk/db/installed";
    public string Name => "apk";

    public IEnumerable<Package> Catalog(RootView root, OsRelease? os)
    {
        var text = root.TryReadText(Db);
        if (text is null) yield break;
        var fields = new Dictionary<char, string>();
        var files = new List<PackageFile>();
        string dir = "";
        foreach (var raw in text.Split('\n').Append(""))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                if (fields.ContainsKey('P') && fields.ContainsKey('V')) yield return From(root, os, fields, files);
                fields = new();
                files = new();
                dir = "";
                continue;
            }
            if (line.Length < 2 || line[1] != ':') continue;
            var value = line[2..];
            switch (line[0])
            {
                case 'F': dir = value; break;
                case 'R': files.Add(new PackageFile("/" + (dir.Length > 0 ? dir + "/" : "") + value)); break;
                // The file's checksum, after its R: "Q1" and base64 of its SHA-1.
                case 'Z' when files.Count > 0 && value.StartsWith("Q1", StringComparison.Ordinal) && Sha1(value[2..]) is { } hex:
                    files[^1] = files[^1] with { Algorithm = "SHA1", Digest = hex };
                    break;
                default: fields.TryAdd(line[0], value); break;
            }
        }
    }

    static Package From(RootView root, OsRelease? os, Dictionary<char, string> f, List<PackageFile> files)
    {
        var name = f['P'];
        var version = f['V'];
        var arch = f.GetValueOrDefault('A');
        var origin = f.GetValueOrDefault('o');
        var distroId = os?.Id ?? "alpine";
        return new Package("apk", name, version)
        {
            Namespace = distroId, Arch = arch, SourceName = origin ?? name, SourceVersion = version,
            Purl = PackageUrl.Build("apk", distroId, name, version, ("arch", arch), ("distro", os?.Distro), ("upstream", origin != name ? origin : null)),
            Cpes = new[] { Cpe.Of(name, name, version) }, License = Licenses.Expression(f.GetValueOrDefault('L')),
            Location = Db, FoundBy = "apk", Supplier = f.GetValueOrDefault('m'), Files = files,
            Layer = files.Count > 0 ? root.LayerOf(files[0].Path) ?? root.LayerOf(Db) : root.LayerOf(Db),
        };
    }

    static string? Sha1(string base64)
    {
        var bytes = new byte[20];
        return Convert.TryFromBase64String(base64, bytes, out int n) && n == 20 ? Convert.ToHexStringLower(bytes) : null;
    }
}
