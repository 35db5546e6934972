using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Oci.Image;
using Berth.Registry.Tests.Cli;
using Berth.Registry.Tests.Fixtures;
using Berth.Supply.Provenance;
using Berth.Supply.Signing;
using Xunit;

namespace Berth.Supply.Tests.Signing;

/// <summary>
/// `berth key generate`, `image sign|verify|attest|verify-attestation|download-attestation` and
/// `verify-provenance` through the binary, against Debian's docker-registry, with the field's tools
/// as peers: skopeo (which carries the signatures as containers/image reads and writes them),
/// openssl, node's crypto with tweetnacl, and npm's @sigstore/verify.
/// </summary>
public sealed class SignCliTests(PlainRegistry registry) : IClassFixture<PlainRegistry>, IDisposable
{
    readonly BerthCli _cli = new();
    const string Passphrase = "s3cret passphrase";

    static string Repo(string name) => $"sign/{name}-{Guid.NewGuid():N}"[..32].TrimEnd('-');

    string Ref(string repo, string tag) => $"docker://{registry.Host}/{repo}:{tag}";

    string PassFile
    {
        get
        {
            var p = Path.Combine(_cli.Dir, "pass");
            if (!File.Exists(p)) File.WriteAllText(p, Passphrase + "\n");
            return p;
        }
    }

    /// <summary>A key pair berth generated: PREFIX.key, PREFIX.pub.</summary>
    string Keys(string name = "cosign")
    {
        var prefix = Path.Combine(_cli.Dir, name);
        _cli.Run("key", "generate", "--output-prefix", prefix, "--passphrase-file", PassFile).Ok();
        return prefix;
    }

    Result Image(string sub, params string[] args) => _cli.Image(sub, ["--tls-verify=false", "--passphrase-file", PassFile, .. args]);

    async Task<TestImage> Push(string repo, string tag, int seed)
    {
        var image = new TestImage(layers: 1, layerBytes: 1000, seed: seed);
        using var client = registry.Client();
        await image.PushAsync(client, repo, tag);
        return image;
    }

    static (int Code, string Out, string Err) Node(params string[] args) => TestRoot.Run("node", args, cwd: TestRoot.NodeDir());

    [Fact]
    public void Key_generate_writes_cosigns_formats_that_node_opens_and_openssl_checks()
    {
        var k = Keys();
        Assert.StartsWith("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", File.ReadAllText(k + ".key"));
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----\n", File.ReadAllText(k + ".pub"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(k + ".key"));
        // An independent implementation of the envelope (node's scrypt, tweetnacl's secretbox) opens it and signs; openssl verifies with berth's .pub.
        var msg = Path.Combine(_cli.Dir, "msg");
        File.WriteAllText(msg, "payload");
        var (code, sig, err) = Node(Path.Combine(TestRoot.NodeDir(), "cosign-key.mjs"), "sign", k + ".key", Passphrase, msg);
        Assert.True(code == 0, err);
        File.WriteAllBytes(msg + ".sig", Convert.FromBase64String(sig));
        var ssl = TestRoot.Run("openssl", ["dgst", "-sha256", "-verify", k + ".pub", "-signature", msg + ".sig", msg]);
        Assert.True(ssl.Code == 0 && ssl.Out.Contains("Verified OK"), ssl.Out + ssl.Err);
        // Never over an existing key.
        BerthCli.OneLineError(_cli.Run("key", "generate", "--output-prefix", k, "--passphrase-file", PassFile), "already exists");
    }

