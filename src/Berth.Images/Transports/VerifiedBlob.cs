using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>A source whose blobs are files only this user can write (Berth's store): a blob is proved in place and read from the start, not copied first.</summary>
public interface IPrivateBlobs
{
    /// <summary>The blob's file, open for reading and seekable; null when the source does not hold it or its files are not private after all.</summary>
    Stream? OpenPrivateBlob(Descriptor blob);
}

/// <summary>How blobs are proved to be what their descriptor names.</summary>
public static class VerifiedBlob
{
    const int O_TMPFILE = 0x410000;

    /// <summary>Largest document (manifest, index, config) read into memory.</summary>
    public const long MaxDocumentBytes = BlobStore.MaxDocumentBytes;

    /// <summary>The digest and size a descriptor must give for a blob to be read by it (descriptor.md requires both).</summary>
    public static (Digest Digest, long Size) Describe(Descriptor desc, string what)
    {
        var d = Digest.Parse(desc.Digest ?? "", $"{what}.digest");
        if (desc.Size is not { } size) throw new ImageException($"{what} {d}: the descriptor has no size (image-spec requires one)");
        if (size < 0) throw new ImageException($"{what} {d}: size {size} is negative");
        return (d, size);
    }

    /// <summary>A small blob (a config) whole: its descriptor's size capped at <paramref name="max"/>, then its digest checked.</summary>
    public static byte[] ReadAll(IImageSource source, Descriptor desc, string what, long max = MaxDocumentBytes)
    {
        var (d, size) = Describe(desc, what);
        if (size > max) throw new ImageException($"{what}: blob {d} is {size} bytes, more than {max} for a document");
        var bytes = new byte[size];
        using var s = source.GetBlob(desc);
        s.ReadExactly(bytes);
        // The end, where the digest is checked.
        if (s.Read(new byte[1]) != 0) throw new ImageException($"{what}: blob {d} holds more than the {size} bytes its descriptor says");
        return bytes;
    }

    /// <summary>
    /// A blob (a layer) proved before a byte of it is used: its size and digest checked over the
    /// whole blob first. From a source of private files it is hashed in place and read from the
    /// start; from any other it is copied while hashed into an unnamed file in
    /// <paramref name="scratch"/> (a directory only this user can write), so the bytes checked are
    /// the bytes read, whatever the owner of the source does meanwhile.
    /// </summary>
    public static Stream OpenProved(IImageSource source, Descriptor desc, string what, string scratch)
    {
        var (d, size) = Describe(desc, what);
        try
        {
            if (source is IPrivateBlobs p && p.OpenPrivateBlob(desc) is { } file)
            {
                try
                {
                    Hash(file, null, d, size);
                    file.Position = 0;
                    return file;
                }
                catch
                {
                    file.Dispose();
                    throw;
                }
            }
            var copy = LayoutFiles.AsStream(ScratchFile(scratch), $"the copy of blob {d} in {scratch}", write: true);
            try
            {
                using (var blob = source.GetBlob(desc)) Hash(blob, copy, d, size);
                copy.Position = 0;
                return copy;
            }
            catch
            {
                copy.Dispose();
                throw;
            }
        }
        catch (ImageException e) when (!e.Message.StartsWith(what, StringComparison.Ordinal))
        {
            throw new ImageException($"{what}: {e.Message}", e);
        }
    }

    /// <summary>Reads <paramref name="from"/> to its end (no further than one byte past <paramref name="size"/>), copying it to <paramref name="to"/>, and checks size and digest.</summary>
    static void Hash(Stream from, Stream? to, Digest d, long size)
    {
        using var h = d.NewHash();
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = from.Read(buffer, 0, (int)Math.Min(buffer.Length, size - total + 1))) > 0)
        {
            total += n;
            if (total > size) throw TooLong(d, size);
            h.AppendData(buffer, 0, n);
            to?.Write(buffer, 0, n);
        }
        if (total != size) throw TooShort(d, total, size);
        var actual = Digest.From(d.Algorithm, h);
        if (actual != d) throw WrongDigest(d, actual);
    }

    /// <summary>
    /// Writes <paramref name="content"/> to the new file <paramref name="tmp"/>, hashed on the way
    /// (not when the content proves itself against <paramref name="expected"/>), synced; returns
    /// its digest and size for the caller to check and rename. More bytes than
    /// <paramref name="expectedSize"/> stop it at once, naming <paramref name="what"/>.
    /// </summary>
    internal static (Digest Digest, long Size) WriteHashed(Stream content, string tmp, Digest? expected, long? expectedSize, string? what)
    {
        var alg = expected?.Algorithm ?? "sha256";
        // Content that checks itself (a source's verified blob) is not hashed twice: its end throws unless it is the blob expected.
        bool proved = expected is { } pe && expectedSize is { } ps && content is ISelfVerifying v && v.Proves(pe, ps);
        long size = 0;
        using var h = Digest.NewHash(alg);
        using var file = new FdStream(FileSystem.CreateNew(tmp, 0x1a4 /* 0644 */), tmp, read: false, write: true);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = content.Read(buffer)) > 0)
        {
            if (!proved) h.AppendData(buffer, 0, n);
            file.Write(buffer, 0, n);
            size += n;
            if (expectedSize is { } es && size > es) throw new ImageException($"blob {what}: more than the {es} bytes announced");
        }
        file.Sync();
        return (proved ? expected!.Value : Digest.From(alg, h), size);
    }

    internal static ImageException TooLong(Digest d, long size) => new($"blob {d} holds more than the {size} bytes its descriptor says");
    internal static ImageException TooShort(Digest d, long total, long size) => new($"blob {d} holds {total} bytes, its descriptor says {size}");
    internal static ImageException WrongDigest(Digest d, Digest actual) => new($"blob {d} has digest {actual}: it is not the blob the manifest names");

    /// <summary>An unnamed file (O_TMPFILE) in <paramref name="dir"/>: nothing to see, nothing left behind even on kill -9. File systems without O_TMPFILE get a name unlinked at once.</summary>
    public static SafeFd ScratchFile(string dir)
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
}

