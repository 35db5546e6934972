using System.Text;
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
    static readonly byte[] EmptyConfig = "{}"u8.ToArray();

    public static Digest Attach(IAttachmentPlace place, Descriptor subject, SigstoreBundle bundle, string? predicateType, DateTimeOffset? now = null)
    {
        var json = bundle.ToJson();
        place.PutBlob(EmptyConfig, MediaTypes.Empty);
        place.PutBlob(json, SigstoreBundle.MediaTypeV03);
        var annotations = new Dictionary<string, string>
        {
            [SigstoreBundle.ContentAnnotation] = bundle.Dsse is not null ? "dsse-envelope" : "message-signature",
            ["org.opencontainers.image.created"] = (now ?? DateTimeOffset.UtcNow).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (predicateType is not null) annotations[SigstoreBundle.PredicateTypeAnnotation] = predicateType;
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = MediaTypes.Manifest, ArtifactType = SigstoreBundle.MediaTypeV03,
            Config = new Descriptor { MediaType = MediaTypes.Empty, Digest = Sha(EmptyConfig), Size = EmptyConfig.Length },
            Layers = [new Descriptor { MediaType = SigstoreBundle.MediaTypeV03, Digest = Sha(json), Size = json.Length }],
            Subject = new Descriptor { MediaType = subject.MediaType, Digest = subject.Digest, Size = subject.Size },
            Annotations = annotations,
        };
        var bytes = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            manifest.Write(w);
            w.WriteEndObject();
        });
        place.PutReferrer(bytes, MediaTypes.Manifest);
        return Digest.Parse(Sha(bytes));
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
