using Berth.Supply.Catalogers.Rpm;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// rpm's database in its SQLite form (rpm 4.16+: Fedora 33+, RHEL/Alma/Rocky 9, openSUSE):
/// rpmdb.sqlite's Packages table holds each installed package's header. Name, epoch, version,
/// release, arch, license, vendor and source rpm come from its tags, the files from BASENAMES,
/// DIRNAMES and DIRINDEXES (directories, by FILEMODES, left out) with FILEDIGESTS.
/// </summary>
public sealed class RpmCataloger : ICataloger
{
    /// <summary>Where rpm keeps it: the old path, and /usr/lib/sysimage/rpm of newer distributions (/var/lib/rpm is then a link to it).</summary>
    static readonly string[] Databases = { "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite" };

    public string Name => "rpm";

    public IEnumerable<Package> Catalog(RootView root, OsRelease? os)
    {
        foreach (var db in Databases)
        {
            if (root.TryRead(db) is not { } bytes) continue;
            var sqlite = new SqliteFile(bytes, db);
            var table = sqlite.TableRoot("Packages") ?? throw new SupplyException($"{db}: no Packages table");
            var found = new List<Package>();
            foreach (var (rowid, columns) in sqlite.Rows(table))
            {
                if (columns.Count < 2 || columns[1] is not byte[] blob) continue;
                if (From(root, os, new RpmHeader(blob, $"{db}: package {rowid}"), db) is { } p) found.Add(p);
            }
            // One database: /var/lib/rpm is usually a link to the sysimage one.
            return found;
        }
        return Array.Empty<Package>();
    }

    static readonly Dictionary<long, string> DigestAlgorithms = new() { [1] = "MD5", [2] = "SHA1", [8] = "SHA256", [9] = "SHA384", [10] = "SHA512", [11] = "SHA224" };

    static Package? From(RootView root, OsRelease? os, RpmHeader h, string db)
    {
        var name = h.String(RpmHeader.Name);
        var version = h.String(RpmHeader.Version);
        // The keys rpm imports are pseudo-packages, not software.
        if (name is null || version is null || name == "gpg-pubkey") return null;
        var release = h.String(RpmHeader.Release);
        var epoch = h.Integer(RpmHeader.Epoch);
        var arch = h.String(RpmHeader.Arch);
        var v = release is null ? version : $"{version}-{release}";
        // "NAME-VERSION-RELEASE.src.rpm": the source package, which advisories of some distributions name.
        string? source = null;
        if (h.String(RpmHeader.SourceRpm) is { } srpm && srpm.EndsWith(".src.rpm", StringComparison.Ordinal))
        {
            var nvr = srpm[..^".src.rpm".Length];
            var parts = nvr.Split('-');
            if (parts.Length >= 3) source = string.Join('-', parts[..^2]);
        }
        var distroId = os?.Id ?? "redhat";
        var files = Files(h);
        return new Package("rpm", name, v)
        {
            Namespace = distroId, Arch = arch, SourceName = source ?? name, SourceVersion = v,
            Purl = PackageUrl.Build("rpm", distroId, name, v, ("arch", arch), ("epoch", epoch is { } e and > 0 ? e.ToString(System.Globalization.CultureInfo.InvariantCulture) : null),
                ("distro", os?.Distro), ("upstream", source is not null && source != name ? source : null)),
            Cpes = new[] { Cpe.Of(h.String(RpmHeader.Vendor) ?? name, name, version) },
            License = Licenses.Expression(h.String(RpmHeader.License)), Location = db, FoundBy = "rpm",
            Supplier = h.String(RpmHeader.Vendor) ?? h.String(RpmHeader.Packager), Files = files,
            Layer = files.Count > 0 ? root.LayerOf(files[0].Path) ?? root.LayerOf(db) : root.LayerOf(db),
        };
    }

    static List<PackageFile> Files(RpmHeader h)
    {
        var bases = h.StringArray(RpmHeader.BaseNames);
        var dirs = h.StringArray(RpmHeader.DirNames);
        var index = h.Integers(RpmHeader.DirIndexes);
        var modes = h.Integers(RpmHeader.FileModes);
        var digests = h.StringArray(RpmHeader.FileDigests);
        // rpm's default before FILEDIGESTALGO existed is MD5.
        var algorithm = DigestAlgorithms.GetValueOrDefault(h.Integer(RpmHeader.FileDigestAlgo) ?? 1);
        var files = new List<PackageFile>(bases.Count);
        for (int i = 0; i < bases.Count && i < index.Count; i++)
        {
            if (index[i] < 0 || index[i] >= dirs.Count) continue;
            if (i < modes.Count && (modes[i] & 0xF000) == 0x4000) continue; // S_IFDIR
            var digest = i < digests.Count && digests[i].Length > 0 ? digests[i] : null;
            files.Add(new PackageFile(dirs[(int)index[i]] + bases[i], digest is null ? null : algorithm, digest));
        }
        return files;
    }
}
