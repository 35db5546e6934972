using System.Text;
using Berth.Images.Referrers;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Supply.Signing;

/// <summary>
/// Sigstore bundles attached as cosign attaches them (its "bundle specification"): an OCI 1.1
/// artifact manifest whose subject is the image, artifactType and single layer the bundle's media
/// type, an empty config, and annotations saying what the bundle holds.
/// </summary>
public static class BundleReferrers
{
    public static Digest Attach(IAttachmentPlace place, Descriptor subject, SigstoreBundle bundle, string? predicateType, DateTimeOffset? now = null)
    {
        var json = bundle.ToJson();
        var annotations = new Dictionary<string, string>
        {
            [SigstoreBundle.ContentAnnotation] = bundle.Dsse is not null ? "dsse-envelope" : "message-signature",
            ["org.opencontainers.image.created"] = (now ?? DateTimeOffset.UtcNow).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (predicateType is not null) annotations[SigstoreBundle.PredicateTypeAnnotation] = predicateType;
        var config = ArtifactManifest.EmptyDescriptor;
        var layer = new Descriptor { MediaType = SigstoreBundle.MediaTypeV03, Digest = Sha(json), Size = json.Length };
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = MediaTypes.Manifest, ArtifactType = SigstoreBundle.MediaTypeV03,
            Config = config, Layers = [layer],
            Subject = new Descriptor { MediaType = subject.MediaType, Digest = subject.Digest, Size = subject.Size },
            Annotations = annotations,
        };
        var raw = new RawManifest(JsonOut.Document(manifest), MediaTypes.Manifest);
        place.PutReferrer(new ArtifactManifest(raw, config, layer), json);
        return raw.Digest;
    }

    /// <summary>The bundles attached to <paramref name="subject"/> (each with the referrer's annotations).</summary>
    public static IReadOnlyList<(byte[] Json, IReadOnlyDictionary<string, string> Annotations)> Read(IAttachmentPlace place, Digest subject)
    {
        var list = new List<(byte[], IReadOnlyDictionary<string, string>)>();
        foreach (var d in place.Referrers(subject, SigstoreBundle.MediaTypeV03))
        {
            var raw = place.GetManifest(Digest.Parse(d.Digest ?? "", "referrer digest"));
            var m = JsonIn.Parse(raw.Bytes, $"{place.Where}@{raw.Digest}", Manifest.Read);
            if (m.Subject?.Digest != subject.ToString()) continue; // a fallback index can be stale or forged
            foreach (var layer in m.Layers ?? [])
                if (layer.MediaType == SigstoreBundle.MediaTypeV03 && layer.Size is <= 4 << 20)
                    list.Add((place.GetBlob(layer, 4 << 20), m.Annotations ?? new()));
        }
        return list;
    }

    static string Sha(byte[] b) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(b));
}
