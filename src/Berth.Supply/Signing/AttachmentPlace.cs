using Berth.Images;
using Berth.Images.Referrers;
using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Supply.Signing;

/// <summary>
/// Where an image's signatures and attestations live beside it: its registry repository (cosign's
/// tags "sha256-HEX.sig"/".att", OCI 1.1 referrers) or the local store (the same tags as names
/// "REPO:sha256-HEX.sig" next to the image's name). Every manifest is read and written as bytes,
/// so signatures stay over exactly what is stored.
/// </summary>
public interface IAttachmentPlace
{
    /// <summary>"127.0.0.1:5000/app" or "store localhost/app": for messages.</summary>
    string Where { get; }

    /// <summary>The manifest a tag of the repository names, or null when there is no such tag.</summary>
    RawManifest? GetTagged(string tag);

    /// <summary>A blob a manifest names, checked against its descriptor, at most <paramref name="max"/> bytes.</summary>
    byte[] GetBlob(Descriptor blob, long max = 16 << 20);

    void PutBlob(byte[] content, string mediaType);

    /// <summary>Several blobs at once (a registry takes them in parallel: each upload session costs a round trip and the registry's own work).</summary>
    void PutBlobs(IReadOnlyList<(byte[] Content, string MediaType)> blobs)
    {
        foreach (var (c, m) in blobs) PutBlob(c, m);
    }

    void PutTagged(string tag, byte[] manifest, string mediaType);

    /// <summary>Stores an OCI 1.1 artifact (its config, its one document, its manifest) and lists it among its subject's referrers.</summary>
    void PutReferrer(ArtifactManifest artifact, byte[] document);

    /// <summary>The manifests whose subject is <paramref name="subject"/>, of an artifact type when given.</summary>
    IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null);

    /// <summary>A manifest by digest (a referrer listed above).</summary>
    RawManifest GetManifest(Digest digest);
}

/// <summary>A repository of a registry, through the registry client.</summary>
public sealed class RegistryPlace(RegistryClient client, string repository) : IAttachmentPlace
{
    static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    public string Where => $"{client.Registry}/{repository}";

    public RegistryClient Client => client;

    public string Repository => repository;

    public RawManifest? GetTagged(string tag)
    {
        try
        {
            var m = Wait(client.GetManifestAsync(repository, tag));
            return new RawManifest(m.Bytes, m.MediaType, m.Digest);
        }
        catch (RegistryException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    public byte[] GetBlob(Descriptor blob, long max = 16 << 20) => Wait(client.GetBlobBytesAsync(repository, blob, max));

    public void PutBlob(byte[] content, string mediaType)
    {
        var d = Digest.Parse("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content)));
        Wait(client.PushBlobAsync(repository, d, content.Length, () => new MemoryStream(content)));
    }

    public void PutBlobs(IReadOnlyList<(byte[] Content, string MediaType)> blobs) =>
        Task.WhenAll(blobs.Select(b => client.PushBlobAsync(repository, Digest.Parse("sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(b.Content))),
            b.Content.Length, () => new MemoryStream(b.Content)))).GetAwaiter().GetResult();

    public void PutTagged(string tag, byte[] manifest, string mediaType) => Wait(client.PutManifestAsync(repository, tag, manifest, mediaType));

    public void PutReferrer(ArtifactManifest artifact, byte[] document) => RegistryReferrers.Push(client, repository, artifact, document);

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null) =>
        Wait(client.GetReferrersAsync(repository, subject, artifactType)).Manifests;

    public RawManifest GetManifest(Digest digest)
    {
        var m = Wait(client.GetManifestAsync(repository, digest.ToString()));
        return new RawManifest(m.Bytes, m.MediaType, m.Digest);
    }
}

/// <summary>
/// The local store: cosign attachments are store images named after the image's repository and
/// the attachment tag ("localhost/app:sha256-HEX.sig"), written under a lease (gc keeps the blobs
/// until they are named); referrers are the store's own (<see cref="StoreReferrers"/>).
/// </summary>
public sealed class StorePlace(OciLayout store, string repository) : IAttachmentPlace
{
    public string Where => $"store {repository}";

    /// <summary>The repository part of a store name: "localhost/app:1" → "localhost/app", "x/y@sha256:…" → "x/y".</summary>
    public static string RepositoryOf(string name)
    {
        int at = name.IndexOf('@');
        if (at >= 0) return name[..at];
        int slash = name.LastIndexOf('/');
        int colon = name.LastIndexOf(':');
        return colon > slash ? name[..colon] : name;
    }

    string Name(string tag) => $"{repository}:{tag}";

    public RawManifest? GetTagged(string tag)
    {
        var entry = store.ReadIndex().Manifests?.LastOrDefault(m => m.Annotations?.GetValueOrDefault(OciLayout.RefName) == Name(tag));
        if (entry is null) return null;
        var d = Digest.Parse(entry.Digest ?? "", "index.json digest");
        return new RawManifest(store.Blobs.ReadAll(entry, RegistryClient.MaxManifestBytes), entry.MediaType ?? MediaTypes.Manifest, d);
    }

    public byte[] GetBlob(Descriptor blob, long max = 16 << 20) => store.Blobs.ReadAll(blob, max);

    public void PutBlob(byte[] content, string mediaType)
    {
        using var lease = BlobLease.Take(store);
        store.Blobs.Write(content, mediaType, lease.Id, lease.Claim);
    }

    public void PutTagged(string tag, byte[] manifest, string mediaType)
    {
        using var lease = BlobLease.Take(store);
        var desc = store.Blobs.Write(manifest, mediaType, lease.Id, lease.Claim);
        store.Tag(Name(tag), desc);
    }

    /// <summary>The store's referrers (Berth.Images.Referrers): untagged index entries that gc keeps with their subject.</summary>
    public void PutReferrer(ArtifactManifest artifact, byte[] document) => StoreReferrers.Attach(store, artifact, document);

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null) => StoreReferrers.List(store, subject.ToString(), artifactType);

    public RawManifest GetManifest(Digest digest)
    {
        var bytes = store.Blobs.ReadDocument(digest, RegistryClient.MaxManifestBytes);
        var type = JsonIn.Parse(bytes, digest.ToString(), o => o.String("mediaType")) ?? MediaTypes.Manifest;
        return new RawManifest(bytes, type, digest);
    }
}
