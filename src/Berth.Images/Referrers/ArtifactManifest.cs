using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Referrers;

/// <summary>
/// An OCI 1.1 artifact (image-spec manifest.md, "Guidelines for Artifact Usage"): an image
/// manifest whose artifactType says what it is, whose config is the empty descriptor
/// (application/vnd.oci.empty.v1+json, the two bytes "{}"), whose one layer is the document, and
/// whose subject is the manifest it is about. Nothing in it depends on the time, so attaching the
/// same document twice makes the same manifest.
/// </summary>
public sealed record ArtifactManifest(RawManifest Manifest, Descriptor Config, Descriptor Layer)
{
    public static readonly byte[] EmptyConfig = "{}"u8.ToArray();

    public static Descriptor EmptyDescriptor => new()
    {
        MediaType = MediaTypes.Empty, Digest = RawManifest.Sha256(EmptyConfig).ToString(), Size = EmptyConfig.Length, Data = "e30=",
    };

    public static ArtifactManifest Build(Descriptor subject, string artifactType, byte[] document, string? title)
    {
        var layer = new Descriptor
        {
            MediaType = artifactType, Digest = RawManifest.Sha256(document).ToString(), Size = document.Length,
            Annotations = title is null ? null : new Dictionary<string, string> { ["org.opencontainers.image.title"] = title },
        };
        var config = EmptyDescriptor;
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = MediaTypes.Manifest, ArtifactType = artifactType, Config = config, Layers = new() { layer },
            Subject = new Descriptor { MediaType = subject.MediaType, Digest = subject.Digest, Size = subject.Size },
        };
        return new ArtifactManifest(new RawManifest(JsonOut.Document(manifest), MediaTypes.Manifest), config, layer);
    }

    /// <summary>A referrers listing as the distribution spec's referrers API answers it: an image index of the artifacts' descriptors.</summary>
    public static byte[] Listing(IEnumerable<Descriptor> manifests) =>
        JsonOut.Document(new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = manifests.ToList() }, indent: "  ");
}
