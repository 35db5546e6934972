using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>What a destination wants done to layers when a copy is free to change them (containers/image's DesiredLayerCompression).</summary>
public enum LayerCompressionWish
{
    /// <summary>Keep layers as they come (dir:).</summary>
    Preserve,
    /// <summary>Compress uncompressed layers, gzip unless asked otherwise (the store, oci:, registries).</summary>
    Compress,
    /// <summary>Store layers uncompressed (docker-archive:, as `docker save` writes them).</summary>
    Decompress,
}

/// <summary>
/// Where an image is written (containers/image's types.ImageDestination): blobs first, then the
/// manifests that name them (instances of an index before the index), then Commit, which makes the
/// image visible under its name. Until Commit nothing is named; a destination disposed without
/// Commit leaves no image (blobs already stored may stay: they are content-addressed and
/// unreferenced, and gc takes them).
/// </summary>
public interface IImageDestination : IDisposable
{
    ImageReference Reference { get; }

    LayerCompressionWish DesiredLayerCompression { get; }

    /// <summary>The manifest media types it can store, preferred first; null for any. A copy converts to the first when the source's is not listed.</summary>
    IReadOnlyList<string>? SupportedManifestTypes { get; }

    /// <summary>Whether PutBlob and TryReusingBlob may be called from several threads at once (a copy then moves layers in parallel); an archive, one stream, cannot.</summary>
    bool HasThreadSafePutBlob { get; }

    /// <summary>The blob as stored when the destination has it already (the copy then skips it); null when it does not.</summary>
    Descriptor? TryReusingBlob(Descriptor blob);

    /// <summary>
    /// Stores <paramref name="content"/> read to its end. <paramref name="info"/> gives the media
    /// type and, when known, the digest and size the content must have (content that differs is
    /// refused and nothing of it stays visible); when they are not known (a layer compressed on
    /// the way) they are computed. Returns the descriptor of what was stored. The caller owns
    /// <paramref name="content"/> (and disposes it).
    /// </summary>
    Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false);

    /// <summary>Stores a manifest or index as these exact bytes: the top-level one (<paramref name="instance"/> null) or an instance of the index that follows.</summary>
    void PutManifest(RawManifest manifest, Digest? instance = null);

    /// <summary>
    /// Makes the image visible under the reference's name. <paramref name="entry"/> carries what
    /// the source recorded beside it (annotations, platform) for destinations that keep an entry.
    /// </summary>
    void Commit(Descriptor? entry = null);
}
