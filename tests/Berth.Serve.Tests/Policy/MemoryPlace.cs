using System.Security.Cryptography;
using Berth.Images.Referrers;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Supply.Signing;

namespace Berth.Serve.Tests.Policy;

/// <summary>A repository in memory: what the signer and attacher write to in unit tests, and what a snapshot is fetched from.</summary>
public sealed class MemoryPlace(string where = "memory/app") : IAttachmentPlace
{
    readonly Dictionary<string, RawManifest> _tags = new();
    readonly Dictionary<string, byte[]> _blobs = new();
    readonly List<(Digest Subject, Descriptor Entry, RawManifest Manifest)> _referrers = new();

    public string Where => where;

    public static Digest DigestOf(byte[] b) => Digest.Parse("sha256:" + Convert.ToHexStringLower(SHA256.HashData(b)));

    public RawManifest? GetTagged(string tag) => _tags.GetValueOrDefault(tag);

    public byte[] GetBlob(Descriptor blob, long max = 16 << 20) => _blobs[blob.Digest!];

    public void PutBlob(byte[] content, string mediaType) => _blobs[DigestOf(content).ToString()] = content;

    public void PutTagged(string tag, byte[] manifest, string mediaType) => _tags[tag] = new RawManifest(manifest, mediaType, DigestOf(manifest));

    /// <summary>As the store and a registry do: the config and the document as blobs, then the manifest listed under its subject.</summary>
    public void PutReferrer(ArtifactManifest artifact, byte[] document)
    {
        PutBlob(ArtifactManifest.EmptyConfig, artifact.Config.MediaType!);
        PutBlob(document, artifact.Layer.MediaType!);
        var (manifest, mediaType) = (artifact.Manifest.Bytes, artifact.Manifest.MediaType);
        var (subject, type) = JsonIn.Parse(manifest, "referrer", o => (o.Object("subject", Descriptor.Read), o.String("artifactType")));
        var d = DigestOf(manifest);
        if (_referrers.Any(r => r.Manifest.Digest == d)) return;
        _referrers.Add((Digest.Parse(subject!.Digest!), new Descriptor { MediaType = mediaType, Digest = d.ToString(), Size = manifest.Length, ArtifactType = type },
            new RawManifest(manifest, mediaType, d)));
    }

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null) =>
        _referrers.Where(r => r.Subject == subject && (artifactType is null || r.Entry.ArtifactType == artifactType)).Select(r => r.Entry).ToList();

    public RawManifest GetManifest(Digest digest) => _referrers.First(r => r.Manifest.Digest == digest).Manifest;

    public int Tags => _tags.Count;
    public int ReferrerCount => _referrers.Count;
}
