using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>
/// Content-addressed blobs under blobs/&lt;algorithm&gt;/&lt;encoded&gt; (image-layout.md). A blob
/// becomes visible only after its bytes are on disk, synced, and proved to have the digest
/// and size they were announced with: written to a temporary file, then renamed.
/// </summary>
public sealed class BlobStore
{
    public string Root { get; }

    public BlobStore(string layoutRoot) => Root = Path.Combine(layoutRoot, "blobs");

    public string PathOf(Digest d) => Path.Combine(Root, d.Algorithm, d.Encoded);

    public bool Has(Digest d) => File.Exists(PathOf(d));

    public Stream Open(Digest d)
    {
        try
        {
            return new FileStream(PathOf(d), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageException($"blob {d} is not in {Root}");
        }
    }

    /// <summary>Reads a small blob whole (a manifest, an index, a config), checking its digest.</summary>
    public byte[] ReadAll(Descriptor desc, long max = 16 << 20)
    {
        var d = Digest.Parse(desc.Digest ?? "", "descriptor.digest");
        if (desc.Size is > 0 and var size && size > max) throw new ImageException($"blob {d} is {size} bytes, more than {max} for a document");
        using var stream = Open(d);
        // One byte over the cap tells a blob that is too large, whatever its descriptor claimed.
        var buffer = new byte[max + 1];
        int total = 0, n;
        while (total < buffer.Length && (n = stream.Read(buffer, total, buffer.Length - total)) > 0) total += n;
        if (total > max) throw new ImageException($"blob {d} is more than {max} bytes, too large for a document");
        var bytes = buffer[..total];
        Verify(bytes, d, desc.Size);
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

    /// <summary>Stores <paramref name="content"/>; with an expected digest, refuses content that does not match it.</summary>
    public Descriptor Write(Stream content, string mediaType, Digest? expected = null, long? expectedSize = null)
    {
        var alg = expected?.Algorithm ?? "sha256";
        var dir = Path.Combine(Root, alg);
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(Root, $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            long size = 0;
            Digest digest;
            using (var h = Digest.NewHash(alg))
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
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
                file.Flush(flushToDisk: true);
                digest = Digest.From(alg, h);
            }
            if (expected is { } e && e != digest) throw new ImageException($"blob {e}: content has digest {digest}");
            if (expectedSize is { } sz && sz != size) throw new ImageException($"blob {digest}: {size} bytes, the descriptor says {sz}");
            // No replace: a blob already there (another writer's, same digest) is the same bytes.
            try { Linux.Files.RenameNoReplace(tmp, PathOf(digest)); }
            catch (Linux.LinuxException ex) when (ex.Errno == Linux.Errno.EEXIST) { }
            return new Descriptor { MediaType = mediaType, Digest = digest.ToString(), Size = size };
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public Descriptor Write(byte[] content, string mediaType) => Write(new MemoryStream(content), mediaType);

    public IEnumerable<Digest> All()
    {
        if (!Directory.Exists(Root)) yield break;
        foreach (var algDir in Directory.EnumerateDirectories(Root))
            foreach (var file in Directory.EnumerateFiles(algDir))
                yield return new Digest(Path.GetFileName(algDir), Path.GetFileName(file));
    }

    public void Delete(Digest d) => File.Delete(PathOf(d));
}
