using Berth.Images.Layers;
using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Images.Copy;

/// <summary>How a blob got to the destination.</summary>
public enum BlobOutcome
{
    /// <summary>Read from the source and written.</summary>
    Copied,
    /// <summary>The destination had it (or mounted it): nothing was read.</summary>
    Skipped,
}

/// <summary>
/// What a copy tells as it goes (the CLI draws bars or log lines from it, and makes the
/// machine-readable result). Called from the copy's worker threads: implementations are thread-safe.
/// Blobs are named by their source descriptor.
/// </summary>
public interface ICopyProgress
{
    void BlobStarted(Descriptor blob, bool isConfig);

    /// <summary>The bytes of <paramref name="blob"/> read from the source so far.</summary>
    void BlobProgress(Descriptor blob, long bytesRead);

    /// <summary><paramref name="stored"/> is the blob as the destination holds it (another digest when the copy recompressed it).</summary>
    void BlobDone(Descriptor blob, Descriptor stored, BlobOutcome outcome, bool isConfig);

    /// <summary>A manifest was written (<paramref name="top"/>: the one the destination is named by; an index's instances come first), with the platform its config names.</summary>
    void ManifestWritten(Descriptor manifest, Platform? platform, bool top);
}

/// <summary>A source blob that reports how much of it has been read; it proves itself as its inner stream does.</summary>
sealed class ProgressStream(Stream inner, Descriptor blob, ICopyProgress progress) : ReadOnlyStream, ISelfVerifying
{
    long _read;

    public bool Proves(Digest digest, long size) => inner is ISelfVerifying v && v.Proves(digest, size);

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        if (n > 0) progress.BlobProgress(blob, _read += n);
        return n;
    }

    // HTTP content reads asynchronously: the inner stream's own async path (a registry's blob) is kept.
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        int n = await inner.ReadAsync(buffer, ct).ConfigureAwait(false);
        if (n > 0) progress.BlobProgress(blob, _read += n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
