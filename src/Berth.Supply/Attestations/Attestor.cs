using System.Text;
using System.Text.Json;
using Berth.Oci.Image;
using Berth.Supply.Signing;

namespace Berth.Supply.Attestations;

/// <summary>A statement that verified: its predicate type and predicate, and the envelope it came in.</summary>
public sealed record VerifiedAttestation(string PredicateType, string PredicateJson, InTotoStatement Statement, byte[] Envelope);

/// <summary>
/// Attestations stored as cosign stores them: DSSE envelopes of in-toto statements as the layers
/// of the "sha256-HEX.att" tag's manifest (media type application/vnd.dsse.envelope.v1+json, an
/// empty signature annotation — the signature is inside — and the predicateType annotation).
/// </summary>
public static class Attestor
{
    public static DsseEnvelope Attest(IAttachmentPlace place, Digest subject, string subjectName, SigningKey key, string predicateType, byte[] predicateJson)
    {
        string predicate;
        try
        {
            using var doc = JsonDocument.Parse(predicateJson);
            predicate = doc.RootElement.GetRawText();
        }
        catch (JsonException e)
        {
            throw new SupplyException($"predicate: not JSON ({e.Message})");
        }
        var statement = new InTotoStatement([(subjectName, subject)], predicateType, predicate);
        var envelope = DsseEnvelope.Sign(InTotoStatement.PayloadType, statement.ToJson(), key);
        CosignAttachments.Append(place, subject, "att", new SignatureAttachment(envelope.ToJson(),
            new Dictionary<string, string> { [CosignAttachments.SignatureAnnotation] = "", [CosignAttachments.PredicateTypeAnnotation] = predicateType },
            DsseEnvelope.MediaType));
        return envelope;
    }

    /// <summary>The envelopes attached to <paramref name="subject"/>, as stored (cosign download-attestation prints them).</summary>
    public static IReadOnlyList<byte[]> Download(IAttachmentPlace place, Digest subject) =>
        CosignAttachments.Read(place, subject, "att").Select(a => a.Payload).ToList();

    /// <summary>Every attestation of <paramref name="subject"/> that <paramref name="key"/> signed, whose statement names the subject, of the type asked (any when null).</summary>
    public static (IReadOnlyList<VerifiedAttestation> Verified, IReadOnlyList<string> Failures) Verify(IAttachmentPlace place, Digest subject, VerificationKey key, string? predicateType)
    {
        var ok = new List<VerifiedAttestation>();
        var failures = new List<string>();
        var all = CosignAttachments.Read(place, subject, "att");
        for (int i = 0; i < all.Count; i++)
        {
            try
            {
                var env = DsseEnvelope.Parse(all[i].Payload, $"attestation {i + 1}");
                if (env.PayloadType != InTotoStatement.PayloadType) throw new SupplyException($"payload type {env.PayloadType}, not {InTotoStatement.PayloadType}");
                if (!env.VerifiedBy(key)) throw new SupplyException("the DSSE signature does not verify with the public key");
                var st = InTotoStatement.Parse(env.Payload);
                if (!st.Names(subject)) throw new SupplyException($"the statement's subjects do not include {subject}");
                if (predicateType is not null && st.PredicateType != predicateType) continue;
                ok.Add(new VerifiedAttestation(st.PredicateType, st.PredicateJson, st, all[i].Payload));
            }
            catch (SupplyException e)
            {
                failures.Add($"attestation {i + 1}: {e.Message}");
            }
        }
        return (ok, failures);
    }
}
