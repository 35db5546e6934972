using Berth.Serve.Plugins;
using Berth.Supply;
using Berth.Supply.Attachments;
using Berth.Supply.Attestations;
using Berth.Supply.Provenance;
using Berth.Supply.Signing;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Policy;

/// <summary>
/// The decision: pure and deterministic — the same policy and evidence give the same decision,
/// reasons included, whatever ran before (no clock, no network, no state). Checks run in a fixed
/// order (signature, sbom, vulnerabilities, provenance) and all run, so a refusal names every
/// failing requirement at once. A check the policy does not require is not reported.
/// </summary>
public static class PolicyEngine
{
    /// <summary>SBOM predicate types an attestation may carry (cosign's spdx, spdxjson and cyclonedx).</summary>
    static readonly string[] SbomPredicates = ["https://spdx.dev/Document", "https://spdx.dev/Document/v2.3", "https://cyclonedx.org/bom", "https://cyclonedx.org/bom/v1.4"];

    public static PolicyDecision Evaluate(ServePolicy policy, Evidence e, IReadOnlyList<ISignatureVerifierPlugin> verifiers, CancellationToken cancel = default)
    {
        var eff = policy.For(e.Repository);
        var req = eff.Require;
        var reasons = new List<PolicyReason>();
        var keys = eff.TrustedKeys.Select(k => (k.Name, Key: KeyFiles.ReadPublicKey(k.Pem, k.Name))).ToList();

        if (req.Signature == true) reasons.Add(Signature(e, eff, verifiers, cancel));
        if (req.Sbom == true) reasons.Add(Sbom(e, keys));
        if (req.MaxSeverity is { } max) reasons.Add(Vulnerabilities(e, max));
        if (req.ProvenanceBuilder is { } builder) reasons.Add(Provenance(e, keys, builder, req.ProvenanceSource));
        if (reasons.Count == 0) reasons.Add(new PolicyReason("policy", true, $"nothing is required of {e.Repository}"));
        return new PolicyDecision(reasons.All(r => r.Passed), reasons, policy.Hash, eff.Override);
    }

    static PolicyReason Signature(Evidence e, EffectivePolicy eff, IReadOnlyList<ISignatureVerifierPlugin> verifiers, CancellationToken cancel)
    {
        var input = new VerifyInput(e.Repository, e.Digest, e.Signatures, eff.TrustedKeys.Select(k => k.Pem).ToList());
        var details = new List<string>();
        // Any verifier may admit (as any key of a sigstoreSigned requirement may): the first that does is named.
        foreach (var v in verifiers)
        {
            VerifyOutput o;
            try { o = v.Verify(input, cancel); }
            catch (Exception ex) when (ex is SupplyException or PluginException) { o = new VerifyOutput(false, [ex.Message]); }
            if (o.Verified) return new PolicyReason("signature", true, $"{v.Name}: {string.Join("; ", o.Details)}");
            details.Add($"{v.Name}: {(o.Details.Count == 0 ? "not verified" : string.Join("; ", o.Details))}");
        }
        if (e.Signatures.Count == 0) return new PolicyReason("signature", false, $"{e.Digest} is not signed (no {CosignAttachments.Tag(e.Digest, "sig")} in {e.Repository})");
        return new PolicyReason("signature", false, string.Join("; ", details));
    }

    static PolicyReason Sbom(Evidence e, List<(string Name, VerificationKey Key)> keys)
    {
        // An SBOM attached as an OCI 1.1 referrer (berth image attach, oras attach), or attested (cosign attest --type spdx).
        var referrer = e.Referrers.FirstOrDefault(r => r.ArtifactType is AttachedDocuments.Spdx or AttachedDocuments.CycloneDx);
        if (referrer is not null) return new PolicyReason("sbom", true, $"{referrer.ArtifactType} referrer {referrer.Digest}");
        foreach (var (a, i) in Verified(e, keys))
            if (SbomPredicates.Contains(a.PredicateType))
                return new PolicyReason("sbom", true, $"{a.PredicateType} attestation {i + 1} signed by {a.KeyName}");
        return new PolicyReason("sbom", false, $"no SBOM attached to {e.Digest} (no SPDX or CycloneDX referrer, no SBOM attestation signed by a trusted key)");
    }

