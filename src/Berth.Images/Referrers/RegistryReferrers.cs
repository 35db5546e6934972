using Berth.Images.Registry;
using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Images.Referrers;

/// <summary>Artifacts attached to an image in a registry: pushed blobs first, then the manifest by digest through the referrers API (or its tag-schema fallback).</summary>
public static class RegistryReferrers
{
    /// <summary>The image a docker:// reference names in its registry: the client, the repository and the top manifest's descriptor (the subject).</summary>
    public static (RegistryClient Client, string Repository, Descriptor Subject) Resolve(DockerReference reference)
    {
        var q = reference.Qualified ?? throw new ImageException($"{reference}: a short name has no registry to attach to (name the registry)");
        var target = reference.Settings.Conf.PushTarget(q);
        var client = reference.Settings.Pool.For(target.Reference.Registry, target.Insecure);
        var head = Sync.Wait(client.HeadManifestAsync(target.Reference.Repository, target.Reference.Identifier))
            ?? throw new ImageException($"{reference}: no such manifest in the registry");
        return (client, target.Reference.Repository, new Descriptor { MediaType = head.MediaType, Digest = head.Digest.ToString(), Size = head.Size });
    }

    public static Descriptor Push(RegistryClient client, string repository, ArtifactManifest artifact, byte[] document)
    {
        Sync.Wait(client.PushBlobAsync(repository, Digest.Parse(artifact.Config.Digest!), artifact.Config.Size!.Value, () => new MemoryStream(ArtifactManifest.EmptyConfig)));
        Sync.Wait(client.PushBlobAsync(repository, Digest.Parse(artifact.Layer.Digest!), document.Length, () => new MemoryStream(document)));
        var m = artifact.Manifest;
        Sync.Wait(client.PushReferrerAsync(repository, m.Bytes, m.MediaType));
        var entry = m.Descriptor;
        entry.ArtifactType = artifact.Layer.MediaType;
        return entry;
    }

    /// <summary>The registry client is asynchronous, the commands synchronous.</summary>
    public static T Wait<T>(Task<T> task) => Sync.Wait(task);

    public static Berth.Images.Registry.Referrers List(RegistryClient client, string repository, Descriptor subject, string? artifactType) =>
        Sync.Wait(client.GetReferrersAsync(repository, Digest.Parse(subject.Digest!), artifactType));
}
