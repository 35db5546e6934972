using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// Writes an image into an OCI layout directory (oci:, and the store): each blob to a temporary
/// name, checked, then renamed to its digest — with no lock held — and the index entry last,
/// under the layout's lock, in <see cref="Commit"/>. Writing into the store, a
/// <see cref="BlobLease"/> claims every blob before it is renamed or reused, so gc keeps them.
/// </summary>
public sealed class LayoutDestination : IImageDestination
{
    readonly OciLayout _layout;
    readonly string _name;
    readonly BlobLease? _lease;
    /// <summary>Every blob the image names, as stored or found here: checked once more under the lock before the name goes in.</summary>
    readonly HashSet<Digest> _blobs = new();
    Descriptor? _top;

    public LayoutDestination(ImageReference reference, OciLayout layout, string name, BlobLease? lease = null)
    {
        Reference = reference;
        _layout = layout;
        _name = name;
        _lease = lease;
    }

    public ImageReference Reference { get; }

    public LayerCompressionWish DesiredLayerCompression => LayerCompressionWish.Compress;

    /// <summary>
    /// Any: an image layout holds Docker v2s2 manifests as well as OCI ones (go-containerregistry's
    /// layouts and Berth's store keep them as they are), so a copy changes no digest unless asked
    /// to (--format). skopeo's oci: converts Docker images to OCI instead.
    /// </summary>
    public IReadOnlyList<string>? SupportedManifestTypes => null;

    /// <summary>Each blob is its own temporary file and rename; the lease serialises its claims.</summary>
    public bool HasThreadSafePutBlob => true;

    public Descriptor? TryReusingBlob(Descriptor blob)
    {
        var d = Digest.Parse(blob.Digest ?? "", "descriptor.digest");
        _lease?.Claim(d);
        if (!_layout.Blobs.Has(d)) return null;
        lock (_blobs) _blobs.Add(d);
        return new Descriptor { MediaType = blob.MediaType, Digest = blob.Digest, Size = blob.Size };
    }

    public Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false)
    {
        Digest? expected = info.Digest is { } text ? Digest.Parse(text, "descriptor.digest") : null;
        // Claimed before the rename when the digest is known only at the end (a layer compressed on the way).
        var stored = _layout.Blobs.Write(content, info.MediaType ?? "", expected, info.Size, _lease?.Id, _lease is null ? null : _lease.Claim);
        lock (_blobs) _blobs.Add(Digest.Parse(stored.Digest!));
        return stored;
    }

    public void PutManifest(RawManifest manifest, Digest? instance = null)
    {
        var stored = _layout.Blobs.Write(new MemoryStream(manifest.Bytes), manifest.MediaType, manifest.Digest, manifest.Bytes.Length, _lease?.Id, _lease is null ? null : _lease.Claim);
        lock (_blobs) _blobs.Add(manifest.Digest);
        if (instance is null) _top = stored;
    }

    public void Commit(Descriptor? entry = null)
    {
        var top = _top ?? throw new InvalidOperationException("Commit before PutManifest");
        top.Platform = entry?.Platform;
        if (entry?.Annotations is { } a) top.Annotations = new Dictionary<string, string>(a);
        using var lockFd = _layout.Lock();
        // The lease makes this hold; a blob gone here would be a broken image under a name, so it is looked for once more.
        foreach (var d in _blobs)
            if (!_layout.Blobs.Has(d)) throw new ImageException($"{Reference}: blob {d} is no longer in {_layout.Root}; nothing was named");
        _layout.Tag(_name, top, lockHeld: true);
    }

    public void Dispose() => _lease?.Dispose();
}
