using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Berth.Linux;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// Java archives (.jar, .war, .ear, Jenkins' .jpi/.hpi): each META-INF/maven/GROUP/ARTIFACT/pom.properties
/// is a pkg:maven package (its pom.xml's license names beside it); an archive without one is named by
/// its META-INF/MANIFEST.MF (Implementation-*/Bundle-* headers) or its file name. Archives nested
/// inside (WEB-INF/lib/*.jar, Spring Boot's BOOT-INF/lib) are read the same way, located as OUTER:INNER.
/// </summary>
public sealed partial class JavaArchiveCataloger : IFileCataloger
{
    const int MaxDepth = 3;
    /// <summary>A nested archive or a metadata file is read into memory, so each is bounded (a zip bomb is not read whole).</summary>
    const long MaxNestedBytes = 128L << 20, MaxMetadataBytes = 1 << 20;

    static readonly string[] Extensions = { ".jar", ".war", ".ear", ".jpi", ".hpi" };

    public string Name => "java";

    public bool Wants(string dir, string name) => Extensions.Any(e => name.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<Package> Read(RootView root, string path)
    {
        var found = new List<Package>();
        try
        {
            using var f = root.TryOpen(path);
            if (f is null) return found;
            Archive(root, f, path, path, 0, found);
        }
        // An archive that is not readable as one (a corrupt or unsupported zip, a metadata file past its bound) gives what was read before it.
        catch (Exception e) when (e is LinuxException or InvalidDataException or SupplyException or NotSupportedException)
        {
            return found;
        }
        return found;
    }

    void Archive(RootView root, Stream content, string location, string file, int depth, List<Package> found)
    {
        ZipArchive zip;
        try { zip = new ZipArchive(content, ZipArchiveMode.Read, leaveOpen: true); }
        // Not a zip after all (a .jar that is a text stub): no package in it.
        catch (InvalidDataException) { return; }
        using (zip)
        {
            var poms = new List<ZipArchiveEntry>();
            ZipArchiveEntry? manifest = null;
            var nested = new List<ZipArchiveEntry>();
            foreach (var e in zip.Entries)
            {
                if (e.FullName.StartsWith("META-INF/maven/", StringComparison.Ordinal) && e.FullName.EndsWith("/pom.properties", StringComparison.Ordinal)) poms.Add(e);
                else if (e.FullName.Equals("META-INF/MANIFEST.MF", StringComparison.OrdinalIgnoreCase)) manifest = e;
                else if (depth < MaxDepth && Extensions.Any(x => e.FullName.EndsWith(x, StringComparison.OrdinalIgnoreCase))) nested.Add(e);
            }
            var layer = root.LayerOf(file);
            foreach (var pom in poms.OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                var props = Properties(Text(pom, location));
                if (!props.TryGetValue("groupId", out var group) || !props.TryGetValue("artifactId", out var artifact) || !props.TryGetValue("version", out var version)) continue;
                var pomXml = zip.GetEntry(pom.FullName[..^"pom.properties".Length] + "pom.xml");
                found.Add(Maven(group, artifact, version, pomXml is null ? null : PomLicense(Text(pomXml, location)), location, layer));
            }
            if (poms.Count == 0 && manifest is not null && FromManifest(Properties(Text(manifest, location), manifestStyle: true), location, layer) is { } p) found.Add(p);
            foreach (var e in nested.OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                if (e.Length > MaxNestedBytes) continue;
                using var ms = new MemoryStream();
                try
                {
                    using var s = e.Open();
                    Bounded(s, ms, MaxNestedBytes, $"{location}:{e.FullName}");
                }
                catch (InvalidDataException) { continue; }
                ms.Position = 0;
                Archive(root, ms, $"{location}:{e.FullName}", file, depth + 1, found);
            }
        }
    }

    static Package Maven(string group, string artifact, string version, string? license, string location, string? layer) => new("maven", artifact, version)
    {
        Namespace = group, Purl = PackageUrl.Build("maven", group, artifact, version), Cpes = new[] { Cpe.Of(group.Split('.').Last(), artifact, version) },
        License = license, Location = location, FoundBy = "java", Layer = layer,
    };

    Package? FromManifest(Dictionary<string, string> m, string location, string? layer)
    {
        var file = location[(location.LastIndexOfAny(new[] { '/', ':' }) + 1)..];
        var stem = file[..file.LastIndexOf('.')];
        var fromName = FileNameVersion().Match(stem);
        var name = m.GetValueOrDefault("Implementation-Title") is { Length: > 0 and < 100 } t && !t.Contains(' ') ? t
            : fromName.Success ? stem[..fromName.Index] : stem;
        var version = m.GetValueOrDefault("Implementation-Version") ?? m.GetValueOrDefault("Bundle-Version") ?? m.GetValueOrDefault("Specification-Version")
            ?? (fromName.Success ? fromName.Groups[1].Value : null);
        if (string.IsNullOrEmpty(version)) return null;
        var group = m.GetValueOrDefault("Implementation-Vendor-Id")
            ?? (m.GetValueOrDefault("Bundle-SymbolicName")?.Split(';')[0] is { } sym && sym.LastIndexOf('.') is var dot and > 0 ? sym[..dot] : null);
        var license = m.GetValueOrDefault("Bundle-License")?.Split(';')[0] is { } bl && !bl.Contains("://") ? Licenses.Expression(bl) : null;
        var p = Maven(group ?? name, name, version, license, location, layer);
        return p with { Namespace = group, Purl = PackageUrl.Build("maven", group, name, version), Supplier = m.GetValueOrDefault("Implementation-Vendor") };
    }

    [GeneratedRegex(@"-(\d[\w.\-+]*)$")]
    private static partial Regex FileNameVersion();

    [GeneratedRegex(@"<license>\s*<name>([^<]+)</name>", RegexOptions.Singleline)]
    private static partial Regex PomLicenseName();

    static string? PomLicense(string xml)
    {
        var names = PomLicenseName().Matches(xml).Select(m => Licenses.Expression(m.Groups[1].Value.Trim())).OfType<string>().Distinct().ToList();
        return names.Count == 0 ? null : string.Join(" OR ", names.Count == 1 ? names : names.Select(n => n.Contains(' ') ? $"({n})" : n));
    }

    static string Text(ZipArchiveEntry e, string location)
    {
        using var ms = new MemoryStream();
        using (var s = e.Open()) Bounded(s, ms, MaxMetadataBytes, $"{location}:{e.FullName}");
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    static void Bounded(Stream from, Stream to, long max, string what)
    {
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = from.Read(buffer)) > 0)
        {
            total += n;
            if (total > max) throw new SupplyException($"{what}: more than {max} bytes uncompressed");
            to.Write(buffer, 0, n);
        }
    }

    /// <summary>pom.properties ("key=value", '#' comments) or a manifest's main section ("Key: value", continuation lines start with a space).</summary>
    static Dictionary<string, string> Properties(string text, bool manifestStyle = false)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        string? last = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (manifestStyle)
            {
                if (line.Length == 0) break; // the main section ends at the first blank line
                if (line[0] == ' ' && last is not null) { d[last] += line[1..]; continue; }
                int colon = line.IndexOf(": ", StringComparison.Ordinal);
                if (colon > 0) d.TryAdd(last = line[..colon], line[(colon + 2)..].Trim());
            }
            else
            {
                var t = line.Trim();
                if (t.Length == 0 || t[0] is '#' or '!') continue;
                int eq = t.IndexOfAny(new[] { '=', ':' });
                if (eq > 0) d.TryAdd(t[..eq].Trim(), t[(eq + 1)..].Trim());
            }
        }
        return d;
    }
}
