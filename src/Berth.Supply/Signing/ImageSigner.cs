using Berth.Oci.Image;

namespace Berth.Supply.Signing;

/// <summary>
/// Signs an image as containers/image's --sign-by-sigstore-private-key and `cosign sign --key` do:
/// a simple-signing payload naming the manifest digest and the reference, its ECDSA signature
/// (base64 DER) as the layer's dev.cosignproject.cosign/signature annotation, appended to the
/// "sha256-HEX.sig" tag's manifest.
/// </summary>
public static class ImageSigner
{
    public static byte[] Sign(IAttachmentPlace place, Digest manifestDigest, string dockerReference, SigningKey key, IReadOnlyDictionary<string, string>? annotations)
    {
        var payload = SimpleSigningPayload.Create(manifestDigest, dockerReference, annotations);
        var signature = key.Sign(payload);
        CosignAttachments.Append(place, manifestDigest, "sig", new SignatureAttachment(payload,
            new Dictionary<string, string> { [CosignAttachments.SignatureAnnotation] = Convert.ToBase64String(signature) }));
        return payload;
    }
}
