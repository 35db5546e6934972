using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// An image to write to a registry (where registries.conf's [[registry]] location says): blobs
/// pushed with HEAD first (what is there is not sent), mounted from the source's repository when
/// the source is the same registry, uploaded in one PUT or, past
/// <see cref="RegistrySettings.ChunkThreshold"/>, in PATCH chunks; the instances of an index
/// PUT by digest as they come, a manifest with a subject through the referrers API (and its
/// tag-schema fallback), and the top manifest PUT by tag — or by digest — only in
/// <see cref="Commit"/>, so that until then nothing is named.
/// </summary>
public sealed class DockerDestination : IImageDestination, INetworkBlobs, ISourceAware
{
    readonly RegistryClient _client;
    readonly Reference _target;
    readonly RegistrySettings _settings;
    RawManifest? _top;
    /// <summary>The source's repository when it is on the registry written to: its blobs are mounted, not sent.</summary>
    string? _mountFrom;

    public DockerDestination(DockerReference reference, Reference qualified)
    {
        Reference = reference;
        _settings = reference.Settings;
        var push = _settings.Conf.PushTarget(qualified);
        _target = push.Reference;
        _client = _settings.Pool.For(push.Reference.Registry, push.Insecure);
    }

    public ImageReference Reference { get; }

    public LayerCompressionWish DesiredLayerCompression => LayerCompressionWish.Compress;

    /// <summary>Registries take OCI and Docker manifests alike: nothing is converted unless --format asks.</summary>
    public IReadOnlyList<string>? SupportedManifestTypes => null;

    public bool HasThreadSafePutBlob => true;

    public int ParallelBlobs => _client.Options.MaxConcurrentTransfers;

    string Repository => _target.Repository;

    public void SourceIs(IImageSource source)
    {
        if (source is DockerSource s && s.Client.Registry == _client.Registry && s.Repository != Repository) _mountFrom = s.Repository;
    }

    public Descriptor? TryReusingBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        var there = Sync.Wait(_client.HeadBlobAsync(Repository, d));
        if (there is not null && (there < 0 || there == size)) return Stored(blob, d, size);
        if (_mountFrom is { } from && Sync.Wait(_client.MountBlobAsync(Repository, d, from))) return Stored(blob, d, size);
        return null;
    }

    static Descriptor Stored(Descriptor blob, Digest d, long size) => new() { MediaType = blob.MediaType, Digest = d.ToString(), Size = size };

    public Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false)
    {
        if (info.Digest is { } text && info.Size is { } size)
        {
            var d = Digest.Parse(text, "descriptor.digest");
            Push(d, size, Reopener(content, d));
            return Stored(info, d, size);
        }
        // Compressed on the way: the digest is known only at the end, and the registry wants it
        // first (PUT ?digest=), so the blob is spooled to an unnamed file while hashed, then pushed.
        using var spool = LayoutFiles.AsStream(VerifiedBlob.ScratchFile(Path.GetTempPath()), "the spool of a blob to push", write: true);
        using var hash = Digest.NewHash("sha256");
        var buffer = new byte[1 << 16];
        long total = 0;
        int n;
        while ((n = content.Read(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
            spool.Write(buffer, 0, n);
            total += n;
        }
        var digest = Digest.From("sha256", hash);
        Push(digest, total, () =>
        {
            spool.Position = 0;
            return new Unowned(spool);
        });
        return Stored(info, digest, total);
    }

    void Push(Digest d, long size, Func<Stream> open)
    {
        var options = new BlobPushOptions
        {
            MountFrom = _mountFrom,
            ChunkSize = size > _settings.ChunkThreshold ? _settings.ChunkSize : 0,
        };
        Sync.Wait(_client.PushBlobAsync(Repository, d, size, open, options));
    }

    /// <summary>
    /// The content for each try of an upload: the stream itself first, and again only when it can
    /// be rewound (a file); a stream read once (another registry's blob) cannot be sent twice.
    /// </summary>
    static Func<Stream> Reopener(Stream content, Digest d)
    {
        bool opened = false;
        return () =>
        {
            if (opened)
            {
                if (!content.CanSeek)
                    throw new RegistryException($"blob {d}: the upload failed and its source is a stream read once, so it is not tried again (run the copy again: what was pushed is kept)", ErrorCodes.BlobUploadInvalid);
                content.Position = 0;
            }
            opened = true;
            return new Unowned(content);
        };
    }

    public void PutManifest(RawManifest manifest, Digest? instance = null)
    {
        if (instance is null)
        {
            if (_target.Digest is { } wanted && wanted != manifest.Digest.ToString())
                throw new ImageException($"{Reference}: the manifest written has digest {manifest.Digest}, not the one the destination names (copy with --preserve-digests, or name a tag)");
            _top = manifest;
            return;
        }
        Put(manifest, instance.Value.ToString());
    }

    /// <summary>By digest through the referrers API when the manifest has a subject, else by <paramref name="reference"/>.</summary>
    void Put(RawManifest manifest, string reference)
    {
        if (HasSubject(manifest))
        {
            Sync.Wait(_client.PushReferrerAsync(Repository, manifest.Bytes, manifest.MediaType));
            if (reference == manifest.Digest.ToString()) return;
        }
        Sync.Wait(_client.PutManifestAsync(Repository, reference, manifest.Bytes, manifest.MediaType));
    }

    static bool HasSubject(RawManifest m)
    {
        try
        {
            return m.IsIndex ? m.ParseIndex("manifest").Subject is not null : m.IsManifest && m.ParseManifest("manifest").Subject is not null;
        }
        catch (ImageException)
        {
            return false;
        }
    }

    public void Commit(Descriptor? entry = null)
    {
        var top = _top ?? throw new InvalidOperationException("Commit before PutManifest");
        Put(top, _target.Digest ?? _target.Tag ?? Registry.Reference.DefaultTag);
    }

    public void Dispose() { }

    /// <summary>The caller's stream, which the HTTP content must not dispose (the caller owns it).</summary>
    sealed class Unowned(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => inner.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => inner.ReadAsync(buffer, offset, count, ct);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>A destination that does better knowing its source (a registry mounts blobs from a repository of its own).</summary>
public interface ISourceAware
{
    void SourceIs(IImageSource source);
}
