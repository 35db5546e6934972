using System.Security.Cryptography;
using System.Text;
using Berth.Oci.Image;
using Berth.Supply.Attestations;
using Berth.Supply.Provenance;
using Berth.Supply.Signing;
using Berth.Supply.Signing.Keyless;
using Xunit;

namespace Berth.Supply.Tests.Signing;

/// <summary>Keys, payloads, envelopes and offline keyless verification, in process.</summary>
public class SigningTests
{
    static readonly Digest Image = Digest.Parse("sha256:" + new string('a', 64));
    static readonly Digest Other = Digest.Parse("sha256:" + new string('b', 64));

    static SignatureAttachment Signed(SigningKey key, Digest digest, string reference = "127.0.0.1:5000/app:v1")
    {
        var payload = SimpleSigningPayload.Create(digest, reference, null);
        return new SignatureAttachment(payload, new Dictionary<string, string> { [CosignAttachments.SignatureAnnotation] = Convert.ToBase64String(key.Sign(payload)) });
    }

    static SigstoreRequirement WithKey(SigningKey key) => new([Encoding.UTF8.GetBytes(key.Public.ToPem())]);

    [Fact]
    public void Encrypted_key_opens_with_its_passphrase_and_not_with_another()
    {
        using var key = SigningKey.GenerateEcdsaP256();
        var pem = Encoding.UTF8.GetBytes(KeyFiles.EncryptPrivateKey(key, "correct horse"u8));
        Assert.StartsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", Encoding.UTF8.GetString(pem));
        using var opened = KeyFiles.ReadPrivateKey(pem, () => Encoding.UTF8.GetBytes("correct horse"), "k.key");
        Assert.True(key.Public.Verify("x"u8, opened.Sign("x"u8)));
        var e = Assert.Throws<SupplyException>(() => KeyFiles.ReadPrivateKey(pem, () => "wrong"u8.ToArray(), "k.key"));
        Assert.Equal("k.key: decrypting the private key failed: wrong passphrase?", e.Message);
    }

    [Fact]
    public void Key_envelope_asking_for_unbounded_scrypt_memory_is_refused_before_deriving()
    {
        var json = "{\"kdf\":{\"name\":\"scrypt\",\"params\":{\"N\":1073741824,\"r\":8,\"p\":1},\"salt\":\"AAAA\"},\"cipher\":{\"name\":\"nacl/secretbox\",\"nonce\":\"" + Convert.ToBase64String(new byte[24]) + "\"},\"ciphertext\":\"AAAA\"}";
        var pem = Encoding.UTF8.GetBytes(PemEncoding.WriteString(KeyFiles.EncryptedSigstoreLabel, Encoding.UTF8.GetBytes(json)));
        var e = Assert.Throws<SupplyException>(() => KeyFiles.ReadPrivateKey(pem, () => [], "hostile.key"));
        Assert.Contains("kdf.params: N=1073741824", e.Message);
    }