/// <summary>
/// A stream that checks itself by its end: its last read (the one that returns 0) throws unless
/// the content had this digest and size. A writer that reads it to that end need not hash it again.
/// </summary>
public interface ISelfVerifying
{
    bool Proves(Digest digest, long size);
}

/// <summary>
/// A blob checked as it is read: it yields at most the descriptor's size, and its end — the read
/// that returns 0 — throws when the content is shorter or longer than the size or has another
/// digest. A consumer that stores what it reads (a copy) reads to the end before making it visible.
/// </summary>
public sealed class VerifyingStream : ReadOnlyStream, ISelfVerifying
{
    readonly Stream _inner;
    readonly Digest _digest;
    readonly long _size;
    readonly System.Security.Cryptography.IncrementalHash _hash;
    long _read;
    bool _checked;

    public VerifyingStream(Stream inner, Digest digest, long size)
    {
        _inner = inner;
        _digest = digest;
        _size = size;
        _hash = digest.NewHash();
    }

    public VerifyingStream(Stream inner, Descriptor desc, string what = "blob") : this(inner, VerifiedBlob.Describe(desc, what).Digest, desc.Size!.Value) { }

    public bool Proves(Digest digest, long size) => digest == _digest && size == _size;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.Length == 0) return 0;
        if (_read < _size)
        {
            int n = _inner.Read(buffer[..(int)Math.Min(buffer.Length, _size - _read)]);
            if (n > 0)
            {
                _hash.AppendData(buffer[..n]);
                _read += n;
                return n;
            }
            throw VerifiedBlob.TooShort(_digest, _read, _size);
        }
        if (!_checked)
        {
            Span<byte> probe = stackalloc byte[1];
            if (_inner.Read(probe) > 0) throw VerifiedBlob.TooLong(_digest, _size);
            var actual = Digest.From(_digest.Algorithm, _hash);
            if (actual != _digest) throw VerifiedBlob.WrongDigest(_digest, actual);
            _checked = true;
        }
        return 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
