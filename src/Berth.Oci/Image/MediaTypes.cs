namespace Berth.Oci.Image;

/// <summary>image-spec media types, and Docker's v2.2 equivalents that registries still serve.</summary>
public static class MediaTypes
{
    public const string Index = "application/vnd.oci.image.index.v1+json";
    public const string Manifest = "application/vnd.oci.image.manifest.v1+json";
    public const string Config = "application/vnd.oci.image.config.v1+json";
    public const string Layer = "application/vnd.oci.image.layer.v1.tar";
    public const string LayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string LayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string LayoutHeader = "application/vnd.oci.layout.header.v1+json";
    public const string Empty = "application/vnd.oci.empty.v1+json";

    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// <summary>An uncompressed Docker layer (containers/image's name for it; Docker itself only ever pushes gzip).</summary>
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar";
    /// <summary>Docker's schema 1 manifests (deprecated 2017): recognised so that they can be refused by name.</summary>
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    public const string LayerNondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string LayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string LayerNondistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

    public static bool IsIndex(string? t) => t is Index or DockerManifestList;
    public static bool IsManifest(string? t) => t is Manifest or DockerManifest;
    public static bool IsConfig(string? t) => t is Config or DockerConfig;
    public static bool IsSchema1(string? t) => t is DockerSchema1 or DockerSchema1Signed;
    public static bool IsDocker(string? t) => t is not null && t.StartsWith("application/vnd.docker.", StringComparison.Ordinal);

    /// <summary>How a layer's bytes are compressed, from its media type; null if it is not a layer.</summary>
    public static LayerCompression? CompressionOf(string? t) => t switch
    {
        Layer or LayerNondistributable or DockerLayer or DockerForeignLayer => LayerCompression.None,
        LayerGzip or DockerLayerGzip or DockerForeignLayerGzip or LayerNondistributableGzip => LayerCompression.Gzip,
        LayerZstd or LayerNondistributableZstd => LayerCompression.Zstd,
        _ => null,
    };

    /// <summary>
    /// The layer type of the same family (OCI or Docker, distributable or not) as <paramref name="t"/>
    /// with <paramref name="compression"/>; null when the family has none (Docker has no zstd type).
    /// </summary>
    public static string? WithCompression(string? t, LayerCompression compression) => (t, compression) switch
    {
        (Layer or LayerGzip or LayerZstd, LayerCompression.None) => Layer,
        (Layer or LayerGzip or LayerZstd, LayerCompression.Gzip) => LayerGzip,
        (Layer or LayerGzip or LayerZstd, LayerCompression.Zstd) => LayerZstd,
        (LayerNondistributable or LayerNondistributableGzip or LayerNondistributableZstd, LayerCompression.None) => LayerNondistributable,
        (LayerNondistributable or LayerNondistributableGzip or LayerNondistributableZstd, LayerCompression.Gzip) => LayerNondistributableGzip,
        (LayerNondistributable or LayerNondistributableGzip or LayerNondistributableZstd, LayerCompression.Zstd) => LayerNondistributableZstd,
        (DockerLayer or DockerLayerGzip, LayerCompression.None) => DockerLayer,
        (DockerLayer or DockerLayerGzip, LayerCompression.Gzip) => DockerLayerGzip,
        (DockerForeignLayer or DockerForeignLayerGzip, LayerCompression.None) => DockerForeignLayer,
        (DockerForeignLayer or DockerForeignLayerGzip, LayerCompression.Gzip) => DockerForeignLayerGzip,
        _ => null,
    };
}

public enum LayerCompression { None, Gzip, Zstd }
