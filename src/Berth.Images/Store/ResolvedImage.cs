using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>An image as it runs: its manifest, its configuration, its layers in order.</summary>
public sealed record ResolvedImage(OciLayout Layout, Descriptor ManifestDescriptor, Manifest Manifest, ImageConfig Config)
{
    public IReadOnlyList<Descriptor> Layers => Manifest.Layers!;

    /// <summary>
    /// Follows <paramref name="top"/> down to one manifest: an index picks the entry for
    /// <paramref name="platform"/> (the host's by default), a manifest is taken as it is.
    /// </summary>
    public static ResolvedImage Resolve(OciLayout layout, Descriptor top, PlatformSpec? platform = null, int depth = 0)
    {
        if (depth > 4) throw new ImageException("indexes nested more than 4 deep");
        var bytes = layout.Blobs.ReadAll(top);
        if (MediaTypes.IsIndex(top.MediaType))
        {
            var index = Documents.ParseIndex(bytes, top.MediaType, $"index {top.Digest}");
            var want = platform ?? PlatformSpec.Host;
            var candidates = (index.Manifests ?? new()).Where(m => MediaTypes.IsManifest(m.MediaType) || MediaTypes.IsIndex(m.MediaType)).ToList();
            var pick = candidates.FirstOrDefault(m => want.Matches(m.Platform))
                // An index whose single manifest says nothing of its platform is for anyone.
                ?? (candidates.Count == 1 && candidates[0].Platform is null ? candidates[0] : null)
                ?? throw new ImageException($"no image for {want} in index {top.Digest} (it has {string.Join(", ", candidates.Select(c => c.Platform is { } p ? $"{p.Os}/{p.Architecture}{(p.Variant is null ? "" : "/" + p.Variant)}" : "unspecified"))})");
            return Resolve(layout, pick, platform, depth + 1);
        }
        if (!MediaTypes.IsManifest(top.MediaType))
            throw new ImageException($"{top.Digest}: media type {Quote.Of(top.MediaType)} is not an image manifest or index");
        var manifest = Documents.ParseManifest(bytes, top.MediaType, $"manifest {top.Digest}");
        if (!MediaTypes.IsConfig(manifest.Config!.MediaType))
            throw new ImageException($"manifest {top.Digest}: config media type {Quote.Of(manifest.Config.MediaType)} is not an image configuration");
        var config = Documents.ParseConfig(layout.Blobs.ReadAll(manifest.Config), $"config {manifest.Config.Digest}");
        var diffIds = config.Rootfs?.DiffIds ?? new();
        if (diffIds.Count != manifest.Layers!.Count)
            throw new ImageException($"manifest {top.Digest}: {manifest.Layers.Count} layers but the config lists {diffIds.Count} diff_ids");
        foreach (var l in manifest.Layers)
            if (MediaTypes.CompressionOf(l.MediaType) is null) throw new ImageException($"manifest {top.Digest}: layer media type {Quote.Of(l.MediaType)} is not a layer this runtime can unpack");
        return new ResolvedImage(layout, top, manifest, config);
    }

    /// <summary>Every blob the image (from <paramref name="top"/> down, all platforms) refers to.</summary>
    public static IEnumerable<Descriptor> Closure(OciLayout layout, Descriptor top, int depth = 0)
    {
        yield return top;
        if (depth > 4) yield break;
        if (MediaTypes.IsIndex(top.MediaType))
        {
            var index = Documents.ParseIndex(layout.Blobs.ReadAll(top), top.MediaType, $"index {top.Digest}");
            foreach (var m in index.Manifests ?? new())
            {
                if (!layout.Blobs.Has(Digest.Parse(m.Digest ?? "", "manifests[].digest"))) continue; // other platforms may be absent
                foreach (var d in Closure(layout, m, depth + 1)) yield return d;
            }
        }
        else if (MediaTypes.IsManifest(top.MediaType))
        {
            var m = Documents.ParseManifest(layout.Blobs.ReadAll(top), top.MediaType, $"manifest {top.Digest}");
            yield return m.Config!;
            foreach (var l in m.Layers!) yield return l;
        }
    }
}
