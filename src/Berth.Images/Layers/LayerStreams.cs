using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Berth.Oci.Image;

namespace Berth.Images.Layers;

/// <summary>
/// A layer's tar stream, decompressed in-process, hashed as it is read (its digest must be the
/// config's diff_id), and cut off past a size cap: a gzip bomb fails instead of filling the disk.
/// Decompression and hashing run on their own thread a few chunks ahead of the reader, so on two
/// cores inflating overlaps with the file system work of unpacking (about halving its time).
/// </summary>
public sealed class LayerStream : ReadOnlyStream
{
    const int ChunkBytes = 1 << 18, ChunksAhead = 8;

    readonly Stream _inner;
    readonly System.Security.Cryptography.IncrementalHash _hash;
    readonly long _max;
    readonly string _what;
    readonly BlockingCollection<(byte[] Buffer, int Length)> _chunks = new(ChunksAhead);
    readonly CancellationTokenSource _stop = new();
    readonly Thread _producer;
    Exception? _failure;
    Digest? _actual;
    byte[]? _chunk;
    int _chunkLength, _chunkOffset;

    /// <summary>Default cap on one layer's decompressed size.</summary>
    public const long DefaultMaxBytes = 64L << 30;

    public LayerStream(Stream compressed, LayerCompression compression, Digest diffId, long maxBytes, string what)
    {
        _inner = LayerCodecs.Decompress(compressed, compression);
        _hash = diffId.NewHash();
        DiffId = diffId;
        _max = maxBytes;
        _what = what;
        _producer = new Thread(Produce) { IsBackground = true, Name = "berth-layer" };
        _producer.Start();
    }

    public Digest DiffId { get; }

    /// <summary>"layer sha256:…", for messages.</summary>
    public string What => _what;

    /// <summary>
    /// The image's layer <paramref name="layer"/> from <paramref name="source"/>, its compressed
    /// blob proved before the decompressor sees a byte of it (see VerifiedBlob.OpenProved;
    /// <paramref name="scratch"/> is a private directory for the copy), its content then checked
    /// against <paramref name="diffId"/> as it is read.
    /// </summary>
    public static LayerStream Open(Transports.IImageSource source, Descriptor layer, string diffId, long maxBytes, string scratch)
    {
        var diff = Digest.Parse(diffId, "rootfs.diff_ids");
        var what = $"layer {layer.Digest}";
        var compression = MediaTypes.CompressionOf(layer.MediaType)
            ?? throw new ImageException($"{what}: media type {Quote.Of(layer.MediaType)} is not a layer this runtime can unpack");
        var blob = Transports.VerifiedBlob.OpenProved(source, layer, what, scratch);
        try
        {
            // Docker's gzip type also names uncompressed tars (containers/image's docker-archive source does so): the bytes tell.
            if (layer.MediaType is MediaTypes.DockerLayerGzip or MediaTypes.DockerForeignLayerGzip)
            {
                Span<byte> head = stackalloc byte[LayerCodecs.MagicBytes];
                int n = blob.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
                blob.Position = 0;
                compression = LayerCodecs.Detect(head[..n], what);
            }
            return new LayerStream(blob, compression, diff, maxBytes, what);
        }
        catch
        {
            blob.Dispose();
            throw;
        }
    }

    void Produce()
    {
        try
        {
            long read = 0;
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
                int n = 0, got;
                while (n < ChunkBytes && (got = _inner.Read(buffer, n, ChunkBytes - n)) > 0) n += got;
                if (n == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                read += n;
                if (read > _max) throw new ImageException($"{_what}: decompresses to more than {_max} bytes (the cap; a decompression bomb?)");
                _hash.AppendData(buffer, 0, n);
                _chunks.Add((buffer, n), _stop.Token);
            }
            _actual = Digest.From(DiffId.Algorithm, _hash);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // The reader went away (an error in the layer, or disposal).
        }
        catch (Exception e)
        {
            _failure = e;
        }
        finally
        {
            _chunks.CompleteAdding();
        }
    }

    public override int Read(Span<byte> buffer)
    {
        while (_chunk is null || _chunkOffset == _chunkLength)
        {
            if (_chunk is not null) ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = null;
            if (!_chunks.TryTake(out var next, Timeout.Infinite))
            {
                if (_failure is not null) ExceptionDispatchInfo.Throw(_failure);
                return 0;
            }
            (_chunk, _chunkLength, _chunkOffset) = (next.Buffer, next.Length, 0);
        }
        int n = Math.Min(buffer.Length, _chunkLength - _chunkOffset);
        _chunk.AsSpan(_chunkOffset, n).CopyTo(buffer);
        _chunkOffset += n;
        return n;
    }

    /// <summary>Reads what is left (tar padding, trailing zeros) and checks the diff_id.</summary>
    public void Verify()
    {
        var sink = new byte[1 << 16];
        while (Read(sink) > 0) { }
        _producer.Join();
        if (_actual != DiffId) throw new ImageException($"{_what}: uncompressed content has digest {_actual}, the config says {DiffId}");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _stop.Cancel();
            while (_chunks.TryTake(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
            _producer.Join();
            while (_chunks.TryTake(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
            if (_chunk is not null) ArrayPool<byte>.Shared.Return(_chunk);
            _chunk = null;
            _inner.Dispose();
            _hash.Dispose();
            _chunks.Dispose();
            _stop.Dispose();
        }
        base.Dispose(disposing);
    }
}