    [Fact]
    public void Plain_pkcs8_and_sec1_keys_are_read_too()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        foreach (var pem in new[] { ec.ExportPkcs8PrivateKeyPem(), ec.ExportECPrivateKeyPem() })
        {
            using var key = KeyFiles.ReadPrivateKey(Encoding.UTF8.GetBytes(pem), () => throw new InvalidOperationException("no passphrase needed"), "k");
            Assert.True(KeyFiles.ReadPublicKey(Encoding.UTF8.GetBytes(ec.ExportSubjectPublicKeyInfoPem()), "p").Verify("m"u8, key.Sign("m"u8)));
        }
    }

    [Fact]
    public void Payload_is_written_in_cosigns_key_order_and_read_back()
    {
        var bytes = SimpleSigningPayload.Create(Image, "r.test/app:v1", new Dictionary<string, string> { ["env"] = "prod" }, DateTimeOffset.FromUnixTimeSeconds(100));
        Assert.Equal("{\"critical\":{\"identity\":{\"docker-reference\":\"r.test/app:v1\"},\"image\":{\"docker-manifest-digest\":\"" + Image +
            "\"},\"type\":\"cosign container image signature\"},\"optional\":{\"creator\":\"berth\",\"env\":\"prod\",\"timestamp\":100}}", Encoding.UTF8.GetString(bytes));
        var p = SimpleSigningPayload.Parse(bytes);
        Assert.Equal(("r.test/app:v1", Image, "prod"), (p.DockerReference, p.ManifestDigest, p.Optional["env"]));
    }

    [Theory]
    [InlineData("{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "\"},\"type\":\"cosign container image signature\",\"extra\":1},\"optional\":null}", "unexpected field \"extra\"")]
    [InlineData("{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "\"},\"type\":\"atomic container signature\"},\"optional\":null}", "critical.type")]
    [InlineData("{\"critical\":{\"identity\":{\"docker-reference\":\"a\"},\"image\":{\"docker-manifest-digest\":\"sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "\"},\"type\":\"cosign container image signature\"},\"optional\":{\"timestamp\":1.5}}", "optional.timestamp")]
    public void Payload_is_read_strictly_as_containers_image_reads_it(string json, string error)
    {
        var e = Assert.Throws<SupplyException>(() => SimpleSigningPayload.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(error, e.Message);
    }

    [Fact]
    public void Signature_verifies_with_its_key_for_its_digest_only()
    {
        using var key = SigningKey.GenerateEcdsaP256();
        using var stranger = SigningKey.GenerateEcdsaP256();
        var sig = Signed(key, Image);
        var ok = SigstoreVerifier.Verify([sig], Image, WithKey(key));
        Assert.Equal("127.0.0.1:5000/app:v1", Assert.Single(ok.Verified).DockerReference);
        var wrongDigest = SigstoreVerifier.Verify([sig], Other, WithKey(key));
        Assert.False(wrongDigest.Any);
        Assert.Contains($"the payload signs manifest {Image}, not {Other}", wrongDigest.Reason);
        var wrongKey = SigstoreVerifier.Verify([sig], Image, WithKey(stranger));
        Assert.Contains("does not verify with the public key", wrongKey.Reason);
        // Any one of several keys is enough (policy.json keyPaths).
        var either = SigstoreVerifier.Verify([sig], Image, new SigstoreRequirement([Encoding.UTF8.GetBytes(stranger.Public.ToPem()), Encoding.UTF8.GetBytes(key.Public.ToPem())]));
        Assert.True(either.Any);
    }

    [Fact]
    public void Ed25519_signature_made_by_node_verifies_with_its_public_key()
    {
        var payload = SimpleSigningPayload.Create(Image, "r.test/app:v1", null);
        var dir = Directory.CreateTempSubdirectory("berth-ed25519-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "payload"), payload);
            var script = "const c=require('crypto'),fs=require('fs');const {publicKey,privateKey}=c.generateKeyPairSync('ed25519');" +
                "fs.writeFileSync('pub.pem',publicKey.export({format:'pem',type:'spki'}));" +
                "process.stdout.write(c.sign(null,fs.readFileSync('payload'),privateKey).toString('base64'))";
            var (code, sig, err) = TestRoot.Run("node", ["-e", script], cwd: dir);
            Assert.True(code == 0, err);
            var req = new SigstoreRequirement([File.ReadAllBytes(Path.Combine(dir, "pub.pem"))]);
            var attachment = new SignatureAttachment(payload, new Dictionary<string, string> { [CosignAttachments.SignatureAnnotation] = sig });
            Assert.True(SigstoreVerifier.Verify([attachment], Image, req).Any);
            var flipped = Convert.FromBase64String(sig);
            flipped[0] ^= 1;
            Assert.False(SigstoreVerifier.Verify([attachment with { Annotations = new Dictionary<string, string> { [CosignAttachments.SignatureAnnotation] = Convert.ToBase64String(flipped) } }], Image, req).Any);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_payload_changed_after_signing_is_refused()
    {
        using var key = SigningKey.GenerateEcdsaP256();
        var sig = Signed(key, Image);
        var forged = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(sig.Payload).Replace(Image.ToString(), Other.ToString()));
        var r = SigstoreVerifier.Verify([sig with { Payload = forged }], Other, WithKey(key));
        Assert.False(r.Any);
        Assert.Equal("signature 1: the signature does not verify with the public key", Assert.Single(r.Failures));
    }

    [Fact]
    public void Dsse_pae_is_the_specs()
    {
        Assert.Equal("DSSEv1 29 http://example.com/HelloWorld 11 hello world", Encoding.UTF8.GetString(DsseEnvelope.Pae("http://example.com/HelloWorld", "hello world"u8)));
        using var key = SigningKey.GenerateEcdsaP256();
        var env = DsseEnvelope.Sign("t", "p"u8.ToArray(), key);
        var back = DsseEnvelope.Parse(env.ToJson());
        Assert.True(back.VerifiedBy(key.Public));
        Assert.False((back with { PayloadType = "u" }).VerifiedBy(key.Public));
    }

    [Fact]
    public void Canonical_json_sorts_members_and_drops_whitespace()
    {
        Assert.Equal("{\"a\":[1,\"x\\n\"],\"b\":{\"c\":true,\"d\":null},\"e\":1.5}", Encoding.UTF8.GetString(CanonicalJson.Transform("{ \"e\": 1.5, \"b\": {\"d\": null, \"c\": true}, \"a\": [1.0, \"x\\n\"] }"u8)));
    }

    [Fact]
    public void Inclusion_proofs_of_every_leaf_lead_to_the_root()
    {
        for (int size = 1; size <= 9; size++)
        {
            var leaves = Enumerable.Range(0, size).Select(i => Encoding.UTF8.GetBytes($"leaf {i}")).ToList();
            var root = TestSigstore.TreeHash(leaves);
            for (int m = 0; m < size; m++)
                Assert.Equal(root, Merkle.RootFromInclusionProof(m, size, Merkle.LeafHash(leaves[m]), TestSigstore.InclusionPath(m, leaves)));
            if (size > 1)
                Assert.NotEqual(root, Merkle.RootFromInclusionProof(0, size, Merkle.LeafHash("forged"u8), TestSigstore.InclusionPath(0, leaves)));
        }
    }

    static byte[] Payload => SimpleSigningPayload.Create(Image, "r.test/app:v1", null);

    static SigstoreRequirement Keyless(TestSigstore s, string identity = TestSigstore.Identity, string issuer = TestSigstore.Issuer) =>
        new([], new FulcioRequirement([Encoding.UTF8.GetBytes(TestSigstore.Pem(s.Root) + TestSigstore.Pem(s.Intermediate))], issuer, identity), null, s.Trusted());

    [Fact]
    public void Keyless_signature_verifies_offline_against_the_trusted_root()
    {
        using var s = new TestSigstore();
        var r = SigstoreVerifier.Verify([s.KeylessSignature(Payload)], Image, Keyless(s));
        Assert.True(r.Any, r.Reason);
        // And with Fulcio's CA and Rekor's key given as policy.json gives them (no CT logs then).
        var policy = new SigstoreRequirement([], new FulcioRequirement([Encoding.UTF8.GetBytes(TestSigstore.Pem(s.Root) + TestSigstore.Pem(s.Intermediate))], TestSigstore.Issuer, TestSigstore.Identity),
            [Encoding.UTF8.GetBytes(s.Rekor.ExportSubjectPublicKeyInfoPem())]);
        Assert.True(SigstoreVerifier.Verify([s.KeylessSignature(Payload)], Image, policy).Any);
    }

    [Fact]
    public void Keyless_signature_of_another_identity_or_issuer_is_refused_naming_both()
    {
        using var s = new TestSigstore();
        var who = SigstoreVerifier.Verify([s.KeylessSignature(Payload, identity: "mallory@example.test")], Image, Keyless(s));
        Assert.Contains("identity \"mallory@example.test\", required \"signer@example.test\"", who.Reason);
        var where = SigstoreVerifier.Verify([s.KeylessSignature(Payload, issuer: "https://evil.test")], Image, Keyless(s));
        Assert.Contains("OIDC issuer \"https://evil.test\", required \"https://issuer.test\"", where.Reason);
    }

    [Fact]
    public void Keyless_signature_needs_a_valid_set_a_trusted_sct_and_a_cert_valid_when_logged()
    {
        using var s = new TestSigstore();
        var good = s.KeylessSignature(Payload);
        var set = good.Annotations[CosignAttachments.BundleAnnotation];
        // The SET's time moved: its signature no longer verifies.
        var moved = new Dictionary<string, string>(good.Annotations) { [CosignAttachments.BundleAnnotation] = set.Replace($"\"integratedTime\":{s.Now.ToUnixTimeSeconds()}", $"\"integratedTime\":{s.Now.ToUnixTimeSeconds() + 1}") };
        Assert.Contains("signed entry timestamp does not verify", SigstoreVerifier.Verify([good with { Annotations = moved }], Image, Keyless(s)).Reason);
        // Logged an hour after the 10-minute certificate expired.
        var late = s.KeylessSignature(Payload, integratedTime: s.Now.AddHours(1).ToUnixTimeSeconds());
        Assert.Contains("does not chain to the trusted Fulcio CA", SigstoreVerifier.Verify([late], Image, Keyless(s)).Reason);
        // An SCT from a CT log the root does not trust.
        using var rogueLog = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Contains("SCTs verifies with a trusted CT log key", SigstoreVerifier.Verify([s.KeylessSignature(Payload, sctBy: rogueLog)], Image, Keyless(s)).Reason);
        // A certificate another CA issued, logged in our Rekor.
        using var other = new TestSigstore();
        Assert.Contains("does not chain to the trusted Fulcio CA", SigstoreVerifier.Verify([s.KeylessSignature(Payload, ca: other.Intermediate)], Image, Keyless(s)).Reason);
    }

    [Fact]
    public void Keyless_bundle_with_an_inclusion_proof_and_checkpoint_verifies_and_a_wrong_proof_does_not()
    {
        using var s = new TestSigstore();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = s.Leaf(key);
        var manifestDigest = SHA256.HashData(Payload);
        var image = new Digest("sha256", Convert.ToHexStringLower(manifestDigest));
        var sig = key.SignHash(manifestDigest, DSASignatureFormat.Rfc3279DerSequence);
        var body = RekorSet.HashedRekordBody(Encoding.UTF8.GetBytes(TestSigstore.Pem(leaf)), sig, manifestDigest);
        var leaves = new List<byte[]> { "e0"u8.ToArray(), "e1"u8.ToArray(), body, "e3"u8.ToArray(), "e4"u8.ToArray() };
        var root = TestSigstore.TreeHash(leaves);
        SigstoreBundle Bundle(IReadOnlyList<byte[]> path, string checkpoint) => new(null, leaf.RawData, ("SHA2_256", manifestDigest, sig), null,
            [new TlogEntry(2, s.RekorLogId, s.Now.ToUnixTimeSeconds(), body, null, new InclusionProof(2, 5, root, path, checkpoint))]);
        var fulcio = new FulcioChecker([s.Intermediate, s.Root], TestSigstore.Issuer, TestSigstore.Identity, s.Trusted().CtLogs);
        var good = SigstoreBundle.Parse(Bundle(TestSigstore.InclusionPath(2, leaves), s.Checkpoint(5, root)).ToJson());
        Assert.Null(good.Verify(image, null, fulcio, s.Trusted().TransparencyLogs));
        var wrongPath = TestSigstore.InclusionPath(1, leaves);
        Assert.Contains("inclusion proof does not lead", Assert.Throws<SupplyException>(() => Bundle(wrongPath, s.Checkpoint(5, root)).Verify(image, null, fulcio, s.Trusted().TransparencyLogs)).Message);
        using var rogue = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Contains("checkpoint: no signature verifies", Assert.Throws<SupplyException>(() => Bundle(TestSigstore.InclusionPath(2, leaves), s.Checkpoint(5, root, rogue)).Verify(image, null, fulcio, s.Trusted().TransparencyLogs)).Message);
    }

    [Fact]
    public void Keyless_dsse_bundle_with_a_set_verifies_and_an_entry_for_another_payload_does_not()
    {
        using var s = new TestSigstore();
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = s.Leaf(ec);
        var statement = new InTotoStatement([("r.test/app", Image)], PredicateTypes.CosignSign, "{}").ToJson();
        var env = new DsseEnvelope(InTotoStatement.PayloadType, statement,
            [("", ec.SignData(DsseEnvelope.Pae(InTotoStatement.PayloadType, statement), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence))]);
        byte[] Body(byte[] payload) => Encoding.UTF8.GetBytes("{\"apiVersion\":\"0.0.1\",\"kind\":\"dsse\",\"spec\":{\"payloadHash\":{\"algorithm\":\"sha256\",\"value\":\"" +
            Convert.ToHexStringLower(SHA256.HashData(payload)) + "\"},\"signatures\":[{\"signature\":\"" + Convert.ToBase64String(env.Signatures[0].Sig) +
            "\",\"verifier\":\"" + Convert.ToBase64String(Encoding.UTF8.GetBytes(TestSigstore.Pem(leaf))) + "\"}]}}");
        SigstoreBundle Bundle(byte[] body)
        {
            long t = s.Now.ToUnixTimeSeconds();
            var set = System.Text.Json.JsonDocument.Parse(s.RekorSet(body, t, 7)).RootElement.GetProperty("SignedEntryTimestamp").GetBytesFromBase64();
            return new SigstoreBundle(null, leaf.RawData, null, env, [new TlogEntry(7, s.RekorLogId, t, body, set, null, "dsse", "0.0.1")]);
        }
        var fulcio = new FulcioChecker([s.Intermediate, s.Root], TestSigstore.Issuer, TestSigstore.Identity, s.Trusted().CtLogs);
        var st = SigstoreBundle.Parse(Bundle(Body(statement)).ToJson()).Verify(Image, null, fulcio, s.Trusted().TransparencyLogs);
        Assert.Equal(PredicateTypes.CosignSign, st!.PredicateType);
        Assert.Contains("payload hash is not this envelope's", Assert.Throws<SupplyException>(() => Bundle(Body("other"u8.ToArray())).Verify(Image, null, fulcio, s.Trusted().TransparencyLogs)).Message);
    }

    [Fact]
    public void Trusted_root_json_is_read_with_its_logs_and_cas()
    {
        using var s = new TestSigstore();
        var root = s.Trusted();
        Assert.Equal(s.RekorLogId, Assert.Single(root.TransparencyLogs).LogId);
        Assert.Equal(s.CtLogId, Assert.Single(root.CtLogs).LogId);
        Assert.Equal(2, Assert.Single(root.CertificateAuthorities).Chain.Count);
        Assert.Contains("not a sigstore trusted root", Assert.Throws<SupplyException>(() => TrustedRoot.Parse("{\"mediaType\":\"application/json\"}"u8)).Message);
    }

    static string Provenance(string builder = "https://ci.test/builder@v1", string git = "git+https://github.com/org/app@refs/heads/main") =>
        Encoding.UTF8.GetString(ProvenanceBuilder.Create(ProvenanceBuilder.BerthBuildType,
            new ExternalParameters("FROM busybox\n", new Dictionary<string, string> { ["V"] = "1" }),
            new ResolvedDependencies([("pkg:docker/busybox@latest", Image)], (git, "0123456789abcdef0123456789abcdef01234567")),
            builder, DateTimeOffset.FromUnixTimeSeconds(1000), DateTimeOffset.FromUnixTimeSeconds(2000)));

    [Fact]
    public void Provenance_passes_for_its_builder_and_source_and_fails_when_one_field_changes()
    {
        var r = ProvenanceVerifier.Check(Provenance(), "https://ci.test/builder", "github.com/org/app");
        Assert.Equal(("https://ci.test/builder@v1", "git+https://github.com/org/app@refs/heads/main"), (r.BuilderId, r.SourceUri));
        Assert.Contains("builder id \"https://ci.test/other@v1\"", Assert.Throws<SupplyException>(() => ProvenanceVerifier.Check(Provenance(builder: "https://ci.test/other@v1"), "https://ci.test/builder", "github.com/org/app")).Message);
        Assert.Contains("source \"git+https://github.com/org/fork@refs/heads/main\"", Assert.Throws<SupplyException>(() => ProvenanceVerifier.Check(Provenance(git: "git+https://github.com/org/fork@refs/heads/main"), "https://ci.test/builder", "github.com/org/app")).Message);
        // An expected id with a version matches that version only.
        Assert.Throws<SupplyException>(() => ProvenanceVerifier.Check(Provenance(), "https://ci.test/builder@v2", "github.com/org/app"));
    }
}
