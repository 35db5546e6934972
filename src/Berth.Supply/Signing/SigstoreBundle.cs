using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Supply.Attestations;
using Berth.Supply.Signing.Keyless;

namespace Berth.Supply.Signing;

/// <summary>One Rekor entry of a bundle (protobuf-specs TransparencyLogEntry): the body, and its promise (SET) or proof.</summary>
public sealed record TlogEntry(long LogIndex, byte[] LogId, long IntegratedTime, byte[] CanonicalizedBody, byte[]? SignedEntryTimestamp,
    InclusionProof? Proof, string Kind = "hashedrekord", string Version = "0.0.1");

public sealed record InclusionProof(long LogIndex, long TreeSize, byte[] RootHash, IReadOnlyList<byte[]> Hashes, string? Checkpoint);

/// <summary>
/// A sigstore bundle v0.3 ("application/vnd.dev.sigstore.bundle.v0.3+json"): a message signature
/// (a digest and its signature) or a DSSE envelope, with its verification material — a public key
/// hint, or a certificate — and the Rekor entries that logged it.
/// </summary>
public sealed record SigstoreBundle(
    string? PublicKeyHint, byte[]? Certificate,
    (string Algorithm, byte[] Digest, byte[] Signature)? MessageSignature, DsseEnvelope? Dsse,
    IReadOnlyList<TlogEntry> TlogEntries)
{
    public const string MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";
    public const string ContentAnnotation = "dev.sigstore.bundle.content";
    public const string PredicateTypeAnnotation = "dev.sigstore.bundle.predicateType";

    public byte[] ToJson() => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("mediaType", MediaTypeV03);
        w.WriteStartObject("verificationMaterial");
        if (Certificate is { } cert)
        {
            w.WriteStartObject("certificate");
            w.WriteBase64String("rawBytes", cert);
            w.WriteEndObject();
        }
        else
        {
            w.WriteStartObject("publicKey");
            w.WriteString("hint", PublicKeyHint ?? "");
            w.WriteEndObject();
        }
        w.WriteStartArray("tlogEntries");
        foreach (var e in TlogEntries) WriteEntry(w, e);
        w.WriteEndArray();
        w.WriteEndObject();
        if (MessageSignature is { } m)
        {
            w.WriteStartObject("messageSignature");
            w.WriteStartObject("messageDigest");
            w.WriteString("algorithm", m.Algorithm);
            w.WriteBase64String("digest", m.Digest);
            w.WriteEndObject();
            w.WriteBase64String("signature", m.Signature);
            w.WriteEndObject();
        }
        else if (Dsse is { } d)
        {
            w.WritePropertyName("dsseEnvelope");
            d.Write(w);
        }
        w.WriteEndObject();
    });

    static void WriteEntry(Utf8JsonWriter w, TlogEntry e)
    {
        w.WriteStartObject();
        // int64 fields are strings in protobuf's JSON mapping.
        w.WriteString("logIndex", e.LogIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteStartObject("logId");
        w.WriteBase64String("keyId", e.LogId);
        w.WriteEndObject();
        w.WriteStartObject("kindVersion");
        w.WriteString("kind", e.Kind);
        w.WriteString("version", e.Version);
        w.WriteEndObject();
        w.WriteString("integratedTime", e.IntegratedTime.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (e.SignedEntryTimestamp is { } set)
        {
            w.WriteStartObject("inclusionPromise");
            w.WriteBase64String("signedEntryTimestamp", set);
            w.WriteEndObject();
        }
        if (e.Proof is { } p)
        {
            w.WriteStartObject("inclusionProof");
            w.WriteString("logIndex", p.LogIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteBase64String("rootHash", p.RootHash);
            w.WriteString("treeSize", p.TreeSize.ToString(System.Globalization.CultureInfo.InvariantCulture));
            w.WriteStartArray("hashes");
            foreach (var h in p.Hashes) w.WriteBase64StringValue(h);
            w.WriteEndArray();
            if (p.Checkpoint is { } cp)
            {
                w.WriteStartObject("checkpoint");
                w.WriteString("envelope", cp);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteBase64String("canonicalizedBody", e.CanonicalizedBody);
        w.WriteEndObject();
    }

    public static SigstoreBundle Parse(ReadOnlySpan<byte> json, string what = "bundle")
    {
        try
        {
            return JsonIn.Parse(json, what, o =>
            {
                var mt = o.String("mediaType");
                if (mt is null || !mt.StartsWith("application/vnd.dev.sigstore.bundle", StringComparison.Ordinal))
                    throw new SupplyException($"{what}: mediaType {mt ?? "missing"} is not a sigstore bundle's");
                var vm = o.Object("verificationMaterial", v => new
                {
                    Hint = v.Object("publicKey", k => new { H = k.String("hint") ?? "" })?.H,
                    Cert = v.Object("certificate", c => new { B = c.String("rawBytes") })?.B
                        ?? v.Object("x509CertificateChain", c => c.Array("certificates", x => new { B = x.String("rawBytes") }) ?? [])?.FirstOrDefault()?.B,
                    Entries = v.Array("tlogEntries", Entry) ?? [],
                }) ?? throw new SupplyException($"{what}: verificationMaterial: missing");
                var ms = o.Object("messageSignature", m => new
                {
                    Alg = m.Object("messageDigest", d => new { A = d.String("algorithm") ?? "" })?.A ?? "",
                    Digest = m.Object("messageDigest", d => new { D = d.String("digest") })?.D,
                    Sig = m.String("signature") ?? throw new SupplyException($"{m.Path}.signature: missing"),
                });
                var dsse = o.Object("dsseEnvelope", DsseEnvelope.Read);
                if (ms is null && dsse is null) throw new SupplyException($"{what}: neither messageSignature nor dsseEnvelope");
                return new SigstoreBundle(vm.Hint, vm.Cert is { } c ? Convert.FromBase64String(c) : null,
                    ms is null ? null : (ms.Alg, ms.Digest is { } d ? Convert.FromBase64String(d) : [], Convert.FromBase64String(ms.Sig)),
                    dsse, vm.Entries);
            });
        }
        catch (Exception e) when (e is JsonException or Oci.SpecException or FormatException)
        {
            throw new SupplyException($"{what}: malformed ({e.Message})");
        }
    }

    static long Long(string? s, string field) =>
        long.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new SupplyException($"{field}: not an integer");

    static TlogEntry Entry(JsonIn e)
    {
        var kv = e.Object("kindVersion", k => new { Kind = k.String("kind") ?? "", Version = k.String("version") ?? "" });
        var proof = e.Object("inclusionProof", p => new InclusionProof(
            Long(p.String("logIndex"), $"{p.Path}.logIndex"), Long(p.String("treeSize"), $"{p.Path}.treeSize"),
            Convert.FromBase64String(p.String("rootHash") ?? ""), (p.Strings("hashes") ?? []).Select(Convert.FromBase64String).ToList(),
            p.Object("checkpoint", c => new { E = c.String("envelope") })?.E));
        return new TlogEntry(Long(e.String("logIndex"), $"{e.Path}.logIndex"),
            Convert.FromBase64String(e.Object("logId", l => new { K = l.String("keyId") })?.K ?? ""),
            Long(e.String("integratedTime"), $"{e.Path}.integratedTime"),
            Convert.FromBase64String(e.String("canonicalizedBody") ?? throw new SupplyException($"{e.Path}.canonicalizedBody: missing")),
            e.Object("inclusionPromise", p => new { S = p.String("signedEntryTimestamp") })?.S is { } s ? Convert.FromBase64String(s) : null,
            proof, kv?.Kind ?? "", kv?.Version ?? "");
    }

    /// <summary>
    /// The image-signing bundle `berth image sign --new-bundle-format` writes, as cosign does: a DSSE
    /// envelope of an in-toto statement about the image (predicate type https://sigstore.dev/cosign/sign/v1).
    /// </summary>
    public static SigstoreBundle SignImage(Digest manifestDigest, string repository, SigningKey key, string predicateType = PredicateTypes.CosignSign, string predicateJson = "{}")
    {
        var statement = new InTotoStatement([(repository, manifestDigest)], predicateType, predicateJson);
        var env = DsseEnvelope.Sign(InTotoStatement.PayloadType, statement.ToJson(), key);
        return new SigstoreBundle(key.Public.KeyId, null, null, env, []);
    }

    /// <summary>
    /// Verifies the bundle is about <paramref name="manifestDigest"/> (a DSSE statement naming it, or
    /// a message signature over the manifest) and signed by <paramref name="key"/> — or, keyless, by a
    /// certificate <paramref name="fulcio"/> accepts, logged in Rekor (a verified SET or inclusion proof).
    /// Returns the statement when it is DSSE.
    /// </summary>
    public InTotoStatement? Verify(Digest manifestDigest, VerificationKey? key, FulcioChecker? fulcio, IReadOnlyList<TransparencyLog> rekor)
    {
        VerificationKey signer;
        if (key is not null) signer = key;
        else
        {
            if (fulcio is null) throw new SupplyException("bundle: no key and no trusted root to verify it with");
            var cert = Certificate ?? throw new SupplyException("bundle: keyless verification needs a certificate in verificationMaterial");
            if (TlogEntries.Count == 0) throw new SupplyException("bundle: keyless verification needs a Rekor entry (tlogEntries is empty)");
            var when = VerifyTlog(TlogEntries[0], rekor, cert);
            signer = fulcio.VerifyLeaf(cert, [], when);
        }
        if (Dsse is { } env)
        {
            if (!env.VerifiedBy(signer)) throw new SupplyException("bundle: the DSSE signature does not verify");
            if (env.PayloadType != InTotoStatement.PayloadType) throw new SupplyException($"bundle: DSSE payload type {env.PayloadType}, not {InTotoStatement.PayloadType}");
            var st = InTotoStatement.Parse(env.Payload, "bundle statement");
            if (!st.Names(manifestDigest)) throw new SupplyException($"bundle: the statement's subjects do not include {manifestDigest}");
            return st;
        }
        var (alg, digest, sig) = MessageSignature!.Value;
        if (alg != "SHA2_256") throw new SupplyException($"bundle: messageDigest.algorithm {alg}, only SHA2_256 is supported");
        if (manifestDigest.Algorithm != "sha256" || Convert.ToHexStringLower(digest) != manifestDigest.Encoded)
            throw new SupplyException($"bundle: the message signed is sha256:{Convert.ToHexStringLower(digest)}, not the manifest {manifestDigest}");
        if (!signer.VerifyHash(digest, sig, HashAlgorithmName.SHA256)) throw new SupplyException("bundle: the message signature does not verify");
        return null;
    }

    /// <summary>The entry's promise or proof verifies with a trusted log and its body names this signature; returns when it was logged.</summary>
    DateTimeOffset VerifyTlog(TlogEntry e, IReadOnlyList<TransparencyLog> rekor, byte[] certDer)
    {
        var log = rekor.FirstOrDefault(l => l.LogId.AsSpan().SequenceEqual(e.LogId)) ?? throw new SupplyException("bundle: the Rekor entry's log is not in the trusted root");
        if (e.SignedEntryTimestamp is { } set)
        {
            var payload = JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteBase64String("body", e.CanonicalizedBody);
                w.WriteNumber("integratedTime", e.IntegratedTime);
                w.WriteString("logID", Convert.ToHexStringLower(e.LogId));
                w.WriteNumber("logIndex", e.LogIndex);
                w.WriteEndObject();
            });
            if (!log.Key.VerifyHash(SHA256.HashData(CanonicalJson.Transform(payload)), set, HashAlgorithmName.SHA256))
                throw new SupplyException("bundle: the Rekor SET does not verify");
        }
        else if (e.Proof is { } p)
        {
            var root = Merkle.RootFromInclusionProof(p.LogIndex, p.TreeSize, Merkle.LeafHash(e.CanonicalizedBody), p.Hashes);
            if (!root.AsSpan().SequenceEqual(p.RootHash)) throw new SupplyException("bundle: the inclusion proof does not lead to its root hash");
            Checkpoint.Verify(p.Checkpoint ?? throw new SupplyException("bundle: the inclusion proof has no checkpoint"), log.Key, p.TreeSize, p.RootHash);
        }
        else throw new SupplyException("bundle: the Rekor entry has neither an inclusion promise nor an inclusion proof");
        // The log vouches for its entry; the entry must be this signature's, or it vouches for nothing here.
        var pem = Encoding.UTF8.GetBytes(PemEncoding.WriteString("CERTIFICATE", certDer) + "\n");
        if (MessageSignature is { } m) RekorSet.CheckHashedRekord(e.CanonicalizedBody, pem, m.Signature, m.Digest);
        else CheckDsseEntry(e.CanonicalizedBody, pem, Dsse!);
        return DateTimeOffset.FromUnixTimeSeconds(e.IntegratedTime);
    }

    /// <summary>A Rekor "dsse" v0.0.1 entry names this envelope's payload hash, one of its signatures and this certificate.</summary>
    static void CheckDsseEntry(byte[] body, byte[] certPem, DsseEnvelope env)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var r = doc.RootElement;
            if (r.GetProperty("kind").GetString() != "dsse" || r.GetProperty("apiVersion").GetString() != "0.0.1")
                throw new SupplyException($"bundle: Rekor entry kind {r.GetProperty("kind").GetString()} {r.GetProperty("apiVersion").GetString()}, not dsse 0.0.1");
            var spec = r.GetProperty("spec");
            var ph = spec.GetProperty("payloadHash");
            if (ph.GetProperty("algorithm").GetString() != "sha256" || ph.GetProperty("value").GetString() != Convert.ToHexStringLower(SHA256.HashData(env.Payload)))
                throw new SupplyException("bundle: the Rekor entry's payload hash is not this envelope's");
            var der = KeyFiles.Pem(certPem, "certificate").Der;
            bool found = spec.GetProperty("signatures").EnumerateArray().Any(sig =>
                env.Signatures.Any(s => Convert.FromBase64String(sig.GetProperty("signature").GetString() ?? "").AsSpan().SequenceEqual(s.Sig)) &&
                KeyFiles.Pem(Convert.FromBase64String(sig.GetProperty("verifier").GetString() ?? ""), "Rekor entry verifier").Der.AsSpan().SequenceEqual(der));
            if (!found) throw new SupplyException("bundle: the Rekor entry does not name this signature and certificate");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new SupplyException($"bundle: malformed Rekor dsse entry ({e.Message})");
        }
    }
}
