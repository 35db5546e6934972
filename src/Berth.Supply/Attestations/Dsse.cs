using System.Text;
using System.Text.Json;
using Berth.Oci.Json;
using Berth.Supply.Signing;

namespace Berth.Supply.Attestations;

/// <summary>
/// A DSSE envelope (secure-systems-lab's Dead Simple Signing Envelope v1): the payload and its
/// type, signed over PAE(type, payload) — "DSSEv1 LEN(type) type LEN(payload) payload" — so the
/// type cannot be swapped under a signature.
/// </summary>
public sealed record DsseEnvelope(string PayloadType, byte[] Payload, IReadOnlyList<(string KeyId, byte[] Sig)> Signatures)
{
    public const string MediaType = "application/vnd.dsse.envelope.v1+json";

    public static byte[] Pae(string payloadType, ReadOnlySpan<byte> payload)
    {
        var type = Encoding.UTF8.GetBytes(payloadType);
        var head = Encoding.ASCII.GetBytes($"DSSEv1 {type.Length} ");
        var mid = Encoding.ASCII.GetBytes($" {payload.Length} ");
        var all = new byte[head.Length + type.Length + mid.Length + payload.Length];
        head.CopyTo(all, 0);
        type.CopyTo(all, head.Length);
        mid.CopyTo(all, head.Length + type.Length);
        payload.CopyTo(all.AsSpan(head.Length + type.Length + mid.Length));
        return all;
    }

    public static DsseEnvelope Sign(string payloadType, byte[] payload, SigningKey key, string keyId = "") =>
        new(payloadType, payload, [(keyId, key.Sign(Pae(payloadType, payload)))]);

    /// <summary>Whether one of the signatures verifies with <paramref name="key"/>.</summary>
    public bool VerifiedBy(VerificationKey key) => Signatures.Any(s => key.Verify(Pae(PayloadType, Payload), s.Sig));

    public byte[] ToJson() => JsonOut.Write(Write);

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("payloadType", PayloadType);
        w.WriteBase64String("payload", Payload);
        w.WriteStartArray("signatures");
        foreach (var (keyId, sig) in Signatures)
        {
            w.WriteStartObject();
            w.WriteString("keyid", keyId);
            w.WriteBase64String("sig", sig);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static DsseEnvelope Parse(ReadOnlySpan<byte> json, string what = "DSSE envelope")
    {
        try
        {
            return JsonIn.Parse(json, what, Read);
        }
        catch (Exception e) when (e is JsonException or Oci.SpecException or FormatException)
        {
            throw new SupplyException($"{what}: not a DSSE envelope ({e.Message})");
        }
    }

    public static DsseEnvelope Read(JsonIn o)
    {
        var type = o.String("payloadType") ?? throw new SupplyException($"{o.Path}.payloadType: missing");
        var payload = Convert.FromBase64String(o.String("payload") ?? throw new SupplyException($"{o.Path}.payload: missing"));
        var sigs = o.Array("signatures", s => new Sig(s.String("keyid") ?? "", Convert.FromBase64String(s.String("sig") ?? throw new SupplyException($"{s.Path}.sig: missing")))) ?? [];
        if (sigs.Count == 0) throw new SupplyException($"{o.Path}.signatures: none");
        return new DsseEnvelope(type, payload, sigs.Select(s => (s.KeyId, s.Bytes)).ToList());
    }

    sealed record Sig(string KeyId, byte[] Bytes);
}
