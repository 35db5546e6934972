using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Supply.Signing.Keyless;

namespace Berth.Supply.Signing;

/// <summary>
/// A sigstoreSigned requirement (containers-policy.json(5)), its files already read: public keys
/// (PEM; any one may verify), or keyless: Fulcio CA certificates with the identity to require, plus
/// Rekor's public keys (a Rekor SET is then required) — given directly or as a sigstore trusted root.
/// </summary>
public sealed record SigstoreRequirement(
    IReadOnlyList<byte[]> PublicKeys,
    FulcioRequirement? Fulcio = null,
    IReadOnlyList<byte[]>? RekorPublicKeys = null,
    TrustedRoot? TrustedRoot = null);

/// <summary>
/// Keyless: the CA certificates a signing certificate must chain to (PEM, one or more each), the
/// OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the older .1.1) and the subject (a SAN
/// email or URI) it must carry; both are required, as policy.json requires them.
/// </summary>
public sealed record FulcioRequirement(IReadOnlyList<byte[]> CaCertificates, string? OidcIssuer, string? SubjectEmail);

/// <summary>A signature that verified and whose payload names the manifest digest asked for.</summary>
public sealed record VerifiedSignature(string DockerReference, Digest ManifestDigest, IReadOnlyDictionary<string, string> Optional, byte[] Payload);

/// <summary>What verification found: the signatures that verified, and why each other one did not.</summary>
public sealed record SigstoreVerification(IReadOnlyList<VerifiedSignature> Verified, IReadOnlyList<string> Failures)
{
    public bool Any => Verified.Count > 0;

    /// <summary>One line for an error: every failure, or "no sigstore signatures".</summary>
    public string Reason => Failures.Count == 0 ? "no sigstore signatures" : string.Join("; ", Failures);
}

/// <summary>
/// Verifies sigstore image signatures as containers/image's sigstoreSigned requirement does:
/// a signature counts when it verifies under one of the keys (or, keyless, its certificate chains
/// to the CA, carries the identity and issuer, and a Rekor SET for it verifies), and its payload
/// is a "cosign container image signature" of exactly this manifest digest. The payload's
/// docker-reference is returned, not judged: that is the caller's signedIdentity.
/// </summary>
public static class SigstoreVerifier
{
    /// <summary>The signatures of <paramref name="manifestDigest"/> stored beside it in its registry repository (the "sha256-HEX.sig" tag).</summary>
    public static IReadOnlyList<SignatureAttachment> ReadAttachments(DockerReference image, Digest manifestDigest) =>
        CosignAttachments.Read(Places.Of(image), manifestDigest, "sig");

    /// <summary>The same, read from the very registry (maybe a mirror) and repository a source's manifest came from, with its client.</summary>
    public static IReadOnlyList<SignatureAttachment> ReadAttachments(DockerSource source, Digest manifestDigest) =>
        CosignAttachments.Read(new RegistryPlace(source.Client, source.Repository), manifestDigest, "sig");

    public static SigstoreVerification Verify(DockerReference image, Digest manifestDigest, SigstoreRequirement req) =>
        Verify(ReadAttachments(image, manifestDigest), manifestDigest, req);

    public static SigstoreVerification Verify(IReadOnlyList<SignatureAttachment> signatures, Digest manifestDigest, SigstoreRequirement req)
    {
        var checker = Checker.For(req);
        var verified = new List<VerifiedSignature>();
        var failures = new List<string>();
        for (int i = 0; i < signatures.Count; i++)
        {
            var s = signatures[i];
            try
            {
                if (s.MediaType != SimpleSigningPayload.MediaType) throw new SupplyException($"media type {s.MediaType}, not {SimpleSigningPayload.MediaType}");
                if (!s.Annotations.TryGetValue(CosignAttachments.SignatureAnnotation, out var b64)) throw new SupplyException($"no {CosignAttachments.SignatureAnnotation} annotation");
                byte[] sig;
                try { sig = Convert.FromBase64String(b64); }
                catch (FormatException) { throw new SupplyException($"{CosignAttachments.SignatureAnnotation}: not base64"); }
                checker.Check(s.Payload, sig, b64, s.Annotations);
                var payload = SimpleSigningPayload.Parse(s.Payload);
                if (payload.ManifestDigest != manifestDigest)
                    throw new SupplyException($"the payload signs manifest {payload.ManifestDigest}, not {manifestDigest}");
                verified.Add(new VerifiedSignature(payload.DockerReference, payload.ManifestDigest, payload.Optional, s.Payload));
            }
            catch (SupplyException e)
            {
                failures.Add($"signature {i + 1}: {e.Message}");
            }
        }
        return new SigstoreVerification(verified, failures);
    }

