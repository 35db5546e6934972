using System.Security.Cryptography;
using Berth.Images;
using Berth.Images.Copy;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Supply.Policy;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Jobs;

/// <summary>
/// One scan, Berth.Supply's code end to end: the image pulled into the service's store through the
/// pull policy gate, unpacked privately, cataloged (CycloneDX SBOM) and matched against the OSV database.
/// Not thread-safe (the database reader seeks): each worker has its own.
/// </summary>
public sealed class ImageScanner(ImageService images, IImagePolicy? gate, string dbDir) : IDisposable
{
    OsvDatabase? _db;
    string? _dbVersion;

    /// <summary>The database's version: a hash of its meta.json, which every import rewrites. Cheap: read per job.</summary>
    public static string DatabaseVersion(string dbDir)
    {
        var meta = FileSystem.TryReadText(Path.Combine(dbDir, "meta.json"))
            ?? throw new ServeException(500, $"{dbDir}: no vulnerability database (berth db import --db {dbDir} FILE)");
        return "osv-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(meta)))[..16];
    }

    /// <summary>Only registry references: a path transport (oci:, dir:) would read the service's own file system.</summary>
    public DockerReference Reference(string image)
    {
        var text = image.StartsWith("docker://", StringComparison.Ordinal) ? image : "docker://" + image;
        return images.Parse(text) as DockerReference ?? throw new ServeException(400, $"image: \"{image}\" is not a registry reference");
    }

    /// <summary>Pulls <paramref name="image"/> (blobs already stored are not fetched again); returns its digest and stored name.</summary>
    public (string Digest, string Name) Pull(string image)
    {
        var (written, name) = images.Pull(Reference(image), new CopyOptions { Policy = gate });
        return (written.Digest!, name);
    }

    public byte[] Scan(string image, string name, string digest, string dbVersion)
    {
        if (_dbVersion != dbVersion)
        {
            _db?.Dispose();
            _db = OsvDatabase.Open(dbDir);
            _dbVersion = dbVersion;
        }
        using var root = RootView.Image(images, images.Parse(name));
        var inventory = Inventory.Of(root);
        var sbom = CycloneDxWriter.Write(inventory, new SbomOptions(SbomOptions.DefaultCreated(), Version));
        var findings = Matcher.Match(_db!, inventory.Packages.Select(p => new Matcher.Target(p.Purl, p.Location)));
        return FindingsDocument.Write(image, digest, dbVersion, _db!.RecordCount, sbom, findings);
    }

    public static string Version => typeof(ImageScanner).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public void Dispose() => _db?.Dispose();
}
