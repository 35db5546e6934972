using Berth.Images.Archives;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>The files of an OCI image layout (image-layout.md) to read, wherever they are: a directory, or the members of an archive.</summary>
public interface ILayoutReader : IDisposable
{
    /// <summary>For messages: the directory or the archive.</summary>
    string Where { get; }
    ImageIndex ReadIndex();
    /// <summary>The blob's raw bytes, unverified; throws when the layout does not hold it.</summary>
    Stream OpenBlob(Digest d);
    bool HasBlob(Digest d);
    /// <summary>A small blob whole, read no further than its descriptor's size and checked against its digest.</summary>
    byte[] ReadAll(Descriptor desc);
    /// <summary>A document named by its digest only (an index's instance): capped, then checked.</summary>
    byte[] ReadDocument(Digest d);
}

/// <summary>A layout directory, every file opened by <see cref="LayoutFiles"/>' rules (regular files, no links).</summary>
public sealed class DirectoryLayoutReader(OciLayout layout) : ILayoutReader
{
    public OciLayout Layout => layout;
    public string Where => layout.Root;
    public ImageIndex ReadIndex() => layout.ReadIndex();
    public Stream OpenBlob(Digest d) => layout.Blobs.Open(d);
    public bool HasBlob(Digest d) => layout.Blobs.Has(d);
    public byte[] ReadAll(Descriptor desc) => layout.Blobs.ReadAll(desc);
    public byte[] ReadDocument(Digest d) => layout.Blobs.ReadDocument(d);
    public void Dispose() { }
}

/// <summary>A layout inside an archive (oci-archive:), read in place through a <see cref="TarIndex"/>.</summary>
public sealed class ArchiveLayoutReader : ILayoutReader
{
    readonly TarIndex _tar;

    public ArchiveLayoutReader(TarIndex tar)
    {
        _tar = tar;
        var marker = tar.ReadAll("oci-layout", 64 << 10) ?? throw new ImageException($"{tar.Path}: not an OCI archive (no oci-layout file in it)");
        var version = Documents.ParseLayoutMarker(marker, $"{tar.Path}: oci-layout");
        if (version != "1.0.0") throw new ImageException($"{tar.Path}: oci-layout: imageLayoutVersion {Quote.Of(version)} is not supported (1.0.0 is)");
    }

    public TarIndex Tar => _tar;
    public string Where => _tar.Path;

    public ImageIndex ReadIndex()
    {
        var what = $"{_tar.Path}: index.json";
        var bytes = _tar.ReadAll("index.json", BlobStore.MaxDocumentBytes) ?? throw new ImageException($"{what}: not in the archive");
        return Documents.ParseIndex(bytes, null, what);
    }

    public static string MemberOf(Digest d) => $"blobs/{d.Algorithm}/{d.Encoded}";

    public Stream OpenBlob(Digest d) => _tar.Open(MemberOf(d)) ?? throw new ImageException($"blob {d} is not in {_tar.Path}");

    public bool HasBlob(Digest d) => _tar.Has(MemberOf(d));

    public byte[] ReadAll(Descriptor desc)
    {
        var (d, size) = VerifiedBlob.Describe(desc, "blob");
        if (size > BlobStore.MaxDocumentBytes) throw new ImageException($"blob {d} is {size} bytes, more than {BlobStore.MaxDocumentBytes} for a document");
        var bytes = _tar.ReadAll(MemberOf(d), BlobStore.MaxDocumentBytes) ?? throw new ImageException($"blob {d} is not in {_tar.Path}");
        BlobStore.Verify(bytes, d, size);
        return bytes;
    }

    public byte[] ReadDocument(Digest d)
    {
        var bytes = _tar.ReadAll(MemberOf(d), BlobStore.MaxDocumentBytes) ?? throw new ImageException($"blob {d} is not in {_tar.Path}");
        BlobStore.Verify(bytes, d, null);
        return bytes;
    }

    public void Dispose() => _tar.Dispose();
}

/// <summary>An image of an OCI layout (the store, oci:, oci-archive:): the index entry a name points at, and the blobs under it.</summary>
public sealed class LayoutSource : IImageSource, IPrivateBlobs
{
    readonly ILayoutReader _layout;
    readonly OciLayout? _private;

    /// <param name="privateLayout">The layout when only this user can write it (the store): blobs are proved in place.</param>
    public LayoutSource(ImageReference reference, ILayoutReader layout, string? name, OciLayout? privateLayout = null)
    {
        Reference = reference;
        _layout = layout;
        _private = privateLayout;
        Entry = OciLayout.Find(layout.ReadIndex(), name, layout.Where, reference.Transport.Name);
    }

    public ImageReference Reference { get; }

    public Descriptor Entry { get; }

    public RawManifest GetManifest(Digest? instance = null)
    {
        if (instance is { } d) return RawManifest.Guess(_layout.ReadDocument(d), $"manifest {d}", d);
        var bytes = _layout.ReadAll(Entry);
        var digest = Digest.Parse(Entry.Digest!, "index.json: manifests[].digest");
        return Entry.MediaType is { Length: > 0 } type ? new RawManifest(bytes, type, digest) : RawManifest.Guess(bytes, $"manifest {digest}", digest);
    }

    public Stream GetBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        return new VerifyingStream(_layout.OpenBlob(d), d, size);
    }

    public bool HasBlob(Descriptor blob) => _layout.HasBlob(Digest.Parse(blob.Digest ?? "", "descriptor.digest"));

    public Stream? OpenPrivateBlob(Descriptor blob) =>
        _private?.Blobs.OpenPrivate(Digest.Parse(blob.Digest ?? "", "descriptor.digest"));

    Descriptor? IImageSource.Entry => Entry;

    public void Dispose() => _layout.Dispose();
}