    [Fact]
    public async Task Cosign_password_from_the_environment_generates_and_signs()
    {
        var prefix = Path.Combine(_cli.Dir, "env");
        var env = new Dictionary<string, string?> { ["COSIGN_PASSWORD"] = "from-env", ["HOME"] = _cli.Home, ["CONTAINERS_REGISTRIES_CONF"] = _cli.RegistriesConf };
        Commands.ExecWithEnv(env, Commands.Binary, "key", "generate", "--output-prefix", prefix).Ok();
        var repo = Repo("env");
        await Push(repo, "v1", 14);
        Commands.ExecWithEnv(env, Commands.Binary, "image", "sign", "--store", _cli.Store, "--tls-verify=false", "--key", prefix + ".key", Ref(repo, "v1")).Ok();
        _cli.Image("verify", "--tls-verify=false", "--key", prefix + ".pub", Ref(repo, "v1")).Ok();
        // No passphrase anywhere and no terminal: one line, nothing signed.
        var none = new Dictionary<string, string?>(env) { ["COSIGN_PASSWORD"] = null };
        BerthCli.OneLineError(Commands.ExecWithEnv(none, Commands.Binary, "image", "sign", "--store", _cli.Store, "--tls-verify=false", "--key", prefix + ".key", Ref(repo, "v1")),
            "no passphrase: give --passphrase-file or COSIGN_PASSWORD");
    }

    [Fact]
    public async Task Image_signed_with_a_key_node_wrote_verifies_and_the_signature_is_plain_ecdsa_over_the_payload()
    {
        var prefix = Path.Combine(_cli.Dir, "node");
        var (code, _, err) = Node(Path.Combine(TestRoot.NodeDir(), "cosign-key.mjs"), "generate", prefix, Passphrase);
        Assert.True(code == 0, err);
        var repo = Repo("nodekey");
        var image = await Push(repo, "v1", 1);
        Image("sign", "--key", prefix + ".key", Ref(repo, "v1")).Ok();
        var verified = Image("verify", "--key", prefix + ".pub", Ref(repo, "v1")).Ok();
        var payload = BerthCli.Json(verified.Stdout)[0];
        Assert.Equal(image.Digest.ToString(), payload.GetProperty("critical").GetProperty("image").GetProperty("docker-manifest-digest").GetString());
        Assert.Equal($"{registry.Host}/{repo}:v1", payload.GetProperty("critical").GetProperty("identity").GetProperty("docker-reference").GetString());

        // The stored form: the .sig tag's layer is the payload, its annotation the base64 DER signature; openssl agrees.
        using var client = registry.Client();
        var sigTag = await client.GetManifestAsync(repo, $"sha256-{image.Digest.Encoded}.sig");
        using var doc = JsonDocument.Parse(sigTag.Bytes);
        var layer = doc.RootElement.GetProperty("layers")[0];
        Assert.Equal("application/vnd.dev.cosign.simplesigning.v1+json", layer.GetProperty("mediaType").GetString());
        var bytes = await client.GetBlobBytesAsync(repo, Descriptor.Read(new Oci.Json.JsonIn(layer, "layer")));
        var file = Path.Combine(_cli.Dir, "payload");
        File.WriteAllBytes(file, bytes);
        File.WriteAllBytes(file + ".sig", Convert.FromBase64String(layer.GetProperty("annotations").GetProperty("dev.cosignproject.cosign/signature").GetString()!));
        var ssl = TestRoot.Run("openssl", ["dgst", "-sha256", "-verify", prefix + ".pub", "-signature", file + ".sig", file]);
        Assert.True(ssl.Code == 0, ssl.Out + ssl.Err);
    }

