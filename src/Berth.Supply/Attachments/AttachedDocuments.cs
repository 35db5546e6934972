using System.Text.Json;
using Berth.Images;
using Berth.Images.Referrers;
using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Supply.Attachments;

/// <summary>
/// Supply-chain documents next to an image (`berth image attach`, `image referrers`, `sbom
/// --use-attached`): SPDX and CycloneDX SBOMs and OpenVEX documents stored as OCI artifacts whose
/// subject is the image — in the store (<see cref="StoreReferrers"/>) or in a registry
/// (<see cref="RegistryReferrers"/>). The artifact types are the formats' registered media types.
/// </summary>
public static class AttachedDocuments
{
    public const string Spdx = "application/spdx+json", CycloneDx = "application/vnd.cyclonedx+json", OpenVex = "application/openvex+json";

    /// <summary>The document's size is bounded: it is read whole, and an SBOM of a large image is tens of MB.</summary>
    public const long MaxDocumentBytes = 512L << 20;

    public static string ArtifactType(string kind) => kind switch
    {
        "spdx" or "spdx-json" => Spdx,
        "cyclonedx" or "cyclonedx-json" => CycloneDx,
        "openvex" => OpenVex,
        _ => throw new SupplyException($"--type: \"{kind}\" is not spdx, cyclonedx or openvex"),
    };

    /// <summary>Refuses a document that is not of the kind it is attached as (so a referrer's type can be trusted by whoever lists it).</summary>
    public static void Check(string artifactType, byte[] document, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(document);
            var r = doc.RootElement;
            string? S(string k) => r.ValueKind == JsonValueKind.Object && r.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var ok = artifactType switch
            {
                Spdx => S("spdxVersion")?.StartsWith("SPDX-", StringComparison.Ordinal) == true,
                CycloneDx => S("bomFormat") == "CycloneDX",
                OpenVex => S("@context")?.StartsWith("https://openvex.dev/ns", StringComparison.Ordinal) == true,
                _ => false,
            };
            if (!ok)
                throw new SupplyException($"{what}: not {artifactType switch { Spdx => "an SPDX JSON document (no \"spdxVersion\": \"SPDX-…\")", CycloneDx => "a CycloneDX JSON document (no \"bomFormat\": \"CycloneDX\")", _ => "an OpenVEX document (no \"@context\": \"https://openvex.dev/ns…\")" }}");
        }
        catch (JsonException e)
        {
            throw new SupplyException($"{what}: not JSON: {e.Message}", e);
        }
    }

    /// <summary>Attaches <paramref name="document"/> to the image <paramref name="image"/> names; returns the artifact's descriptor and the subject's.</summary>
    public static (Descriptor Artifact, Descriptor Subject) Attach(ImageService images, ImageReference image, string artifactType, byte[] document, string title)
    {
        Check(artifactType, document, title);
        switch (image)
        {
            case StoreReference store:
            {
                var subject = Subject(images, store);
                var artifact = ArtifactManifest.Build(subject, artifactType, document, title);
                return (StoreReferrers.Attach(images.Store, artifact, document), subject);
            }
            case DockerReference docker:
            {
                var (client, repository, subject) = RegistryReferrers.Resolve(docker);
                var artifact = ArtifactManifest.Build(subject, artifactType, document, title);
                return (RegistryReferrers.Push(client, repository, artifact, document), subject);
            }
            default:
                throw new SupplyException($"{image}: documents are attached to images in the store or in a registry (docker://), not {image.Transport.Name}:");
        }
    }

    /// <summary>The artifacts attached to the image, of <paramref name="artifactType"/> when given, and the subject they were looked up for.</summary>
    public static (Descriptor Subject, IReadOnlyList<Descriptor> Artifacts) List(ImageService images, ImageReference image, string? artifactType)
    {
        switch (image)
        {
            case StoreReference store:
            {
                var subject = Subject(images, store);
                return (subject, StoreReferrers.List(images.Store, subject.Digest!, artifactType));
            }
            case DockerReference docker:
            {
                var (client, repository, subject) = RegistryReferrers.Resolve(docker);
                return (subject, RegistryReferrers.List(client, repository, subject, artifactType).Manifests);
            }
            default:
                throw new SupplyException($"{image}: attached documents are listed for images in the store or in a registry (docker://), not {image.Transport.Name}:");
        }
    }

    /// <summary>
    /// The document of the last artifact of <paramref name="artifactType"/> attached to the image, or
    /// null when there is none; its manifest and its bytes are checked against their digests, and
    /// the manifest must name the image as its subject.
    /// </summary>
    public static byte[]? Fetch(ImageService images, ImageReference image, string artifactType)
    {
        switch (image)
        {
            case StoreReference store:
            {
                var subject = Subject(images, store);
                var last = StoreReferrers.List(images.Store, subject.Digest!, artifactType).LastOrDefault();
                if (last is null) return null;
                var manifest = Documents.ParseManifest(images.Store.Blobs.ReadAll(last), last.MediaType, $"artifact {last.Digest}");
                var layer = Layer(manifest, subject, artifactType, last.Digest!);
                return images.Store.Blobs.ReadAll(layer, MaxDocumentBytes);
            }
            case DockerReference docker:
            {
                var (client, repository, subject) = RegistryReferrers.Resolve(docker);
                var last = RegistryReferrers.List(client, repository, subject, artifactType).Manifests.LastOrDefault();
                if (last is null) return null;
                var raw = RegistryReferrers.Wait(client.GetManifestAsync(repository, last.Digest!));
                if (raw.Digest.ToString() != last.Digest) throw new SupplyException($"artifact {last.Digest}: the registry sent {raw.Digest}");
                var manifest = Documents.ParseManifest(raw.Bytes, raw.MediaType, $"artifact {last.Digest}");
                var layer = Layer(manifest, subject, artifactType, last.Digest!);
                var bytes = RegistryReferrers.Wait(client.GetBlobBytesAsync(repository, layer, MaxDocumentBytes));
                BlobStore.Verify(bytes, Digest.Parse(layer.Digest!), layer.Size);
                return bytes;
            }
            default:
                return null;
        }
    }

    static Descriptor Layer(Manifest manifest, Descriptor subject, string artifactType, string digest)
    {
        // A listing (or a registry's tag-schema index) is only an index: the manifest itself must say what it is about.
        if (manifest.Subject?.Digest != subject.Digest) throw new SupplyException($"artifact {digest}: its subject is {manifest.Subject?.Digest ?? "none"}, not {subject.Digest}");
        return manifest.Layers!.FirstOrDefault(l => l.MediaType == artifactType)
            ?? throw new SupplyException($"artifact {digest}: no layer of type {artifactType}");
    }

    static Descriptor Subject(ImageService images, StoreReference store)
    {
        var entry = images.Store.Find(store.Name);
        return new Descriptor { MediaType = entry.MediaType, Digest = entry.Digest, Size = entry.Size };
    }
}
