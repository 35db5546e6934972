using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Copy;

/// <summary>
/// OCI ↔ Docker v2s2, as containers/image converts: only media types change — the manifest's, the
/// config's (its bytes, so its digest, stay), each layer's to the same compression in the other
/// family — and what Docker's schema has no field for (annotations) is dropped. Artifacts (a
/// config that is not an image's) and zstd layers (Docker has no type for them) are refused.
/// </summary>
public static class ManifestConversion
{
    public static ManifestFormat FormatOf(string? mediaType) => MediaTypes.IsDocker(mediaType) ? ManifestFormat.V2s2 : ManifestFormat.Oci;

    public static string ManifestType(ManifestFormat f) => f == ManifestFormat.V2s2 ? MediaTypes.DockerManifest : MediaTypes.Manifest;
    public static string IndexType(ManifestFormat f) => f == ManifestFormat.V2s2 ? MediaTypes.DockerManifestList : MediaTypes.Index;
    public static string ConfigType(ManifestFormat f) => f == ManifestFormat.V2s2 ? MediaTypes.DockerConfig : MediaTypes.Config;

    /// <summary>A layer's media type in format <paramref name="f"/>, same compression and distributability.</summary>
    public static string LayerType(string mediaType, ManifestFormat f, string what)
    {
        if (FormatOf(mediaType) == f) return mediaType;
        var compression = MediaTypes.CompressionOf(mediaType) ?? throw new ImageException($"{what}: layer media type {Quote.Of(mediaType)} cannot be converted to {Name(f)}");
        return LayerType(mediaType, f, compression, what);
    }

    /// <summary>The media type, in format <paramref name="f"/>, of a layer like <paramref name="sourceType"/> (distributable or not) compressed with <paramref name="compression"/>.</summary>
    public static string LayerType(string sourceType, ManifestFormat f, LayerCompression compression, string what)
    {
        bool foreign = sourceType is MediaTypes.DockerForeignLayer or MediaTypes.DockerForeignLayerGzip
            || sourceType.StartsWith("application/vnd.oci.image.layer.nondistributable.", StringComparison.Ordinal);
        if (f == ManifestFormat.V2s2 && compression == LayerCompression.Zstd)
            throw new ImageException($"{what}: a zstd layer cannot be described in a Docker v2s2 manifest (copy with --dest-compress-format gzip, or keep OCI)");
        var family = (f, foreign) switch
        {
            (ManifestFormat.V2s2, false) => MediaTypes.DockerLayer,
            (ManifestFormat.V2s2, true) => MediaTypes.DockerForeignLayer,
            (_, false) => MediaTypes.Layer,
            (_, true) => MediaTypes.LayerNondistributable,
        };
        return MediaTypes.WithCompression(family, compression)!;
    }

    public static string Name(ManifestFormat f) => f == ManifestFormat.V2s2 ? "Docker v2s2" : "OCI";

    /// <summary>The manifest in format <paramref name="f"/>; its layers already carry their new descriptors.</summary>
    public static Manifest Convert(Manifest m, ManifestFormat f, string what)
    {
        if (FormatOf(m.MediaType) == f) return m;
        if (!MediaTypes.IsConfig(m.Config!.MediaType))
            throw new ImageException($"{what}: an artifact (config {Quote.Of(m.Config.MediaType)}), not an image: it cannot be converted to {Name(f)}");
        if (f == ManifestFormat.V2s2 && m.Subject is not null)
            throw new ImageException($"{what}: it has a subject, which a Docker v2s2 manifest cannot hold");
        var config = Clone(m.Config);
        config.MediaType = ConfigType(f);
        var layers = m.Layers!.Select((l, i) =>
        {
            var c = Clone(l);
            c.MediaType = LayerType(l.MediaType!, f, $"{what}: layers[{i}]");
            if (f == ManifestFormat.V2s2) c.Annotations = null;
            return c;
        }).ToList();
        return new Manifest
        {
            SchemaVersion = 2, MediaType = ManifestType(f), Config = config, Layers = layers,
            ArtifactType = f == ManifestFormat.V2s2 ? null : m.ArtifactType,
            Subject = m.Subject,
            Annotations = f == ManifestFormat.V2s2 ? null : m.Annotations,
        };
    }

    public static ImageIndex Convert(ImageIndex index, ManifestFormat f, string what)
    {
        if (FormatOf(index.MediaType) == f) return index;
        if (f == ManifestFormat.V2s2 && index.Subject is not null)
            throw new ImageException($"{what}: it has a subject, which a Docker manifest list cannot hold");
        return new ImageIndex
        {
            SchemaVersion = 2, MediaType = IndexType(f), Manifests = index.Manifests,
            ArtifactType = f == ManifestFormat.V2s2 ? null : index.ArtifactType,
            Subject = index.Subject,
            Annotations = f == ManifestFormat.V2s2 ? null : index.Annotations,
        };
    }

    public static Descriptor Clone(Descriptor d) => new()
    {
        MediaType = d.MediaType, Digest = d.Digest, Size = d.Size, Urls = d.Urls,
        Annotations = d.Annotations is null ? null : new Dictionary<string, string>(d.Annotations),
        Data = d.Data, ArtifactType = d.ArtifactType, Platform = d.Platform, Unknown = d.Unknown,
    };
}