    [Fact]
    public async Task Signed_image_verifies_from_a_second_store_and_not_once_its_tag_names_another_digest()
    {
        var k = Keys();
        var repo = Repo("swap");
        var signed = await Push(repo, "v1", 2);
        Image("sign", "--key", k + ".key", "-a", "env=prod", Ref(repo, "v1")).Ok();
        Image("sign", "--key", k + ".key", Ref(repo, "v1")).Ok();
        using var second = new BerthCli();
        second.Image("verify", "--tls-verify=false", "--key", k + ".pub", Ref(repo, "v1")).Ok();
        second.Image("verify", "--tls-verify=false", "--key", k + ".pub", "-a", "env=prod", Ref(repo, "v1")).Ok();
        BerthCli.OneLineError(second.Image("verify", "--tls-verify=false", "--key", k + ".pub", "-a", "env=dev", Ref(repo, "v1")), "image verify", "lacks the annotation env=dev");
        // Another key's signature is not these.
        var stranger = Keys("stranger");
        BerthCli.OneLineError(second.Image("verify", "--tls-verify=false", "--key", stranger + ".pub", Ref(repo, "v1")), "does not verify with the public key");

        // The tag moves to another image: it has no signature.
        var other = await Push(repo, "v1", 3);
        BerthCli.OneLineError(second.Image("verify", "--tls-verify=false", "--key", k + ".pub", Ref(repo, "v1")), "no valid signature (none attached)");
        // Copying the signatures over to the new digest does not help: they sign the old one.
        using var client = registry.Client();
        var first = signed.Digest;
        var sigs = await client.GetManifestAsync(repo, $"sha256-{first.Encoded}.sig");
        await client.PutManifestAsync(repo, $"sha256-{other.Digest.Encoded}.sig", sigs.Bytes, sigs.MediaType);
        BerthCli.OneLineError(second.Image("verify", "--tls-verify=false", "--key", k + ".pub", Ref(repo, "v1")), $"the payload signs manifest {first}, not {other.Digest}");
    }

    [Fact]
    public async Task Skopeo_carries_berths_signatures_to_another_repository_where_berth_verifies_them()
    {
        var k = Keys();
        var repo = Repo("promote");
        var dest = Repo("prod");
        var image = await Push(repo, "v1", 4);
        // Signed in staging for its production name (skopeo's --sign-identity).
        Image("sign", "--key", k + ".key", "--sign-identity", $"{registry.Host}/{dest}:v1", Ref(repo, "v1")).Ok();
        var regd = Path.Combine(_cli.Dir, "registries.d");
        Directory.CreateDirectory(regd);
        File.WriteAllText(Path.Combine(regd, "default.yaml"), $"docker:\n  {registry.Host}:\n    use-sigstore-attachments: true\n");
        var policy = Path.Combine(_cli.Dir, "policy.json");
        File.WriteAllText(policy, """{"default":[{"type":"insecureAcceptAnything"}]}""");
        var copy = _cli.Exec("skopeo", "--policy", policy, "--registries.d", regd, "copy", "--src-tls-verify=false", "--dest-tls-verify=false", Ref(repo, "v1"), Ref(dest, "v1"));
        Assert.True(copy.ExitCode == 0, copy.Stderr);
        Assert.Contains("Storing signatures", copy.Stdout + copy.Stderr);
        var v = Image("verify", "--key", k + ".pub", Ref(dest, "v1")).Ok();
        Assert.Contains(image.Digest.ToString(), v.Stdout);
        // Verified where it was signed, the identity names the other repository: refused there.
        BerthCli.OneLineError(Image("verify", "--key", k + ".pub", Ref(repo, "v1")), $"names {registry.Host}/{dest}:v1, not {registry.Host}/{repo}");
    }

