using Berth.Supply.Catalogers;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Sbom;

/// <summary>What a root holds: its OS and its packages, sorted (every document written from it is deterministic).</summary>
public sealed record Inventory(string Source, string? ImageDigest, OsRelease? Os, IReadOnlyList<Package> Packages)
{
    public static readonly ICataloger[] DatabaseCatalogers = { new DpkgCataloger(), new ApkCataloger(), new RpmCataloger() };
    public static readonly IFileCataloger[] FileCatalogers = { new PythonCataloger(), new NpmCataloger(), new DotnetCataloger(), new GoBinaryCataloger(), new JavaArchiveCataloger(), new GemCataloger() };

    /// <summary>Runs every cataloger over <paramref name="root"/>: the package databases, then one walk for the files the others want.</summary>
    public static Inventory Of(RootView root)
    {
        var os = OsRelease.Read(root);
        var packages = new List<Package>();
        foreach (var c in DatabaseCatalogers) packages.AddRange(c.Catalog(root, os));
        var paths = root.Find((dir, name) => FileCatalogers.Any(c => c.Wants(dir, name)));
        foreach (var path in paths)
        {
            var slash = path.LastIndexOf('/');
            var (dir, name) = (slash <= 0 ? "/" : path[..slash], path[(slash + 1)..]);
            foreach (var c in FileCatalogers)
                if (c.Wants(dir, name)) packages.AddRange(c.Read(root, path));
        }
        // The same package recorded twice in one place (an egg-info file and directory) is one.
        var unique = packages.GroupBy(p => p.Key, StringComparer.Ordinal).Select(g => g.First()).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        return new Inventory(root.Source, root.ImageDigest, os, unique);
    }
}
