using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Berth.Supply.Signing.Keyless;

/// <summary>
/// A Rekor entry as cosign attaches it (annotation dev.sigstore.cosign/bundle):
/// <c>{"SignedEntryTimestamp":B64,"Payload":{"body":B64,"integratedTime":N,"logIndex":N,"logID":HEX}}</c>.
/// The SET is the log's ECDSA signature over the canonical JSON of Payload; body is the
/// hashedrekord entry, which must name this signature, this key or certificate and this payload's SHA-256.
/// </summary>
public static class RekorSet
{
    /// <summary>Checks the SET and that its entry is this signature's; returns the entry's integrated time.</summary>
    public static DateTimeOffset Verify(IReadOnlyList<VerificationKey> rekorKeys, byte[] setJson, byte[] keyOrCertPem, string signatureBase64, byte[] payload)
    {
        byte[] set, canonical;
        try
        {
            using var doc = JsonDocument.Parse(setJson);
            var root = doc.RootElement;
            set = root.GetProperty("SignedEntryTimestamp").GetBytesFromBase64();
            canonical = CanonicalJson.Transform(Encoding.UTF8.GetBytes(root.GetProperty("Payload").GetRawText()));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SupplyException($"Rekor SET: malformed ({e.Message})");
        }
        var hash = SHA256.HashData(canonical);
        if (!rekorKeys.Any(k => k.VerifyHash(hash, set, HashAlgorithmName.SHA256))) throw new SupplyException("Rekor SET: the signed entry timestamp does not verify with Rekor's key");
        long integrated;
        byte[] body;
        using (var p = JsonDocument.Parse(canonical))
        {
            integrated = p.RootElement.GetProperty("integratedTime").GetInt64();
            body = p.RootElement.GetProperty("body").GetBytesFromBase64();
        }
        CheckHashedRekord(body, keyOrCertPem, Convert.FromBase64String(signatureBase64), SHA256.HashData(payload));
        return DateTimeOffset.FromUnixTimeSeconds(integrated);
    }

    /// <summary>The body of a hashedrekord v0.0.1 entry names this signature, this key (or certificate) and this digest.</summary>
    public static void CheckHashedRekord(byte[] body, byte[] keyOrCertPem, byte[] signature, byte[] sha256)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var r = doc.RootElement;
            if (r.GetProperty("kind").GetString() != "hashedrekord") throw new SupplyException($"Rekor entry: kind {r.GetProperty("kind").GetString()}, not hashedrekord");
            if (r.GetProperty("apiVersion").GetString() != "0.0.1") throw new SupplyException($"Rekor entry: hashedrekord version {r.GetProperty("apiVersion").GetString()}, not 0.0.1");
            var spec = r.GetProperty("spec");
            var sig = spec.GetProperty("signature");
            if (!sig.GetProperty("content").GetBytesFromBase64().AsSpan().SequenceEqual(signature)) throw new SupplyException("Rekor entry: the signature is not this signature");
            var entryKey = sig.GetProperty("publicKey").GetProperty("content").GetBytesFromBase64();
            if (!KeyFiles.Pem(entryKey, "Rekor entry publicKey").Der.AsSpan().SequenceEqual(KeyFiles.Pem(keyOrCertPem, "signing key").Der))
                throw new SupplyException("Rekor entry: the public key or certificate is not this signature's");
            var h = spec.GetProperty("data").GetProperty("hash");
            if (h.GetProperty("algorithm").GetString() != "sha256") throw new SupplyException($"Rekor entry: data.hash.algorithm {h.GetProperty("algorithm").GetString()}, not sha256");
            if (!Convert.FromHexString(h.GetProperty("value").GetString()!).AsSpan().SequenceEqual(sha256)) throw new SupplyException("Rekor entry: the payload hash is not this payload's");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SupplyException($"Rekor entry: malformed body ({e.Message})");
        }
    }

    /// <summary>The hashedrekord body Rekor would log for this signature (tests and bundles make entries with it).</summary>
    public static byte[] HashedRekordBody(byte[] keyOrCertPem, byte[] signature, byte[] sha256) => Oci.Json.JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("apiVersion", "0.0.1");
        w.WriteString("kind", "hashedrekord");
        w.WriteStartObject("spec");
        w.WriteStartObject("data");
        w.WriteStartObject("hash");
        w.WriteString("algorithm", "sha256");
        w.WriteString("value", Convert.ToHexStringLower(sha256));
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("signature");
        w.WriteBase64String("content", signature);
        w.WriteStartObject("publicKey");
        w.WriteBase64String("content", keyOrCertPem);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    });
}