    /// <summary>The cryptographic half, prepared once for all signatures of a requirement.</summary>
    internal sealed class Checker
    {
        readonly List<VerificationKey> _keys = new();
        readonly FulcioChecker? _fulcio;
        readonly List<VerificationKey> _rekor = new();

        Checker(SigstoreRequirement req)
        {
            for (int i = 0; i < req.PublicKeys.Count; i++) _keys.Add(KeyFiles.ReadPublicKey(req.PublicKeys[i], $"public key {i + 1}"));
            foreach (var pem in req.RekorPublicKeys ?? []) _rekor.Add(KeyFiles.ReadPublicKey(pem, "Rekor public key"));
            if (req.TrustedRoot is { } root)
                _rekor.AddRange(root.TransparencyLogs.Select(t => t.Key));
            if (req.Fulcio is { } f)
            {
                // Any Fulcio certificate would do without them: a CA vouches for who, not for whom we trust.
                if (string.IsNullOrEmpty(f.OidcIssuer) || string.IsNullOrEmpty(f.SubjectEmail))
                    throw new SupplyException("keyless verification needs both the OIDC issuer and the subject identity");
                var cas = f.CaCertificates.SelectMany(pem => KeyFiles.PemAll(pem, "CERTIFICATE", "Fulcio CA")).Select(X509CertificateLoader.LoadCertificate).ToList();
                _fulcio = new FulcioChecker(cas, f.OidcIssuer, f.SubjectEmail, req.TrustedRoot?.CtLogs ?? []);
            }
            if (_keys.Count == 0 && _fulcio is null) throw new SupplyException("sigstoreSigned: neither public keys nor a Fulcio CA were given");
        }

        public static Checker For(SigstoreRequirement req) => new(req);

        public void Check(byte[] payload, byte[] signature, string signatureBase64, IReadOnlyDictionary<string, string> annotations)
        {
            if (_fulcio is null)
            {
                var key = _keys.FirstOrDefault(k => k.Verify(payload, signature)) ?? throw new SupplyException(
                    _keys.Count == 1 ? "the signature does not verify with the public key" : $"the signature verifies with none of the {_keys.Count} public keys");
                // A Rekor SET is required only when Rekor keys were given (containers/image).
                if (_rekor.Count > 0)
                {
                    if (!annotations.TryGetValue(CosignAttachments.BundleAnnotation, out var set)) throw new SupplyException($"no Rekor SET ({CosignAttachments.BundleAnnotation})");
                    RekorSet.Verify(_rekor, Encoding.UTF8.GetBytes(set), Encoding.UTF8.GetBytes(key.ToPem()), signatureBase64, payload);
                }
                return;
            }
            if (!annotations.TryGetValue(CosignAttachments.CertificateAnnotation, out var certPem)) throw new SupplyException($"no signing certificate ({CosignAttachments.CertificateAnnotation})");
            if (_rekor.Count == 0) throw new SupplyException("keyless verification needs Rekor's public key");
            if (!annotations.TryGetValue(CosignAttachments.BundleAnnotation, out var setJson)) throw new SupplyException($"no Rekor SET ({CosignAttachments.BundleAnnotation})");
            var integrated = RekorSet.Verify(_rekor, Encoding.UTF8.GetBytes(setJson), Encoding.UTF8.GetBytes(certPem), signatureBase64, payload);
            var chain = annotations.TryGetValue(CosignAttachments.ChainAnnotation, out var c) ? KeyFiles.PemAll(Encoding.UTF8.GetBytes(c), "CERTIFICATE", "certificate chain") : [];
            var leaf = _fulcio.VerifyLeaf(KeyFiles.Pem(Encoding.UTF8.GetBytes(certPem), "signing certificate").Der, chain, integrated);
            if (!leaf.Verify(payload, signature)) throw new SupplyException("the signature does not verify with the signing certificate's key");
        }
    }
}
