using Berth.Oci.Image;
using Berth.Supply.Signing;

namespace Berth.Serve.Plugins;

/// <summary>What a scanner is asked: the image as named, its manifest digest, and its attached SBOM when there is one (a scanner may use it instead of cataloguing).</summary>
public sealed record ScanInput(string Image, Digest Digest, byte[]? Sbom);

/// <summary>One vulnerability match, in the words of the findings JSON (severity lowercase: critical|high|medium|low|negligible|unknown).</summary>
public sealed record ScanMatch(string Id, IReadOnlyList<string> Aliases, string Package, string Version, string Purl, string Severity, string? FixedIn);

/// <summary>What a scanner found: the database version it matched against (scans are cached per digest and version), the matches, and its SBOM (CycloneDX JSON) when it made one.</summary>
public sealed record ScanOutput(string DatabaseVersion, IReadOnlyList<ScanMatch> Matches, byte[]? Sbom);

/// <summary>A scanner backend: Berth's own (catalogers + OSV matcher), or an external command (syft/grype/trivy behind a wrapper).</summary>
public interface IScannerPlugin
{
    string Name { get; }

    ScanOutput Scan(ScanInput input, CancellationToken cancel);
}

/// <summary>What a signature verifier is asked: the image's repository and digest, its pre-fetched cosign signatures (the ".sig" tag's layers), and the trusted public keys (PEM).</summary>
public sealed record VerifyInput(string Repository, Digest Digest, IReadOnlyList<SignatureAttachment> Signatures, IReadOnlyList<byte[]> TrustedKeys);

/// <summary>The verdict: whether a signature by a trusted key covers the digest, and a line for each signature (why it did or did not count).</summary>
public sealed record VerifyOutput(bool Verified, IReadOnlyList<string> Details);

/// <summary>A signature verifier: Berth's own (sigstore signatures, Berth.Supply's SigstoreVerifier), or an external command (cosign, notation behind a wrapper).</summary>
public interface ISignatureVerifierPlugin
{
    string Name { get; }

    VerifyOutput Verify(VerifyInput input, CancellationToken cancel);
}
