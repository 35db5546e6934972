using Berth.Supply;
using Berth.Supply.Signing;

namespace Berth.Serve.Plugins;

/// <summary>Berth's own verifier: sigstore signatures (cosign's ".sig" layers) under the trusted keys, through Berth.Supply's SigstoreVerifier.</summary>
public sealed class BerthVerifier : ISignatureVerifierPlugin
{
    public string Name => "berth";

    public VerifyOutput Verify(VerifyInput input, CancellationToken cancel)
    {
        if (input.TrustedKeys.Count == 0) return new VerifyOutput(false, ["no trusted keys"]);
        SigstoreVerification result;
        try { result = SigstoreVerifier.Verify(input.Signatures, input.Digest, new SigstoreRequirement(input.TrustedKeys)); }
        catch (SupplyException e) { return new VerifyOutput(false, [e.Message]); }
        if (!result.Any) return new VerifyOutput(false, [result.Reason]);
        return new VerifyOutput(true, result.Verified.Select(v => $"a sigstore signature of {v.ManifestDigest} by a trusted key (docker-reference {v.DockerReference})").Distinct().ToList());
    }
}
