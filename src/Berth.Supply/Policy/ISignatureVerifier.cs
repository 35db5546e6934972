using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Supply.Policy;

/// <summary>The key material of a sigstoreSigned requirement, files read: PEM public keys, or a Fulcio CA and identity; Rekor keys (a SET is then required).</summary>
public sealed record SigstoreTrust(IReadOnlyList<byte[]> PublicKeys, FulcioTrust? Fulcio, IReadOnlyList<byte[]> RekorPublicKeys);

public sealed record FulcioTrust(IReadOnlyList<byte[]> CaCertificates, string OidcIssuer, string SubjectEmail);

/// <summary>
/// What the verifier found: how many sigstore signatures are attached, the docker references claimed by
/// those that verify cryptographically and name the manifest digest, and one line per one that does not.
/// </summary>
public sealed record SignatureCheck(int Found, IReadOnlyList<string> SignedReferences, IReadOnlyList<string> Failures);

/// <summary>
/// The cryptography the policy calls on (Berth.Supply.Signing implements it): reading the signatures
/// attached to a manifest in the source's repository, and verifying them against <see cref="SigstoreTrust"/>.
/// The identity rules (signedIdentity) stay with the policy.
/// </summary>
public interface ISignatureVerifier
{
    /// <param name="source">A docker:// image's source (a <see cref="DockerSource"/>: its repository holds the attachments).</param>
    SignatureCheck Verify(IImageSource source, Digest manifest, SigstoreTrust trust);
}