    static PolicyReason Vulnerabilities(Evidence e, Severity max)
    {
        if (e.Findings is null) return new PolicyReason("vulnerabilities", false, $"{e.Digest} has not been scanned (POST /scan first)");
        var findings = OpenVexStatement.Apply(e.Findings, e.Vex);
        var over = findings.Where(f => !f.Suppressed && f.Severity > max).ToList();
        int suppressed = findings.Count(f => f.Suppressed && f.Severity > max);
        var db = e.ScanDatabase is null ? "" : $" (database {e.ScanDatabase})";
        if (over.Count == 0)
            return new PolicyReason("vulnerabilities", true, $"{findings.Count} findings, none above {Name(max)} not suppressed by VEX{(suppressed > 0 ? $" ({suppressed} above it are not_affected or fixed per VEX)" : "")}{db}");
        var list = over.OrderByDescending(f => f.Severity).ThenBy(f => f.Record.Id, StringComparer.Ordinal).ThenBy(f => f.Purl, StringComparer.Ordinal)
            .Select(f => $"{f.Record.Id} ({Name(f.Severity)}, {f.PackageName} {f.Version}{(f.VexStatus is { } s ? $", VEX {s}" : "")})").Distinct().ToList();
        return new PolicyReason("vulnerabilities", false,
            $"{over.Count} findings above {Name(max)}: {string.Join(", ", list.Take(10))}{(list.Count > 10 ? $", and {list.Count - 10} more" : "")}{db}");
    }

    static PolicyReason Provenance(Evidence e, List<(string Name, VerificationKey Key)> keys, string builder, string? source)
    {
        var failures = new List<string>();
        foreach (var (a, i) in Verified(e, keys))
        {
            if (a.PredicateType is not (PredicateTypes.SlsaProvenanceV1 or "https://slsa.dev/provenance/v0.2")) continue;
            try
            {
                var r = ProvenanceVerifier.Check(a.PredicateJson, builder, source);
                return new PolicyReason("provenance", true, $"SLSA provenance (attestation {i + 1}, signed by {a.KeyName}): builder {r.BuilderId}" + (source is null ? "" : $", source {r.SourceUri}"));
            }
            catch (SupplyException ex)
            {
                failures.Add($"attestation {i + 1}: {ex.Message}");
            }
        }
        if (failures.Count == 0) failures.Add($"no SLSA provenance attestation of {e.Digest} signed by a trusted key");
        return new PolicyReason("provenance", false, string.Join("; ", failures));
    }

    sealed record Attestation(string PredicateType, string PredicateJson, string KeyName);

    /// <summary>The ".att" layers that are DSSE in-toto statements naming the digest, signed by a trusted key, with their index.</summary>
    static IEnumerable<(Attestation, int)> Verified(Evidence e, List<(string Name, VerificationKey Key)> keys)
    {
        for (int i = 0; i < e.Attestations.Count; i++)
        {
            Attestation? found = null;
            try
            {
                var env = DsseEnvelope.Parse(e.Attestations[i].Payload, $"attestation {i + 1}");
                if (env.PayloadType != InTotoStatement.PayloadType) continue;
                var signer = keys.FirstOrDefault(k => env.VerifiedBy(k.Key));
                if (signer.Key is null) continue;
                var st = InTotoStatement.Parse(env.Payload);
                if (!st.Names(e.Digest)) continue;
                found = new Attestation(st.PredicateType, st.PredicateJson, signer.Name);
            }
            catch (Exception ex) when (ex is SupplyException or FormatException)
            {
                continue;
            }
            yield return (found, i);
        }
    }

    static string Name(Severity s) => s.ToString().ToLowerInvariant();
}
