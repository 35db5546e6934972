using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>
/// Content-addressed blobs under blobs/&lt;algorithm&gt;/&lt;encoded&gt; (image-layout.md). A blob
/// becomes visible only after its bytes are on disk, synced, and proved to have the digest
/// and size they were announced with: written to a temporary file, then renamed. A blob is read
/// only through its descriptor, and only after it has been proved to be what the descriptor
/// names: nothing downstream (a decompressor, the tar reader) ever sees unverified bytes.
/// </summary>
public sealed class BlobStore
{
    /// <summary>Largest document (manifest, index, config) read into memory.</summary>
    public const long MaxDocumentBytes = 16 << 20;

    readonly string _layoutRoot;
    readonly bool _private;

    public string Root { get; }

    /// <param name="isPrivate">Only this user can write the layout (the store, an unpacked archive): a blob is verified in place, not copied first.</param>
    public BlobStore(string layoutRoot, bool isPrivate = false)
    {
        _layoutRoot = layoutRoot;
        _private = isPrivate;
        Root = Path.Combine(layoutRoot, "blobs");
    }

    public string PathOf(Digest d) => Path.Combine(Root, d.Algorithm, d.Encoded);

    static string RelativePath(Digest d) => $"blobs/{d.Algorithm}/{d.Encoded}";

    public bool Has(Digest d) => File.Exists(PathOf(d));

    /// <summary>The raw blob, a regular file of the layout; not verified (callers that store it verify on the way in).</summary>
    public Stream Open(Digest d) =>
        LayoutFiles.AsStream(LayoutFiles.TryOpen(_layoutRoot, RelativePath(d), $"blob {d}") ?? throw new ImageException($"blob {d} is not in {Root}"), PathOf(d));

    /// <summary>Reads a small blob whole (a manifest, an index, a config): at most its descriptor's size, then its digest checked.</summary>
    public byte[] ReadAll(Descriptor desc, long max = MaxDocumentBytes)
    {
        var (d, size) = Transports.VerifiedBlob.Describe(desc, "blob");
        if (size > max) throw new ImageException($"blob {d} is {size} bytes, more than {max} for a document");
        using var fd = LayoutFiles.TryOpen(_layoutRoot, RelativePath(d), $"blob {d}") ?? throw new ImageException($"blob {d} is not in {Root}");
        // One byte more than the descriptor says tells a blob that is longer than announced.
        var bytes = LayoutFiles.ReadAll(fd, size, $"blob {d}: the descriptor says {size} bytes, the blob holds");
        Verify(bytes, d, size);
        return bytes;
    }

    public static void Verify(ReadOnlySpan<byte> bytes, Digest d, long? size)
    {
        if (size is { } s && bytes.Length != s) throw new ImageException($"blob {d}: {bytes.Length} bytes, the descriptor says {s}");
        using var h = d.NewHash();
        h.AppendData(bytes);
        var actual = Digest.From(d.Algorithm, h);
        if (actual != d) throw new ImageException($"blob {d}: content has digest {actual}");
    }

    /// <summary>A document named by digest alone (an index's instance): read up to <paramref name="max"/> bytes, then its digest checked.</summary>
    public byte[] ReadDocument(Digest d, long max = MaxDocumentBytes)
    {
        using var fd = LayoutFiles.TryOpen(_layoutRoot, RelativePath(d), $"blob {d}") ?? throw new ImageException($"blob {d} is not in {Root}");
        var bytes = LayoutFiles.ReadAll(fd, max, $"blob {d}");
        Verify(bytes, d, null);
        return bytes;
    }

    /// <summary>The blob's file when this layout is private (only this user can write it): see <see cref="Transports.IPrivateBlobs"/>.</summary>
    public Stream? OpenPrivate(Digest d) =>
        _private && LayoutFiles.TryOpen(_layoutRoot, RelativePath(d), $"blob {d}") is { } fd ? LayoutFiles.AsStream(fd, PathOf(d)) : null;

    /// <summary>
    /// Stores <paramref name="content"/>; with an expected digest, refuses content that does not
    /// match it. The bytes go to a temporary name (".tmp-<paramref name="tempTag"/>-…", so a
    /// collector can tell whose it is), are synced and checked, and only then renamed to their
    /// digest; <paramref name="claim"/> runs between the check and the rename (a writer of the
    /// store registers the digest there so that gc keeps it, <see cref="BlobLease"/>).
    /// </summary>
    public Descriptor Write(Stream content, string mediaType, Digest? expected = null, long? expectedSize = null, string? tempTag = null, Action<Digest>? claim = null)
    {
        var alg = expected?.Algorithm ?? "sha256";
        var dir = Path.Combine(Root, alg);
        FileSystem.CreateDirectory(dir);
        var tmp = Path.Combine(Root, $".tmp-{tempTag ?? Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}");
        try
        {
            var (digest, size) = Transports.VerifiedBlob.WriteHashed(content, tmp, expected, expectedSize, expected?.ToString());
            if (expected is { } e && e != digest) throw new ImageException($"blob {e}: content has digest {digest}");
            if (expectedSize is { } sz && sz != size) throw new ImageException($"blob {digest}: {size} bytes, the descriptor says {sz}");
            claim?.Invoke(digest);
            // No replace: a blob already there (another writer's, same digest) is the same bytes.
            try { Files.RenameNoReplace(tmp, PathOf(digest)); }
            catch (LinuxException ex) when (ex.Errno == Errno.EEXIST) { }
            return new Descriptor { MediaType = mediaType, Digest = digest.ToString(), Size = size };
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
    }

    public Descriptor Write(byte[] content, string mediaType, string? tempTag = null, Action<Digest>? claim = null) =>
        Write(new MemoryStream(content), mediaType, tempTag: tempTag, claim: claim);

    public IEnumerable<Digest> All()
    {
        if (!Directory.Exists(Root)) return Array.Empty<Digest>();
        return FileSystem.Directories(Root).SelectMany(alg => FileSystem.NonDirectories(Path.Combine(Root, alg)).Select(file => new Digest(alg, file))).ToList();
    }

    public void Delete(Digest d) => FileSystem.Delete(PathOf(d));
}
