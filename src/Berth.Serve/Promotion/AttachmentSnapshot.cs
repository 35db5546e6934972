using Berth.Images;
using Berth.Images.Referrers;
using Berth.Images.Registry;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Supply.Signing;

namespace Berth.Serve.Promotion;

/// <summary>
/// An image's signatures and attestations as they were when fetched, held in memory: its cosign
/// ".sig" and ".att" tags and its OCI 1.1 referrers, each manifest as its bytes with every blob it
/// names (digest-checked by the registry client). The policy decides over this snapshot, and
/// promotion copies exactly it — so what was judged is what is copied, byte for byte (signatures
/// are over those bytes). It is an <see cref="IAttachmentPlace"/>, so Berth.Supply's readers read it.
/// </summary>
public sealed class AttachmentSnapshot : IAttachmentPlace
{
    /// <summary>Bounds against a hostile repository: referrers listed, and bytes held.</summary>
    const int MaxReferrers = 64;
    const long MaxBytes = 64L << 20;

    readonly Dictionary<string, RawManifest> _tags = new(StringComparer.Ordinal);
    readonly List<(Descriptor Entry, RawManifest Manifest)> _referrers = new();
    readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    long _bytes;

    public Digest Subject { get; }
    public string Where { get; }

    AttachmentSnapshot(Digest subject, string where)
    {
        Subject = subject;
        Where = where;
    }

    /// <summary>Fetches the attachments of <paramref name="subject"/> from <paramref name="source"/>.</summary>
    public static AttachmentSnapshot Fetch(IAttachmentPlace source, Digest subject)
    {
        var s = new AttachmentSnapshot(subject, source.Where);
        foreach (var suffix in new[] { "sig", "att" })
        {
            var tag = CosignAttachments.Tag(subject, suffix);
            if (source.GetTagged(tag) is not { } m) continue;
            s.Hold(source, m, tag);
            s._tags[tag] = m;
        }
        var listed = source.Referrers(subject);
        if (listed.Count > MaxReferrers) throw new ServeException(502, $"{source.Where}: {listed.Count} referrers of {subject}, more than the {MaxReferrers} read");
        foreach (var d in listed)
        {
            var m = source.GetManifest(Digest.Parse(d.Digest ?? "", "referrer digest"));
            if (m.Digest.ToString() != d.Digest) throw new ServeException(502, $"{source.Where}: referrer {d.Digest}: the registry sent {m.Digest}");
            s.Hold(source, m, $"referrer {d.Digest}");
            s._referrers.Add((d, m));
        }
        return s;
    }

    void Hold(IAttachmentPlace source, RawManifest m, string what)
    {
        _bytes += m.Bytes.Length;
        var manifest = JsonIn.Parse(m.Bytes, $"{source.Where}: {what}", Manifest.Read);
        foreach (var b in (manifest.Config is { } c ? [c] : Array.Empty<Descriptor>()).Concat(manifest.Layers ?? []))
        {
            if (b.Digest is null || _blobs.ContainsKey(b.Digest)) continue;
            if (b.Size is not { } size || size < 0 || _bytes + size > MaxBytes)
                throw new ServeException(502, $"{source.Where}: {what}: blob {b.Digest} of {b.Size?.ToString() ?? "unknown"} bytes is over the {MaxBytes >> 20} MiB held for attachments");
            var bytes = source.GetBlob(b, size);
            _bytes += bytes.Length;
            _blobs[b.Digest] = bytes;
        }
    }

    public IReadOnlyList<Descriptor> ReferrerDescriptors => _referrers.Select(r => r.Entry).ToList();

    /// <summary>How many manifests (tags and referrers) it holds: what a promotion copies.</summary>
    public int Count => _tags.Count + _referrers.Count;

    /// <summary>
    /// Writes every attachment to <paramref name="target"/>: blobs first, then each manifest as its
    /// bytes — the ".sig"/".att" tags under the same names, referrers through the referrers API.
    /// Writing what is already there is a no-op for a registry (same digests), so this is idempotent.
    /// </summary>
    public void CopyTo(IAttachmentPlace target)
    {
        void Blobs(RawManifest m)
        {
            var manifest = JsonIn.Parse(m.Bytes, m.Digest.ToString(), Manifest.Read);
            foreach (var b in (manifest.Config is { } c ? [c] : Array.Empty<Descriptor>()).Concat(manifest.Layers ?? []))
                if (b.Digest is not null && _blobs.TryGetValue(b.Digest, out var bytes)) target.PutBlob(bytes, b.MediaType ?? "application/octet-stream");
        }
        foreach (var (tag, m) in _tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            Blobs(m);
            target.PutTagged(tag, m.Bytes, m.MediaType);
        }
        foreach (var (_, m) in _referrers)
        {
            var artifact = AsArtifact(m);
            target.PutReferrer(artifact, _blobs[artifact.Layer.Digest!]);
        }
    }

    public RawManifest? GetTagged(string tag) => _tags.GetValueOrDefault(tag);

    public byte[] GetBlob(Descriptor blob, long max = 16 << 20)
    {
        if (blob.Digest is null || !_blobs.TryGetValue(blob.Digest, out var b)) throw new ServeException(500, $"{Where}: blob {blob.Digest} not in the snapshot");
        if (b.Length > max) throw new ServeException(502, $"{Where}: blob {blob.Digest}: {b.Length} bytes, over {max}");
        return b;
    }

    public void PutBlob(byte[] content, string mediaType) => throw new InvalidOperationException("a snapshot is read-only");

    public void PutTagged(string tag, byte[] manifest, string mediaType) => throw new InvalidOperationException("a snapshot is read-only");

    public void PutReferrer(ArtifactManifest artifact, byte[] document) => throw new InvalidOperationException("a snapshot is read-only");

    /// <summary>A held referrer as the OCI 1.1 artifact it must be to be copied as is: the empty config and one document, its exact bytes kept.</summary>
    ArtifactManifest AsArtifact(RawManifest m)
    {
        var manifest = JsonIn.Parse(m.Bytes, m.Digest.ToString(), Manifest.Read);
        if (manifest.Config?.Digest != ArtifactManifest.EmptyDescriptor.Digest || manifest.Layers is not [var layer] || layer.Digest is null || !_blobs.ContainsKey(layer.Digest))
            throw new ServeException(502, $"{Where}: referrer {m.Digest}: not an artifact of the empty config and one document, which is what promotion copies");
        return new ArtifactManifest(m, manifest.Config!, layer);
    }

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null) =>
        subject != Subject ? [] : _referrers.Select(r => r.Entry).Where(d => artifactType is null || d.ArtifactType == artifactType).ToList();

    public RawManifest GetManifest(Digest digest) =>
        _referrers.FirstOrDefault(r => r.Manifest.Digest == digest).Manifest ?? throw new ServeException(500, $"{Where}: manifest {digest} not in the snapshot");
}
