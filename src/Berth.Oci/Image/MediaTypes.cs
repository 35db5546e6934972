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
    public const string DockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    public static bool IsIndex(string? t) => t is Index or DockerManifestList;
    public static bool IsManifest(string? t) => t is Manifest or DockerManifest;
    public static bool IsConfig(string? t) => t is Config or DockerConfig;

    /// <summary>How a layer's bytes are compressed, from its media type; null if it is not a layer.</summary>
    public static LayerCompression? CompressionOf(string? t) => t switch
    {
        Layer or "application/vnd.oci.image.layer.nondistributable.v1.tar" => LayerCompression.None,
        LayerGzip or DockerLayerGzip or DockerForeignLayerGzip or "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" => LayerCompression.Gzip,
        LayerZstd or "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" => LayerCompression.Zstd,
        _ => null,
    };
}

public enum LayerCompression { None, Gzip, Zstd }
