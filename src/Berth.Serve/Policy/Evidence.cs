using Berth.Oci.Image;
using Berth.Supply.Signing;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Policy;

/// <summary>
/// Everything a decision looks at, fetched before it (<see cref="Promotion.AttachmentSnapshot"/>):
/// the image's repository and manifest digest; the layers of its cosign ".sig" and ".att" tags;
/// the descriptors of its OCI 1.1 referrers; the findings of its latest scan (null: never
/// scanned) and the VEX statements that apply to it. A decision is a function of this and the policy alone.
/// </summary>
public sealed record Evidence(
    string Repository,
    Digest Digest,
    IReadOnlyList<SignatureAttachment> Signatures,
    IReadOnlyList<SignatureAttachment> Attestations,
    IReadOnlyList<Descriptor> Referrers,
    IReadOnlyList<Finding>? Findings,
    string? ScanDatabase,
    IReadOnlyList<OpenVexStatement> Vex);

/// <summary>One check of a decision: which, whether it passed, and the detail a person acts on.</summary>
public sealed record PolicyReason(string Check, bool Passed, string Detail)
{
    public override string ToString() => $"{Check}: {(Passed ? "passed" : "failed")}: {Detail}";
}

/// <summary>Allow or deny, with every check's reason (passed ones too), the policy's hash, and the override that applied.</summary>
public sealed record PolicyDecision(bool Allowed, IReadOnlyList<PolicyReason> Reasons, string PolicyHash, string? Override)
{
    /// <summary>The failed checks' reasons in one line: what a refusal says.</summary>
    public string Summary => Allowed ? "allowed" : string.Join("; ", Reasons.Where(r => !r.Passed).Select(r => $"{r.Check}: {r.Detail}"));
}
