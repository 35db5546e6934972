using System.Net;
using System.Security.Cryptography;
using Berth.Oci.Image;

namespace Berth.Images.Registry;

/// <summary>
/// A blob as it comes from the registry, read once: every byte is hashed on its way through, the
/// size is held to the descriptor's, and the end of the stream is reported only after the digest
/// has been proved — a mismatch is a <see cref="RegistryException"/> from the last read, so a
/// destination that writes to a temporary name and renames at the end of the stream stores
/// nothing unverified. A connection that breaks mid-blob is resumed with Range from the byte
/// reached (hashing goes on where it was), as containers/image's bodyReader does.
/// </summary>
public sealed class BlobStream : Stream, Transports.ISelfVerifying
{
    readonly RegistryClient _client;
    readonly string _repository;
    readonly string _what;
    readonly IncrementalHash _hash;
    readonly SemaphoreSlim? _permit;
    HttpResponseMessage? _response;
    Stream? _body;
    long _position;
    long _size;
    int _resumes;
    bool _verified, _failed, _disposed;

    public Digest Digest { get; }

    /// <summary>The blob's size: the descriptor's, or the registry's Content-Length when the caller knew none (-1 until then).</summary>
    public long Size => _size;

    /// <summary>How many times a broken transfer was resumed with Range.</summary>
    public int Resumes => _resumes;

    /// <summary>Whether the whole blob has been read and proved to have its digest and size.</summary>
    public bool Verified => _verified;

    internal BlobStream(RegistryClient client, string repository, Digest digest, long size, string what, SemaphoreSlim? permit)
    {
        _client = client;
        _repository = repository;
        Digest = digest;
        _size = size;
        _what = what;
        _permit = permit;
        _hash = digest.NewHash();
    }

    /// <summary>The end of this stream proves digest and size (its last read throws otherwise): a store writing it need not hash it again.</summary>
    public bool Proves(Digest digest, long size) => digest == Digest && size >= 0 && size == _size;

    /// <summary>Sends the first GET: a missing blob fails here, before any byte is handed out.</summary>
    internal async Task OpenAsync(CancellationToken ct) => await ConnectAsync(ct).ConfigureAwait(false);

    async Task ConnectAsync(CancellationToken ct)
    {
        long from = _position;
        var response = await _client.SendAsync(new RegistryClient.Request(HttpMethod.Get, $"/v2/{_repository}/blobs/{Digest}", _what, "reading blob",
            $"repository:{_repository}:pull")
        {
            Headers = m =>
            {
                if (from > 0) m.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(from, null);
            },
        }, ct).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode) throw await RegistryClient.FailureAsync(response, _what, "reading blob", ct).ConfigureAwait(false);
            if (_size < 0 && from == 0 && response.Content.Headers.ContentLength is { } length) _size = length;
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            if (from > 0)
            {
                if (response.StatusCode == HttpStatusCode.PartialContent)
                {
                    if (response.Content.Headers.ContentRange is { From: { } start } && start != from)
                        throw new RegistryException($"{_what}: resuming blob: asked for bytes from {from}, the registry sent them from {start}");
                }
                else
                {
                    // The registry ignored Range and sent the whole blob again: skip what was already hashed.
                    await SkipAsync(body, from, ct).ConfigureAwait(false);
                }
            }
            _response = response;
            _body = body;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    async Task SkipAsync(Stream body, long count, CancellationToken ct)
    {
        var buffer = new byte[81920];
        while (count > 0)
        {
            int n = await body.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), ct).ConfigureAwait(false);
            if (n == 0) throw new IOException("the connection ended while skipping what was already received");
            count -= n;
        }
    }

    void CloseBody()
    {
        _body?.Dispose();
        _response?.Dispose();
        _body = null;
        _response = null;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_verified || buffer.Length == 0) return 0;
        if (_failed) throw new RegistryException($"{_what}: reading blob {Digest}: the transfer already failed");
        try
        {
            while (true)
            {
                if (_body is null) await ConnectAsync(ct).ConfigureAwait(false);
                // One byte past the size at most: enough to tell a blob longer than announced.
                var want = _size >= 0 ? (int)Math.Min(buffer.Length, _size - _position + 1) : buffer.Length;
                int n;
                try
                {
                    using var idle = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    idle.CancelAfter(_client.Options.ReadTimeout);
                    try
                    {
                        n = await _body!.ReadAsync(buffer[..want], idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                    {
                        throw new IOException($"no data for {_client.Options.ReadTimeout.TotalSeconds:0} s", e);
                    }
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
                {
                    await ResumeAsync(e.Message, ct).ConfigureAwait(false);
                    continue;
                }
                if (n == 0)
                {
                    if (_size >= 0 && _position < _size)
                    {
                        await ResumeAsync($"the connection ended after {_position} of {_size} bytes", ct).ConfigureAwait(false);
                        continue;
                    }
                    var actual = Digest.From(Digest.Algorithm, _hash);
                    CloseBody();
                    if (actual != Digest)
                        throw new RegistryException($"{_what}: blob {Digest}: the registry sent content with digest {actual}; nothing of it is kept", ErrorCodes.DigestInvalid);
                    _verified = true;
                    return 0;
                }
                if (_size >= 0 && _position + n > _size)
                    throw new RegistryException($"{_what}: blob {Digest}: the registry sent more than the {_size} bytes the descriptor says; nothing of it is kept", ErrorCodes.SizeInvalid);
                _hash.AppendData(buffer.Span[..n]);
                _position += n;
                return n;
            }
        }
        catch
        {
            _failed = true;
            CloseBody();
            throw;
        }
    }

    async Task ResumeAsync(string why, CancellationToken ct)
    {
        CloseBody();
        var policy = _client.Options.Retry;
        if (++_resumes >= policy.MaxAttempts)
            throw new RegistryException($"{_what}: reading blob {Digest}: {why} (gave up after {_resumes} tries)");
        _client.Counters.AddResume();
        _client.Options.Log?.Invoke($"{_client.Registry}: blob {Digest}: {why}; resuming from byte {_position}");
        await Task.Delay(policy.Backoff(_resumes), ct).ConfigureAwait(false);
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override int Read(Span<byte> buffer)
    {
        var array = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            int n = Read(array, 0, buffer.Length);
            array.AsSpan(0, n).CopyTo(buffer);
            return n;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(array);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _size >= 0 ? _size : throw new NotSupportedException();
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            CloseBody();
            _hash.Dispose();
            _permit?.Release();
        }
        base.Dispose(disposing);
    }
}
