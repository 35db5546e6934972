using System.Text;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Supply.Signing;

/// <summary>One layer of a cosign attachment manifest: the payload and the layer's annotations (the signature and what goes with it).</summary>
public sealed record SignatureAttachment(byte[] Payload, IReadOnlyDictionary<string, string> Annotations, string MediaType = SimpleSigningPayload.MediaType);

/// <summary>
/// cosign's attachment tags: "sha256-HEX.sig" for signatures, ".att" for attestations, each an OCI
/// image manifest whose layers are the payloads (annotated with their signatures) and whose config
/// lists them as diff_ids — the form cosign and containers/image write. A new one is appended to
/// the layers already there; one already there (same bytes and annotations) is not added twice.
/// </summary>
public static class CosignAttachments
{
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";
    public const string CertificateAnnotation = "dev.sigstore.cosign/certificate";
    public const string ChainAnnotation = "dev.sigstore.cosign/chain";
    public const string BundleAnnotation = "dev.sigstore.cosign/bundle";
    public const string PredicateTypeAnnotation = "predicateType";

    const int MaxLayers = 256;

    public static string Tag(Digest subject, string suffix) => $"{subject.Algorithm}-{subject.Encoded}.{suffix}";

    public static IReadOnlyList<SignatureAttachment> Read(IAttachmentPlace place, Digest subject, string suffix)
    {
        var tag = Tag(subject, suffix);
        if (place.GetTagged(tag) is not { } raw) return [];
        var what = $"{place.Where}:{tag}";
        if (raw.MediaType is not (MediaTypes.Manifest or MediaTypes.DockerManifest)) throw new SupplyException($"{what}: a {raw.MediaType}, not an OCI image manifest");
        var manifest = JsonIn.Parse(raw.Bytes, what, Manifest.Read);
        // Each layer is fetched and checked: a hostile tag with thousands of them would be a fetch storm.
        if (manifest.Layers?.Count > MaxLayers) throw new SupplyException($"{what}: {manifest.Layers.Count} layers, more than the {MaxLayers} read");
        var list = new List<SignatureAttachment>();
        foreach (var layer in manifest.Layers ?? [])
        {
            // Payloads are small documents; a layer claiming more is not one of ours.
            if (layer.Size is not { } size || size > 4 << 20) throw new SupplyException($"{what}: layer {layer.Digest}: size {layer.Size?.ToString() ?? "missing"} is not a payload's");
            list.Add(new SignatureAttachment(place.GetBlob(layer, 4 << 20), layer.Annotations ?? new(), layer.MediaType ?? ""));
        }
        return list;
    }

    public static void Append(IAttachmentPlace place, Digest subject, string suffix, SignatureAttachment attachment)
    {
        var tag = Tag(subject, suffix);
        var what = $"{place.Where}:{tag}";
        var layers = new List<Descriptor>();
        if (place.GetTagged(tag) is { } raw)
            layers = JsonIn.Parse(raw.Bytes, what, Manifest.Read).Layers ?? [];
        var digest = RawManifestDigest(attachment.Payload);
        var annotations = new Dictionary<string, string>(attachment.Annotations);
        if (layers.Any(l => l.Digest == digest && l.MediaType == attachment.MediaType && Same(l.Annotations, annotations))) return;
        layers.Add(new Descriptor { MediaType = attachment.MediaType, Digest = digest, Size = attachment.Payload.Length, Annotations = annotations });

        // The config as containers/image writes it: an empty image whose rootfs lists the payloads.
        var config = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("architecture", "");
            w.WriteString("os", "");
            w.WriteStartObject("config");
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var l in layers) w.WriteStringValue(l.Digest);
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        });
        place.PutBlobs([(attachment.Payload, attachment.MediaType), (config, MediaTypes.Config)]);
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = MediaTypes.Manifest,
            Config = new Descriptor { MediaType = MediaTypes.Config, Digest = RawManifestDigest(config), Size = config.Length },
            Layers = layers,
        };
        var bytes = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            manifest.Write(w);
            w.WriteEndObject();
        });
        place.PutTagged(tag, bytes, MediaTypes.Manifest);
    }

    static string RawManifestDigest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    static bool Same(Dictionary<string, string>? a, Dictionary<string, string> b) =>
        (a ?? new()).Count == b.Count && b.All(kv => a!.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
