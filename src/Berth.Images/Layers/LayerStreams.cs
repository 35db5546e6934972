using System.IO.Compression;
using Berth.Oci.Image;

namespace Berth.Images.Layers;

/// <summary>
/// A layer's tar stream, decompressed in-process, hashed as it is read (its digest must be the
/// config's diff_id), and cut off past a size cap: a gzip bomb fails instead of filling the disk.
/// </summary>
public sealed class LayerStream : Stream
{
    readonly Stream _inner;
    readonly System.Security.Cryptography.IncrementalHash _hash;
    readonly long _max;
    readonly string _what;
    long _read;

    /// <summary>Default cap on one layer's decompressed size.</summary>
    public const long DefaultMaxBytes = 64L << 30;

    public LayerStream(Stream compressed, LayerCompression compression, Digest diffId, long maxBytes, string what)
    {
        _inner = compression switch
        {
            LayerCompression.Gzip => new GZipStream(compressed, CompressionMode.Decompress),
            LayerCompression.Zstd => new ZstdStream(compressed),
            _ => compressed,
        };
        _hash = diffId.NewHash();
        DiffId = diffId;
        _max = maxBytes;
        _what = what;
    }

    public Digest DiffId { get; }

    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        _read += n;
        if (_read > _max) throw new ImageException($"{_what}: decompresses to more than {_max} bytes (the cap; a decompression bomb?)");
        _hash.AppendData(buffer[..n]);
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Reads what is left (tar padding, trailing zeros) and checks the diff_id.</summary>
    public void Verify()
    {
        var sink = new byte[1 << 16];
        while (Read(sink) > 0) { }
        var actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
        if (actual != DiffId.Encoded) throw new ImageException($"{_what}: uncompressed content has digest {DiffId.Algorithm}:{actual}, the config says {DiffId}");
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

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _read; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
