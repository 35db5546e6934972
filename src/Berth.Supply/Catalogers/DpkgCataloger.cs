using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// dpkg's database: var/lib/dpkg/status (packages whose Status is "install ok installed") and
/// distroless images' var/lib/dpkg/status.d/ (one file a package, no Status field); each package's
/// files from var/lib/dpkg/info/NAME[:ARCH].list, its license from a DEP-5 usr/share/doc/NAME/copyright.
/// </summary>
public sealed class DpkgCataloger : ICataloger
{
    public string Name => "dpkg";

    public IEnumerable<Package> Catalog(RootView root, OsRelease? os)
    {
        var found = new List<Package>();
        if (root.TryReadText("/var/lib/dpkg/status") is { } status)
            foreach (var p in ControlFile.Paragraphs(status))
                if (p.TryGetValue("Status", out var s) && s.EndsWith(" installed", StringComparison.Ordinal) && From(root, os, p, "/var/lib/dpkg/status") is { } pkg)
                    found.Add(pkg);
        foreach (var e in root.List("/var/lib/dpkg/status.d"))
        {
            if (e.IsDirectory == true || e.Name.EndsWith(".md5sums", StringComparison.Ordinal)) continue;
            var where = "/var/lib/dpkg/status.d/" + e.Name;
            if (root.TryReadText(where) is { } text)
                foreach (var p in ControlFile.Paragraphs(text))
                    if (From(root, os, p, where) is { } pkg) found.Add(pkg);
        }
        return found;
    }

    static Package? From(RootView root, OsRelease? os, Dictionary<string, string> p, string location)
    {
        if (!p.TryGetValue("Package", out var name) || !p.TryGetValue("Version", out var version)) return null;
        var arch = p.GetValueOrDefault("Architecture");
        string? source = null, sourceVersion = null;
        if (p.TryGetValue("Source", out var src))
        {
            // "Source: NAME (VERSION)" when the source's version differs from the binary's.
            int paren = src.IndexOf('(');
            source = (paren > 0 ? src[..paren] : src).Trim();
            if (paren > 0) sourceVersion = src[(paren + 1)..].TrimEnd(')', ' ').Trim();
        }
        var paths = new List<string>();
        string? listFile = null, infoBase = null;
        foreach (var candidate in new[] { $"/var/lib/dpkg/info/{name}:{arch}", $"/var/lib/dpkg/info/{name}" })
        {
            if (root.TryReadText(candidate + ".list") is not { } list) continue;
            (listFile, infoBase) = (candidate + ".list", candidate);
            foreach (var line in list.Split('\n'))
                if (line.Length > 1 && line != "/.") paths.Add(line);
            break;
        }
        var files = Files(paths, infoBase is null ? null : root.TryReadText(infoBase + ".md5sums"), p.GetValueOrDefault("Conffiles"));
        var distroId = os?.Id ?? "debian";
        var purl = PackageUrl.Build("deb", distroId, name, version, ("arch", arch), ("distro", os?.Distro),
            ("upstream", source is null ? null : sourceVersion is null ? source : $"{source}@{sourceVersion}"));
        var license = Licenses.FromDebianCopyright(root.TryReadText($"/usr/share/doc/{name}/copyright", 4 << 20));
        return new Package("deb", name, version)
        {
            Namespace = distroId, Arch = arch, SourceName = source ?? name, SourceVersion = sourceVersion ?? version,
            Purl = purl, Cpes = new[] { Cpe.Of(name, name, version) }, License = license, Location = location, FoundBy = "dpkg",
            Supplier = p.GetValueOrDefault("Maintainer"), Files = files,
            Layer = root.LayerOf(listFile ?? location),
        };
    }

    /// <summary>
    /// The .list's paths less its directories (a path another one is under: dpkg lists both), each
    /// with the MD5 that .md5sums (regular files) or the status's Conffiles gives it.
    /// </summary>
    static List<PackageFile> Files(List<string> paths, string? md5sums, string? conffiles)
    {
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        if (md5sums is not null)
            foreach (var line in md5sums.Split('\n'))
                if (line.Length > 34 && line[32] == ' ') digests.TryAdd("/" + line[34..].TrimStart('/'), line[..32]);
        if (conffiles is not null)
            foreach (var line in conffiles.Split('\n'))
                if (line.Trim().Split(' ') is { Length: >= 2 } f && f[1].Length == 32) digests.TryAdd(f[0], f[1]);
        var sorted = paths.Order(StringComparer.Ordinal).ToList();
        var files = new List<PackageFile>(sorted.Count);
        for (int i = 0; i < sorted.Count; i++)
        {
            var path = sorted[i];
            bool isDir = i + 1 < sorted.Count && sorted[i + 1].Length > path.Length && sorted[i + 1][path.Length] == '/' && sorted[i + 1].StartsWith(path, StringComparison.Ordinal);
            if (isDir || (i > 0 && sorted[i - 1] == path)) continue;
            files.Add(digests.TryGetValue(path, out var md5) ? new PackageFile(path, "MD5", md5) : new PackageFile(path));
        }
        return files;
    }
}
