using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Supply.Signing;

namespace Berth.Supply.Policy;

/// <summary>The policy's <see cref="ISignatureVerifier"/> over Berth.Supply.Signing: the attachments are read from the registry the manifest came from.</summary>
public sealed class SigstoreSignatures : ISignatureVerifier
{
    public SignatureCheck Verify(IImageSource source, Digest manifest, SigstoreTrust trust)
    {
        if (source is not DockerSource docker) return new SignatureCheck(0, [], []);
        var attached = SigstoreVerifier.ReadAttachments(docker, manifest);
        if (attached.Count == 0) return new SignatureCheck(0, [], []);
        var requirement = new SigstoreRequirement(trust.PublicKeys,
            trust.Fulcio is { } f ? new FulcioRequirement(f.CaCertificates, f.OidcIssuer, f.SubjectEmail) : null,
            trust.RekorPublicKeys);
        var result = SigstoreVerifier.Verify(attached, manifest, requirement);
        return new SignatureCheck(attached.Count, result.Verified.Select(v => v.DockerReference).ToList(), result.Failures);
    }
}
