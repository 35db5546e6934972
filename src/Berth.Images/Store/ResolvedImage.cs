using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>An image as it runs: its manifest, its configuration, its layers in order — read from any source.</summary>
public sealed record ResolvedImage(IImageSource Source, Descriptor ManifestDescriptor, Manifest Manifest, ImageConfig Config)
{
    public IReadOnlyList<Descriptor> Layers => Manifest.Layers!;

    /// <summary>
    /// Follows the source's top manifest down to one image manifest: an index picks the entry for
    /// <paramref name="platform"/> (the host's by default), a manifest is taken as it is.
    /// </summary>
    public static ResolvedImage Resolve(IImageSource source, PlatformSpec? platform = null)
    {
        var (desc, raw) = Top(source);
        for (int depth = 0; raw.IsIndex; depth++)
        {
            if (depth >= 4) throw new ImageException("indexes nested more than 4 deep");
            var index = raw.ParseIndex($"index {desc.Digest}");
            var pick = (platform ?? PlatformSpec.Host).Pick(index, $"index {desc.Digest}");
            (desc, raw) = (pick, Instance(source, pick));
        }
        if (!raw.IsManifest)
            throw new ImageException($"{desc.Digest}: media type {Quote.Of(raw.MediaType)} is not an image manifest or index");
        var manifest = raw.ParseManifest($"manifest {desc.Digest}");
        if (!MediaTypes.IsConfig(manifest.Config!.MediaType))
            throw new ImageException($"manifest {desc.Digest}: config media type {Quote.Of(manifest.Config.MediaType)} is not an image configuration");
        var config = Documents.ParseConfig(VerifiedBlob.ReadAll(source, manifest.Config, "config"), $"config {manifest.Config.Digest}");
        var diffIds = config.Rootfs?.DiffIds ?? new();
        if (diffIds.Count != manifest.Layers!.Count)
            throw new ImageException($"manifest {desc.Digest}: {manifest.Layers.Count} layers but the config lists {diffIds.Count} diff_ids");
        foreach (var l in manifest.Layers)
            if (MediaTypes.CompressionOf(l.MediaType) is null) throw new ImageException($"manifest {desc.Digest}: layer media type {Quote.Of(l.MediaType)} is not a layer this runtime can unpack");
        return new ResolvedImage(source, desc, manifest, config);
    }

    /// <summary>The source's top manifest and a descriptor of it (its entry's, where it keeps one).</summary>
    public static (Descriptor, RawManifest) Top(IImageSource source)
    {
        var raw = source.GetManifest();
        var desc = source.Entry is { } e ? e : raw.Descriptor;
        return (desc, raw.RefuseSchema1($"manifest {desc.Digest}"));
    }

    /// <summary>An index's entry: its bytes checked against the entry's digest and size, read with the entry's media type (CVE-2021-41190: the document's own must agree).</summary>
    public static RawManifest Instance(IImageSource source, Descriptor entry)
    {
        var (d, size) = VerifiedBlob.Describe(entry, "manifest");
        var raw = source.GetManifest(d);
        if (raw.Bytes.Length != size) throw new ImageException($"manifest {d}: {raw.Bytes.Length} bytes, the index says {size}");
        return new RawManifest(raw.Bytes, entry.MediaType!, d).RefuseSchema1($"manifest {d}");
    }

    /// <summary>Every blob the image (from <paramref name="top"/> down, all platforms present) refers to: what gc keeps.</summary>
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
