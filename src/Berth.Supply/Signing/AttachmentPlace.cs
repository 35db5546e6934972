using Berth.Images;
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

    void PutTagged(string tag, byte[] manifest, string mediaType);

    /// <summary>Stores a manifest with a subject and makes it listed among the subject's referrers.</summary>
    void PutReferrer(byte[] manifest, string mediaType);

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

    public void PutTagged(string tag, byte[] manifest, string mediaType) => Wait(client.PutManifestAsync(repository, tag, manifest, mediaType));

    public void PutReferrer(byte[] manifest, string mediaType) => Wait(client.PushReferrerAsync(repository, manifest, mediaType));

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null) =>
        Wait(client.GetReferrersAsync(repository, subject, artifactType)).Manifests;

    public RawManifest GetManifest(Digest digest)
    {
        var m = Wait(client.GetManifestAsync(repository, digest.ToString()));
        return new RawManifest(m.Bytes, m.MediaType, m.Digest);
    }
}

/// <summary>
/// The local store: attachments are store images named after the image's repository and the
/// attachment tag ("localhost/app:sha256-HEX.sig"); referrers are listed, as the distribution
/// spec's tag schema does, by an index named "REPO:sha256-HEX". Blobs are written under a lease
/// (gc keeps them until they are named).
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

    public void PutReferrer(byte[] manifest, string mediaType)
    {
        var (subject, artifactType, annotations) = JsonIn.Parse(manifest, "referrer", o =>
            (o.Object("subject", Descriptor.Read), o.String("artifactType") ?? o.Object("config", Descriptor.Read)?.MediaType, o.StringMap("annotations")));
        var subjectDigest = Digest.Parse(subject?.Digest ?? "", "subject.digest");
        using var lease = BlobLease.Take(store);
        var desc = store.Blobs.Write(manifest, mediaType, lease.Id, lease.Claim);
        var tag = RegistryClient.ReferrersTag(subjectDigest);
        var index = GetTagged(tag) is { } old ? JsonIn.Parse(old.Bytes, Name(tag), ImageIndex.Read) : new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index };
        index.Manifests ??= [];
        if (index.Manifests.All(d => d.Digest != desc.Digest))
            index.Manifests.Add(new Descriptor
            {
                MediaType = mediaType, Digest = desc.Digest, Size = desc.Size, ArtifactType = artifactType,
                Annotations = annotations is { Count: > 0 } ? annotations : null,
            });
        var bytes = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            index.Write(w);
            w.WriteEndObject();
        });
        store.Tag(Name(tag), store.Blobs.Write(bytes, MediaTypes.Index, lease.Id, lease.Claim));
    }

    public IReadOnlyList<Descriptor> Referrers(Digest subject, string? artifactType = null)
    {
        if (GetTagged(RegistryClient.ReferrersTag(subject)) is not { } m) return [];
        var all = JsonIn.Parse(m.Bytes, Name(RegistryClient.ReferrersTag(subject)), ImageIndex.Read).Manifests ?? [];
        return artifactType is null ? all : all.Where(d => d.ArtifactType == artifactType).ToList();
    }

    public RawManifest GetManifest(Digest digest)
    {
        var bytes = store.Blobs.ReadDocument(digest, RegistryClient.MaxManifestBytes);
        var type = JsonIn.Parse(bytes, digest.ToString(), o => o.String("mediaType")) ?? MediaTypes.Manifest;
        return new RawManifest(bytes, type, digest);
    }
}
