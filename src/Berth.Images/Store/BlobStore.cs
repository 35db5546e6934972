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

    const int O_TMPFILE = 0x410000;

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

    static (Digest Digest, long Size) Describe(Descriptor desc, string what)
    {
        var d = Digest.Parse(desc.Digest ?? "", $"{what}.digest");
        if (desc.Size is not { } size) throw new ImageException($"{what} {d}: the descriptor has no size (image-spec requires one)");
        if (size < 0) throw new ImageException($"{what} {d}: size {size} is negative");
        return (d, size);
    }

    /// <summary>Reads a small blob whole (a manifest, an index, a config): at most its descriptor's size, then its digest checked.</summary>
    public byte[] ReadAll(Descriptor desc, long max = MaxDocumentBytes)
    {
        var (d, size) = Describe(desc, "blob");
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

    /// <summary>
    /// A blob (a layer) proved before it is read: its size and digest checked over the whole
    /// blob first. In a private layout it is hashed in place and then read from the start; from
    /// any other layout it is copied into an unnamed file in <paramref name="scratch"/> (a
    /// directory only this user can write) while hashed, so the bytes checked are the bytes
    /// read, whatever the layout's owner does meanwhile.
    /// </summary>
    public Stream OpenVerified(Descriptor desc, string what, string scratch)
    {
        var (d, size) = Describe(desc, what);
        var fd = LayoutFiles.TryOpen(_layoutRoot, RelativePath(d), what) ?? throw new ImageException($"{what}: blob {d} is not in {Root}");
        var blob = LayoutFiles.AsStream(fd, PathOf(d));
        try
        {
            if (_private)
            {
                Hash(blob, null, d, size, what);
                blob.Position = 0;
                return blob;
            }
            var copy = LayoutFiles.AsStream(ScratchFile(scratch), $"the copy of blob {d} in {scratch}", write: true);
            try
            {
                Hash(blob, copy, d, size, what);
                copy.Position = 0;
                return copy;
            }
            catch
            {
                copy.Dispose();
                throw;
            }
            finally
            {
                blob.Dispose();
            }
        }
        catch
        {
            blob.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="from"/> to its end (no further than one byte past <paramref name="size"/>), copying it to <paramref name="to"/>, and checks size and digest.</summary>
    static void Hash(Stream from, Stream? to, Digest d, long size, string what)
    {
        using var h = d.NewHash();
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, size - total + 1))) > 0)
        {
            total += n;
            if (total > size) throw new ImageException($"{what}: blob {d} holds more than the {size} bytes its descriptor says");
            h.AppendData(buffer, 0, n);
            to?.Write(buffer, 0, n);
        }
        if (total != size) throw new ImageException($"{what}: blob {d} holds {total} bytes, its descriptor says {size}");
        var actual = Digest.From(d.Algorithm, h);
        if (actual != d) throw new ImageException($"{what}: blob {d} has digest {actual}: it is not the blob the manifest names");
    }

    /// <summary>An unnamed file (O_TMPFILE) in <paramref name="dir"/>: nothing to see, nothing left behind even on kill -9. File systems without O_TMPFILE get a name unlinked at once.</summary>
    static SafeFd ScratchFile(string dir)
    {
        try
        {
            return Files.Open(dir, O_TMPFILE | O.RDWR, 0x180);
        }
        catch (LinuxException e) when (e.Errno is Errno.EOPNOTSUPP or Errno.EISDIR or Errno.EINVAL)
        {
            var name = Path.Combine(dir, $".tmp-blob-{Environment.ProcessId}-{Guid.NewGuid():N}");
            var fd = Files.Open(name, O.RDWR | O.CREAT | O.EXCL | O.NOFOLLOW, 0x180);
            Files.UnlinkAt(null, name);
            return fd;
        }
    }

    /// <summary>Stores <paramref name="content"/>; with an expected digest, refuses content that does not match it.</summary>
    public Descriptor Write(Stream content, string mediaType, Digest? expected = null, long? expectedSize = null)
    {
        var alg = expected?.Algorithm ?? "sha256";
        var dir = Path.Combine(Root, alg);
        FileSystem.CreateDirectory(dir);
        var tmp = Path.Combine(Root, $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            long size = 0;
            Digest digest;
            using (var h = Digest.NewHash(alg))
            using (var file = new FdStream(FileSystem.CreateNew(tmp, 0x1a4 /* 0644 */), tmp, read: false, write: true))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = content.Read(buffer)) > 0)
                {
                    h.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                    size += n;
                    if (expectedSize is { } es && size > es) throw new ImageException($"blob {expected}: more than the {es} bytes announced");
                }
                file.Sync();
                digest = Digest.From(alg, h);
            }
            if (expected is { } e && e != digest) throw new ImageException($"blob {e}: content has digest {digest}");
            if (expectedSize is { } sz && sz != size) throw new ImageException($"blob {digest}: {size} bytes, the descriptor says {sz}");
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

    public Descriptor Write(byte[] content, string mediaType) => Write(new MemoryStream(content), mediaType);

    public IEnumerable<Digest> All()
    {
        if (!Directory.Exists(Root)) return Array.Empty<Digest>();
        return FileSystem.Directories(Root).SelectMany(alg => FileSystem.NonDirectories(Path.Combine(Root, alg)).Select(file => new Digest(alg, file))).ToList();
    }

    public void Delete(Digest d) => FileSystem.Delete(PathOf(d));
}