    /// <summary>
    /// skopeo's own sigstoreSigned policy over a Berth-signed image, and over a tampered one (the tag
    /// moved, the old signatures copied to the new digest). Debian's skopeo 1.9 is built with sigstore
    /// stubbed out: it then refuses both with exactly "Debian-local change: sigstore disabled", which
    /// is asserted instead (README says so); a skopeo with sigstore must accept the first and refuse the second.
    /// </summary>
    [Fact]
    public async Task Skopeo_policy_accepts_a_berth_signed_image_and_refuses_a_tampered_one_where_its_sigstore_is_built_in()
    {
        var k = Keys();
        var repo = Repo("policy");
        var signed = await Push(repo, "v1", 12);
        Image("sign", "--key", k + ".key", Ref(repo, "v1")).Ok();
        var regd = Path.Combine(_cli.Dir, "registries.d");
        Directory.CreateDirectory(regd);
        File.WriteAllText(Path.Combine(regd, "default.yaml"), $"docker:\n  {registry.Host}:\n    use-sigstore-attachments: true\n");
        var policy = Path.Combine(_cli.Dir, "policy.json");
        File.WriteAllText(policy, "{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{\"" + registry.Host +
            "\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"" + k + ".pub\",\"signedIdentity\":{\"type\":\"matchRepoDigestOrExact\"}}]},\"oci\":{\"\":[{\"type\":\"insecureAcceptAnything\"}]}}}");
        Result Pull(string name) => _cli.Exec("skopeo", "--policy", policy, "--registries.d", regd, "copy", "--src-tls-verify=false", Ref(repo, "v1"), $"oci:{Path.Combine(_cli.Dir, name)}:x");
        var good = Pull("good");
        if (good.Stderr.Contains("Debian-local change: sigstore disabled"))
        {
            Assert.NotEqual(0, good.ExitCode);
            return;
        }
        Assert.True(good.ExitCode == 0, good.Stderr);
        var other = await Push(repo, "v1", 13);
        using var client = registry.Client();
        var sigs = await client.GetManifestAsync(repo, $"sha256-{signed.Digest.Encoded}.sig");
        await client.PutManifestAsync(repo, $"sha256-{other.Digest.Encoded}.sig", sigs.Bytes, sigs.MediaType);
        var bad = Pull("bad");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_cli.Dir, "bad", "blobs", "sha256", other.Digest.Encoded)));
    }

    [Fact]
    public async Task Bundle_berth_attaches_as_a_referrer_verifies_with_berth_and_with_sigstore_verify()
    {
        var k = Keys();
        var repo = Repo("bundle");
        var image = await Push(repo, "v1", 5);
        Image("sign", "--new-bundle-format", "--key", k + ".key", Ref(repo, "v1")).Ok();
        var v = Image("verify", "--key", k + ".pub", Ref(repo, "v1")).Ok();
        Assert.Contains("application/vnd.dev.sigstore.bundle.v0.3+json", v.Stdout);
        // The referrer, read back through the referrers API (or its tag schema), holds the bundle.
        using var client = registry.Client();
        var referrers = await client.GetReferrersAsync(repo, image.Digest, SigstoreBundle.MediaTypeV03);
        var m = await client.GetManifestAsync(repo, Assert.Single(referrers.Manifests).Digest!);
        using var doc = JsonDocument.Parse(m.Bytes);
        Assert.Equal(image.Digest.ToString(), doc.RootElement.GetProperty("subject").GetProperty("digest").GetString());
        var bundle = await client.GetBlobBytesAsync(repo, Descriptor.Read(new Oci.Json.JsonIn(doc.RootElement.GetProperty("layers")[0], "layer")));
        var file = Path.Combine(_cli.Dir, "bundle.json");
        File.WriteAllBytes(file, bundle);
        var (code, outText, err) = Node(Path.Combine(TestRoot.NodeDir(), "verify-bundle.mjs"), file, k + ".pub");
        Assert.True(code == 0, err);
        Assert.StartsWith("verified:", outText);
        // @sigstore/verify refuses it under another key: the peer's check can fail.
        var stranger = Keys("stranger");
        Assert.NotEqual(0, Node(Path.Combine(TestRoot.NodeDir(), "verify-bundle.mjs"), file, stranger + ".pub").Code);
    }

    [Fact]
    public async Task Attestations_round_trip_filtered_by_type_and_a_tampered_one_is_refused()
    {
        var k = Keys();
        var repo = Repo("attest");
        var image = await Push(repo, "v1", 6);
        var spdx = Path.Combine(_cli.Dir, "spdx.json");
        File.WriteAllText(spdx, """{"spdxVersion":"SPDX-2.3","name":"app"}""");
        var vex = Path.Combine(_cli.Dir, "vex.json");
        File.WriteAllText(vex, """{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}""");
        Image("attest", "--key", k + ".key", "--predicate", spdx, "--type", "spdx", Ref(repo, "v1")).Ok();
        Image("attest", "--key", k + ".key", "--predicate", vex, "--type", "openvex", Ref(repo, "v1")).Ok();

        var got = Image("verify-attestation", "--key", k + ".pub", "--type", "spdx", Ref(repo, "v1")).Ok().Stdout.Trim().Split('\n');
        var env = BerthCli.Json(Assert.Single(got));
        Assert.Equal("application/vnd.in-toto+json", env.GetProperty("payloadType").GetString());
        var statement = BerthCli.Json(Encoding.UTF8.GetString(Convert.FromBase64String(env.GetProperty("payload").GetString()!)));
        Assert.Equal("https://in-toto.io/Statement/v1", statement.GetProperty("_type").GetString());
        Assert.Equal("https://spdx.dev/Document", statement.GetProperty("predicateType").GetString());
        Assert.Equal("SPDX-2.3", statement.GetProperty("predicate").GetProperty("spdxVersion").GetString());
        Assert.Equal(image.Digest.Encoded, statement.GetProperty("subject")[0].GetProperty("digest").GetProperty("sha256").GetString());
        Assert.Equal(2, Image("download-attestation", Ref(repo, "v1")).Ok().Stdout.Trim().Split('\n').Length);
        BerthCli.OneLineError(Image("verify-attestation", "--key", k + ".pub", "--type", "cyclonedx", Ref(repo, "v1")), "no valid attestation of type https://cyclonedx.org/bom");

        // Stored as cosign stores them: the .att tag, DSSE layers with the predicateType annotation.
        using var client = registry.Client();
        var att = await client.GetManifestAsync(repo, $"sha256-{image.Digest.Encoded}.att");
        using var doc = JsonDocument.Parse(att.Bytes);
        var layers = doc.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.All(layers, l => Assert.Equal("application/vnd.dsse.envelope.v1+json", l.GetProperty("mediaType").GetString()));
        Assert.Equal(["https://spdx.dev/Document", "https://openvex.dev/ns"], layers.Select(l => l.GetProperty("annotations").GetProperty("predicateType").GetString()));

        // A statement swapped under the signature: the envelope no longer verifies.
        var envBytes = await client.GetBlobBytesAsync(repo, Descriptor.Read(new Oci.Json.JsonIn(layers[0], "layer")));
        var envDoc = BerthCli.Json(Encoding.UTF8.GetString(envBytes));
        var evil = Encoding.UTF8.GetString(Convert.FromBase64String(envDoc.GetProperty("payload").GetString()!)).Replace("SPDX-2.3", "SPDX-9.9");
        var tampered = Encoding.UTF8.GetString(envBytes).Replace(envDoc.GetProperty("payload").GetString()!, Convert.ToBase64String(Encoding.UTF8.GetBytes(evil)));
        var tamperedRepo = Repo("tampered");
        await image.PushAsync(client, tamperedRepo, "v1");
        var bytes = Encoding.UTF8.GetBytes(tampered);
        var d = new Digest("sha256", Convert.ToHexStringLower(SHA256.HashData(bytes)));
        await client.PushBlobAsync(tamperedRepo, d, bytes.Length, () => new MemoryStream(bytes));
        var cfgDigest = doc.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
        var cfg = await client.GetBlobBytesAsync(repo, Descriptor.Read(new Oci.Json.JsonIn(doc.RootElement.GetProperty("config"), "config")));
        await client.PushBlobAsync(tamperedRepo, Digest.Parse(cfgDigest), cfg.Length, () => new MemoryStream(cfg));
        var manifest = $"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{doc.RootElement.GetProperty("config").GetRawText()}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.dsse.envelope.v1+json\",\"digest\":\"{d}\",\"size\":{bytes.Length},\"annotations\":{{\"dev.cosignproject.cosign/signature\":\"\",\"predicateType\":\"https://spdx.dev/Document\"}}}}]}}";
        await client.PutManifestAsync(tamperedRepo, $"sha256-{image.Digest.Encoded}.att", Encoding.UTF8.GetBytes(manifest), "application/vnd.oci.image.manifest.v1+json");
        BerthCli.OneLineError(Image("verify-attestation", "--key", k + ".pub", Ref(tamperedRepo, "v1")), "the DSSE signature does not verify");
    }

    [Fact]
    public async Task Provenance_verifies_for_its_builder_and_source_and_fails_when_one_field_changes()
    {
        var k = Keys();
        var repo = Repo("prov");
        var image = await Push(repo, "v1", 7);
        var predicate = ProvenanceBuilder.Create(ProvenanceBuilder.BerthBuildType,
            new ExternalParameters("FROM scratch\nCOPY . /\n", new Dictionary<string, string> { ["VERSION"] = "1.0" }),
            new ResolvedDependencies([("pkg:docker/busybox@1.36", Digest.Parse("sha256:" + new string('c', 64)))], ("git+https://github.com/org/app@refs/heads/main", new string('d', 40))),
            "https://ci.test/builder@v1", DateTimeOffset.UtcNow.AddMinutes(-2), DateTimeOffset.UtcNow);
        var file = Path.Combine(_cli.Dir, "provenance.json");
        File.WriteAllBytes(file, predicate);
        Image("attest", "--key", k + ".key", "--predicate", file, "--type", "slsaprovenance", Ref(repo, "v1")).Ok();

        Result Verify(string key, string builder, string source) =>
            _cli.Run("verify-provenance", "--store", _cli.Store, "--tls-verify=false", Ref(repo, "v1"), "--key", key, "--builder-id", builder, "--source-uri", source);
        var ok = Verify(k + ".pub", "https://ci.test/builder", "github.com/org/app").Ok();
        Assert.Contains($"PASSED: SLSA provenance of {registry.Host}/{repo}:v1@{image.Digest}", ok.Stdout);
        BerthCli.OneLineError(Verify(k + ".pub", "https://ci.test/other", "github.com/org/app"), "verify-provenance", "builder id \"https://ci.test/builder@v1\", expected \"https://ci.test/other\"");
        BerthCli.OneLineError(Verify(k + ".pub", "https://ci.test/builder", "github.com/org/fork"), "source \"git+https://github.com/org/app@refs/heads/main\", expected \"github.com/org/fork\"");
        var stranger = Keys("stranger");
        BerthCli.OneLineError(Verify(stranger + ".pub", "https://ci.test/builder", "github.com/org/app"), "does not verify with the public key");
    }

    [Fact]
    public void Images_in_the_local_store_are_signed_and_verified_beside_their_name()
    {
        var k = Keys();
        var layout = Path.Combine(_cli.Dir, "layout");
        var image = new TestImage(layers: 1, layerBytes: 1000, seed: 8);
        image.WriteLayout(layout, "v1");
        _cli.Image("copy", $"oci:{layout}:v1", "localhost/app:v1").Ok();
        _cli.Image("sign", "--passphrase-file", PassFile, "--key", k + ".key", "localhost/app:v1").Ok();
        var v = _cli.Image("verify", "--key", k + ".pub", "localhost/app:v1").Ok();
        Assert.Contains("\"docker-reference\":\"localhost/app:v1\"", v.Stdout);
        Assert.Contains($"localhost/app:sha256-{image.Digest.Encoded}.sig", _cli.Image("ls").Ok().Stdout);
        // A bundle as one of the store's referrers: `image referrers` lists it, and gc keeps it with its subject.
        _cli.Image("sign", "--passphrase-file", PassFile, "--new-bundle-format", "--key", k + ".key", "localhost/app:v1").Ok();
        Assert.Contains("application/vnd.dev.sigstore.bundle.v0.3+json", _cli.Image("referrers", "localhost/app:v1").Ok().Stdout);
        _cli.Image("gc").Ok();
        Assert.Contains("application/vnd.dev.sigstore.bundle.v0.3+json", _cli.Image("verify", "--key", k + ".pub", "localhost/app:v1").Ok().Stdout);
        // Another name of the same repository, same digest: verified; a new image under the name: not.
        _cli.Image("tag", "localhost/app:v1", "localhost/app:v2").Ok();
        _cli.Image("verify", "--key", k + ".pub", "localhost/app:v2").Ok();
        var other = Path.Combine(_cli.Dir, "other");
        new TestImage(layers: 1, layerBytes: 1000, seed: 9).WriteLayout(other, "v1");
        _cli.Image("copy", $"oci:{other}:v1", "localhost/app:v1").Ok();
        BerthCli.OneLineError(_cli.Image("verify", "--key", k + ".pub", "localhost/app:v1"), "no valid signature");
    }

    [Fact]
    public async Task Keyless_signature_verifies_against_a_trusted_root_file_with_identity_and_issuer()
    {
        using var s = new TestSigstore();
        var repo = Repo("keyless");
        var image = await Push(repo, "v1", 10);
        using (var client = registry.Client())
        {
            var payload = SimpleSigningPayload.Create(image.Digest, $"{registry.Host}/{repo}:v1", null);
            CosignAttachments.Append(new RegistryPlace(client, repo), image.Digest, "sig", s.KeylessSignature(payload));
        }
        var root = Path.Combine(_cli.Dir, "trusted_root.json");
        File.WriteAllText(root, s.TrustedRootJson());
        Image("verify", "--trusted-root", root, "--certificate-identity", TestSigstore.Identity, "--certificate-oidc-issuer", TestSigstore.Issuer, Ref(repo, "v1")).Ok();
        BerthCli.OneLineError(Image("verify", "--trusted-root", root, "--certificate-identity", "other@example.test", "--certificate-oidc-issuer", TestSigstore.Issuer, Ref(repo, "v1")),
            "identity \"signer@example.test\", required \"other@example.test\"");
        BerthCli.OneLineError(Image("verify", "--trusted-root", root, Ref(repo, "v1")), "--certificate-identity is required");
    }

    [Fact]
    public async Task Bad_input_is_one_line_and_leaves_no_signature_behind()
    {
        var k = Keys();
        var repo = Repo("bad");
        var image = await Push(repo, "v1", 11);
        var wrong = Path.Combine(_cli.Dir, "wrong");
        File.WriteAllText(wrong, "not it\n");
        BerthCli.OneLineError(_cli.Image("sign", "--tls-verify=false", "--passphrase-file", wrong, "--key", k + ".key", Ref(repo, "v1")), "image sign", "wrong passphrase");
        BerthCli.OneLineError(Image("sign", "--key", Path.Combine(_cli.Dir, "missing.key"), Ref(repo, "v1")), "image sign", "missing.key");
        BerthCli.OneLineError(Image("sign", "--key", k + ".pub", Ref(repo, "v1")), "is not a private key");
        BerthCli.OneLineError(Image("sign", "--key", k + ".key", $"oci:{_cli.Dir}/nowhere:v1"), "signatures live beside images in a registry (docker://) or the store");
        BerthCli.OneLineError(Image("attest", "--key", k + ".key", "--predicate", wrong, "--type", "spdx", Ref(repo, "v1")), "predicate: not JSON");
        BerthCli.OneLineError(Image("attest", "--key", k + ".key", "--predicate", wrong, "--type", "nonsense", Ref(repo, "v1")), "--type: nonsense");
        using var client = registry.Client();
        Assert.Null(await client.HeadManifestAsync(repo, $"sha256-{image.Digest.Encoded}.sig"));
        Assert.Null(await client.HeadManifestAsync(repo, $"sha256-{image.Digest.Encoded}.att"));
    }

    public void Dispose() => _cli.Dispose();
}
