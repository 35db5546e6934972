using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// An image to read, wherever it is (containers/image's types.ImageSource, go-containerregistry's
/// v1.Image): its manifests as the exact bytes stored — digests, and later signatures, are over
/// those bytes, never over a re-encoding — and its blobs by descriptor. A source is opened from an
/// <see cref="ImageReference"/> and disposed when the copy or unpack is done.
/// </summary>
public interface IImageSource : IDisposable
{
    ImageReference Reference { get; }

    /// <summary>
    /// The manifest or index the reference names (<paramref name="instance"/> null), or one of the
    /// manifests an index lists, by digest. The bytes are checked against the digest that names
    /// them wherever the transport has one (an index entry, the instance asked for).
    /// </summary>
    RawManifest GetManifest(Digest? instance = null);

    /// <summary>
    /// A blob (config or layer) by its descriptor, verified as it is read: reading it to the end
    /// throws an <see cref="ImageException"/> when the size or the digest is not the descriptor's,
    /// and it never yields a byte past the descriptor's size. Callers that act on the bytes before
    /// the end (a decompressor) must prove them first: <see cref="VerifiedBlob.OpenProved"/>.
    /// </summary>
    Stream GetBlob(Descriptor blob);

    /// <summary>Whether the source holds the blob (a layer with URLs may live elsewhere; an index's other platforms may be absent).</summary>
    bool HasBlob(Descriptor blob);

    /// <summary>
    /// What the transport records beside the image, where it keeps an entry for it (an OCI index
    /// entry: its annotations and platform), for a destination to keep; null where it keeps none.
    /// </summary>
    Descriptor? Entry { get; }
}
