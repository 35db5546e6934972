using System.Collections.Concurrent;
using System.Security.Cryptography;
using Berth.Images;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Serve.Plugins;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Jobs;

/// <summary>
/// Berth's own scanner plugin ("berth"): the image, already in the service's store under
/// <see cref="ScanInput.Image"/>, unpacked privately, cataloged (CycloneDX SBOM) and matched against
/// the OSV database. Thread-safe: each concurrent scan takes a database reader of its own from a pool
/// (a reader seeks, so one cannot be shared).
/// </summary>
public sealed class BerthScanner(ImageService images, string dbDir) : IScannerPlugin, IDisposable
{
    readonly ConcurrentBag<(string Version, OsvDatabase Db)> _readers = new();

    public string Name => "berth";

    /// <summary>The database's version: a hash of its meta.json, which every import rewrites. Cheap enough to read per job.</summary>
    public string DatabaseVersion()
    {
        var meta = FileSystem.TryReadText(Path.Combine(dbDir, "meta.json"))
            ?? throw new ServeException(500, $"{dbDir}: no vulnerability database (berth db import --db {dbDir} FILE)");
        return "osv-" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(meta)))[..16];
    }

    public ScanOutput Scan(ScanInput input, CancellationToken cancel)
    {
        var version = DatabaseVersion();
        OsvDatabase? db = null;
        while (_readers.TryTake(out var r))
        {
            if (r.Version == version) { db = r.Db; break; }
            r.Db.Dispose();
        }
        db ??= OsvDatabase.Open(dbDir);
        try
        {
            using var root = RootView.Image(images, new StoreReference(images.StoreTransport, StoreTransport.Normalize(input.Image)));
            cancel.ThrowIfCancellationRequested();
            var inventory = Inventory.Of(root);
            var sbom = CycloneDxWriter.Write(inventory, new SbomOptions(SbomOptions.DefaultCreated(), Version));
            var matches = Matcher.Match(db, inventory.Packages.Select(p => new Matcher.Target(p.Purl, p.Location)))
                .Select(f => new ScanMatch(f.Record.Id, f.Record.Aliases.ToList(), f.PackageName, f.Version, f.Purl, FindingsDocument.Severity(f.Severity), f.FixedIn))
                .ToList();
            return new ScanOutput(version, matches, sbom);
        }
        finally
        {
            _readers.Add((version, db));
        }
    }

    public static string Version => typeof(BerthScanner).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public void Dispose()
    {
        while (_readers.TryTake(out var r)) r.Db.Dispose();
    }
}
