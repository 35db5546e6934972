using System.Text;
using Berth.Registry.Tests.Cli;
using Berth.Registry.Tests.Fixtures;
using Berth.Supply.Signing;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>
/// A registry, keys, and images signed as containers/image and cosign sign them (a simple-signing
/// payload, its ECDSA signature on a layer of the "sha256-HEX.sig" tag's manifest), made once for the
/// policy gate's tests and removed after them. Debian's skopeo verifies sigstore signatures but cannot
/// make them ("Debian-local change: sigstore disabled"), so the signatures are Berth.Supply.Signing's.
/// </summary>
public sealed class SignedImages : IDisposable
{
    public PlainRegistry Registry { get; } = new();
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-policy-").FullName;
    public string PublicKey => Path.Combine(Dir, "cosign.pub");
    public string OtherPublicKey => Path.Combine(Dir, "other.pub");
    /// <summary>registries.d: sigstore attachments on for every registry.</summary>
    public string Attachments => Path.Combine(Dir, "attachments.d");
    /// <summary>registries.d that leaves use-sigstore-attachments unset: no signature is read from a registry.</summary>
    public string NoAttachments => Path.Combine(Dir, "lookaside.d");

    /// <summary>HOST/REPO of an unsigned image, and of the same image signed as HOST/REPO:1 (also tagged :2, which its signature does not name).</summary>
    public string Unsigned { get; }
    public string Signed { get; }
    public string Digest { get; }

    /// <summary>HOST/REPO of the image skopeo signed with GPG (--sign-by) into the lookaside store <see cref="NoAttachments"/> names, and the keys.</summary>
    public string GpgSigned { get; }
    public string GpgPublicKey => Path.Combine(Dir, "gpg.pub");
    public string OtherGpgPublicKey => Path.Combine(Dir, "other-gpg.pub");
    public string Lookaside => Path.Combine(Dir, "lookaside");
    string GnupgHome => Path.Combine(Dir, "gnupg");

    public SignedImages()
    {
        try
        {
            Directory.CreateDirectory(Attachments);
            File.WriteAllText(Path.Combine(Attachments, "default.yaml"), "default-docker:\n  use-sigstore-attachments: true\n");
            Directory.CreateDirectory(NoAttachments);
            File.WriteAllText(Path.Combine(NoAttachments, "default.yaml"), $"default-docker:\n  lookaside: file://{Path.Combine(Dir, "lookaside")}\n");

            var image = new TestImage(layers: 1, layerBytes: 4096, seed: 1717);
            Digest = image.Digest.ToString();
            var host = Registry.Host;
            Unsigned = $"{host}/policy/unsigned";
            Signed = $"{host}/policy/signed";
            using var client = Registry.Client();
            foreach (var repo in new[] { "policy/unsigned", "policy/other", "policy/signed" })
                image.PushAsync(client, repo, "1").GetAwaiter().GetResult();
            client.PutManifestAsync("policy/signed", "2", image.Manifest, image.ManifestType).GetAwaiter().GetResult();
            using var key = SigningKey.GenerateEcdsaP256();
            File.WriteAllText(PublicKey, key.Public.ToPem());
            ImageSigner.Sign(new RegistryPlace(client, "policy/signed"), image.Digest, $"{Signed}:1", key, null);
            using var other = SigningKey.GenerateEcdsaP256();
            File.WriteAllText(OtherPublicKey, other.Public.ToPem());

            // GPG: skopeo signs (gpgme, a key without passphrase in a home of the test's) into the lookaside store.
            Directory.CreateDirectory(GnupgHome, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var fingerprint = NewGpgKey("Berth Policy Test <policy@example.com>", GpgPublicKey);
            NewGpgKey("Someone Else <else@example.com>", OtherGpgPublicKey);
            GpgSigned = $"{host}/policy/gpg";
            Commands.ExecWithEnv(new Dictionary<string, string?> { ["HOME"] = Dir, ["GNUPGHOME"] = GnupgHome }, "skopeo",
                "copy", "--insecure-policy", "--registries.d", NoAttachments, "--src-tls-verify=false", "--dest-tls-verify=false",
                "--sign-by", fingerprint, $"docker://{Unsigned}:1", $"docker://{GpgSigned}:1").Ok();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    string NewGpgKey(string uid, string exportTo)
    {
        var env = new Dictionary<string, string?> { ["GNUPGHOME"] = GnupgHome };
        Commands.ExecWithEnv(env, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never").Ok();
        var colons = Commands.ExecWithEnv(env, "gpg", "--batch", "--with-colons", "--list-keys", uid).Ok().Stdout;
        var fingerprint = colons.Split('\n').First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        File.WriteAllText(exportTo, Commands.ExecWithEnv(env, "gpg", "--batch", "--armor", "--export", fingerprint).Ok().Stdout);
        return fingerprint;
    }

    public Result Skopeo(params string[] args) => Commands.ExecWithEnv(new Dictionary<string, string?> { ["HOME"] = Dir }, "skopeo", args);

    /// <summary>A policy file of the test's.</summary>
    public string Policy(string json)
    {
        var path = Path.Combine(Dir, $"policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    public string GpgRequirement(string key, string identity = "") =>
        $$"""{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "{{key}}"{{(identity.Length > 0 ? ", \"signedIdentity\": " + identity : "")}}}""";

    public string KeyRequirement(string key, string identity = "") =>
        $$"""{"type": "sigstoreSigned", "keyPath": "{{key}}"{{(identity.Length > 0 ? ", \"signedIdentity\": " + identity : "")}}}""";

    public void Dispose()
    {
        // The agent gpgme started for the key's home, stopped through that home only.
        if (Directory.Exists(GnupgHome)) Commands.ExecWithEnv(new Dictionary<string, string?> { ["GNUPGHOME"] = GnupgHome }, "gpgconf", "--kill", "gpg-agent");
        Registry.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>The policy gate on `berth image pull`, `image copy` and `berth run`, against a real registry, and beside skopeo.</summary>
public sealed class PolicyGateTests(SignedImages images) : IClassFixture<SignedImages>
{
    string RequireSignature(string? key = null) => images.Policy($$"""
        {"default": [{"type": "reject"}],
         "transports": {"docker": {"{{images.Registry.Host}}/policy": [{{images.KeyRequirement(key ?? images.PublicKey)}}] } } }
        """);

    Result Pull(BerthCli cli, string policy, string reference, string? registriesD = null) =>
        cli.Image("pull", "--tls-verify=false", "--policy", policy, "--registries-d", registriesD ?? images.Attachments, reference);

    /// <summary>What a pull writes to the store: every blob (path and size) and index.json's bytes.</summary>
    static string StoreState(BerthCli cli)
    {
        var sb = new StringBuilder();
        var blobs = Path.Combine(cli.Store, "blobs");
        if (Directory.Exists(blobs))
            foreach (var f in Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                sb.Append(f).Append(' ').Append(new FileInfo(f).Length).Append('\n');
        var index = Path.Combine(cli.Store, "index.json");
        sb.Append(File.Exists(index) ? File.ReadAllText(index) : "no index");
        return sb.ToString();
    }

    [Fact]
    public void A_policy_requiring_a_signature_refuses_an_unsigned_image_and_writes_nothing()
    {
        using var cli = new BerthCli();
        var policy = RequireSignature();
        cli.Image("ls").Ok(); // the store exists, empty
        var before = StoreState(cli);
        var r = Pull(cli, policy, $"{images.Unsigned}:1");
        BerthCli.OneLineError(r, $"docker://{images.Unsigned}:1: policy: sigstoreSigned: no signature exists for {images.Digest}");
        Assert.Equal(before, StoreState(cli));
        Assert.DoesNotContain("policy/unsigned", cli.Image("ls").Ok().Stdout);
    }

    [Fact]
    public void An_image_skopeo_signed_with_the_policy_key_is_pulled()
    {
        using var cli = new BerthCli();
        var r = Pull(cli, RequireSignature(), $"{images.Signed}:1").Ok();
        Assert.Equal(images.Digest, r.Stdout.Trim());
        Assert.Contains($"{images.Signed}:1", cli.Image("ls").Ok().Stdout);
    }

    [Fact]
    public void A_signature_by_another_key_is_refused_with_the_reason()
    {
        using var cli = new BerthCli();
        var r = Pull(cli, RequireSignature(images.OtherPublicKey), $"{images.Signed}:1");
        BerthCli.OneLineError(r, "policy: sigstoreSigned: signature 1:", "does not verify with the public key");
        Assert.DoesNotContain("policy/signed", cli.Image("ls").Ok().Stdout);
    }

    [Fact]
    public void The_signed_identity_is_checked_against_the_tag_pulled()
    {
        using var cli = new BerthCli();
        // :2 is the signed manifest, but its signature names :1.
        BerthCli.OneLineError(Pull(cli, RequireSignature(), $"{images.Signed}:2"), $"signature for identity \"{images.Signed}:1\" is not accepted (matchRepoDigestOrExact)");
        var anyTag = images.Policy($$"""{"default": [{{images.KeyRequirement(images.PublicKey, """{"type": "matchRepository"}""")}}]}""");
        Pull(cli, anyTag, $"{images.Signed}:2").Ok();
        // By digest, any tag of the repository is accepted (matchRepoDigestOrExact).
        Pull(cli, RequireSignature(), $"{images.Signed}@{images.Digest}").Ok();
    }

    [Fact]
    public void Signatures_are_read_from_the_registry_only_where_registries_d_says_use_sigstore_attachments()
    {
        using var cli = new BerthCli();
        // Signed, but registries.d does not turn attachments on: none is read.
        BerthCli.OneLineError(Pull(cli, RequireSignature(), $"{images.Signed}:1", images.NoAttachments), "use-sigstore-attachments is not true");
        // With them on, the same image is admitted.
        Pull(cli, RequireSignature(), $"{images.Signed}:1", images.Attachments).Ok();
    }

    [Fact]
    public void Reject_insecure_accept_anything_and_the_most_specific_scope_decide_pulls()
    {
        using var cli = new BerthCli();
        var host = images.Registry.Host;
        var policy = images.Policy($$"""
            {"default": [{"type": "reject"}],
             "transports": {"docker": {
                "{{host}}/policy/unsigned:1": [{"type": "insecureAcceptAnything"}],
                "{{host}}/policy/unsigned": [{"type": "reject"}],
                "{{host}}/policy": [{{images.KeyRequirement(images.PublicKey)}}],
                "{{host}}": [{"type": "insecureAcceptAnything"}] } } }
            """);
        Pull(cli, policy, $"{images.Unsigned}:1").Ok();                                     // its tag's scope
        Pull(cli, policy, $"{images.Signed}:1").Ok();                                       // the namespace's, signed
        Pull(cli, policy, $"{host}/policy/other:1").Fails("policy: sigstoreSigned: no signature exists"); // the namespace's, unsigned
        var reject = images.Policy("""{"default": [{"type": "reject"}]}""");
        BerthCli.OneLineError(Pull(cli, reject, $"{images.Signed}:1"), $"policy: reject: running image docker://{images.Signed}:1 is rejected by policy");
        Pull(cli, images.Policy("""{"default": [{"type": "insecureAcceptAnything"}]}"""), $"{host}/policy/other:1").Ok();
        // --insecure-policy: no policy at all.
        cli.Image("pull", "--tls-verify=false", "--insecure-policy", $"{host}/policy/other:1").Ok();
    }

    [Fact]
    public void An_image_skopeo_signed_with_gpg_is_pulled_under_signedBy_and_a_tampered_signature_is_refused()
    {
        using var cli = new BerthCli();
        var policy = images.Policy($$"""{"default": [{{images.GpgRequirement(images.GpgPublicKey)}}]}""");
        Pull(cli, policy, $"{images.GpgSigned}:1", images.NoAttachments).Ok();
        var other = images.Policy($$"""{"default": [{{images.GpgRequirement(images.OtherGpgPublicKey)}}]}""");
        BerthCli.OneLineError(Pull(cli, other, $"{images.GpgSigned}:1", images.NoAttachments), "policy: signedBy: signature 1: signed by key", "which the policy does not trust");
        BerthCli.OneLineError(Pull(cli, policy, $"{images.Unsigned}:1", images.NoAttachments), $"policy: signedBy: no signature exists for {images.Digest}");

        // The same signature, one byte changed, in a lookaside store of its own.
        var original = Directory.EnumerateFiles(images.Lookaside, "signature-1", SearchOption.AllDirectories).Single();
        var tamperedStore = Path.Combine(cli.Dir, "tampered");
        var copy = Path.Combine(tamperedStore, Path.GetRelativePath(images.Lookaside, original));
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        var bytes = File.ReadAllBytes(original);
        bytes[^8] ^= 0x01;
        File.WriteAllBytes(copy, bytes);
        var rd = Path.Combine(cli.Dir, "tampered.d");
        Directory.CreateDirectory(rd);
        File.WriteAllText(Path.Combine(rd, "default.yaml"), $"default-docker:\n  lookaside: file://{tamperedStore}\n");
        using var fresh = new BerthCli();
        var r = Pull(fresh, policy, $"{images.GpgSigned}:1", rd);
        BerthCli.OneLineError(r, "policy: signedBy: signature 1:");
        Assert.DoesNotContain("policy/gpg", fresh.Image("ls").Ok().Stdout);
        var skopeo = images.Skopeo("--policy", policy, "--registries.d", rd, "copy", "--src-tls-verify=false", $"docker://{images.GpgSigned}:1", $"oci:{Path.Combine(cli.Dir, "skopeo")}:x");
        Assert.NotEqual(0, skopeo.ExitCode);
    }

    [Fact]
    public async Task An_image_berth_signed_is_pulled_and_the_tag_moved_to_an_unsigned_digest_is_refused()
    {
        using var cli = new BerthCli();
        var prefix = Path.Combine(cli.Dir, "berth-key");
        var pass = Path.Combine(cli.Dir, "pass");
        File.WriteAllText(pass, "berth-policy\n");
        cli.Run("key", "generate", "--output-prefix", prefix, "--passphrase-file", pass).Ok();
        var image = new TestImage(layers: 1, layerBytes: 2048, seed: 4242);
        using (var client = images.Registry.Client()) await image.PushAsync(client, "policy/berth-signed", "1");
        var reference = $"docker://{images.Registry.Host}/policy/berth-signed:1";
        cli.Image("sign", "--tls-verify=false", "--key", prefix + ".key", "--passphrase-file", pass, reference).Ok();

        var policy = RequireSignature(prefix + ".pub");
        Assert.Equal(image.Digest.ToString(), Pull(cli, policy, reference).Ok().Stdout.Trim());

        // The tag now names another manifest: the signature (of the old digest) does not cover it.
        var swapped = new TestImage(layers: 1, layerBytes: 2048, seed: 4343);
        using (var client = images.Registry.Client()) await swapped.PushAsync(client, "policy/berth-signed", "1");
        using var fresh = new BerthCli();
        BerthCli.OneLineError(Pull(fresh, policy, reference), $"policy: sigstoreSigned: no signature exists for {swapped.Digest}");
        Assert.DoesNotContain("berth-signed", fresh.Image("ls").Ok().Stdout);
    }

    [Fact]
    public async Task A_keyless_signature_is_admitted_by_fulcio_and_rekor_keys_and_only_for_its_identity()
    {
        using var sigstore = new Berth.Supply.Tests.Signing.TestSigstore();
        using var cli = new BerthCli();
        var image = new TestImage(layers: 1, layerBytes: 2048, seed: 5151);
        var repo = "policy/keyless";
        var reference = $"{images.Registry.Host}/{repo}:1";
        using (var client = images.Registry.Client())
        {
            await image.PushAsync(client, repo, "1");
            var payload = SimpleSigningPayload.Create(image.Digest, reference, null);
            CosignAttachments.Append(new RegistryPlace(client, repo), image.Digest, "sig", sigstore.KeylessSignature(payload));
        }
        var ca = Path.Combine(cli.Dir, "fulcio.pem");
        File.WriteAllText(ca, Berth.Supply.Tests.Signing.TestSigstore.Pem(sigstore.Root));
        var rekor = Path.Combine(cli.Dir, "rekor.pub");
        File.WriteAllText(rekor, sigstore.Rekor.ExportSubjectPublicKeyInfoPem() + "\n");
        string Keyless(string email) => images.Policy($$"""
            {"default": [{"type": "sigstoreSigned",
               "fulcio": {"caPath": "{{ca}}", "oidcIssuer": "{{Berth.Supply.Tests.Signing.TestSigstore.Issuer}}", "subjectEmail": "{{email}}"},
               "rekorPublicKeyPath": "{{rekor}}"}]}
            """);
        Assert.Equal(image.Digest.ToString(), Pull(cli, Keyless(Berth.Supply.Tests.Signing.TestSigstore.Identity), reference).Ok().Stdout.Trim());
        using var fresh = new BerthCli();
        BerthCli.OneLineError(Pull(fresh, Keyless("someone-else@example.test"), reference), "policy: sigstoreSigned: signature 1: signing certificate: identity", "required \"someone-else@example.test\"");
        Assert.DoesNotContain("policy/keyless", fresh.Image("ls").Ok().Stdout);
    }

    [Fact]
    public void Copy_is_gated_too_and_a_bad_policy_file_is_one_line_naming_the_field()
    {
        using var cli = new BerthCli();
        var layout = Path.Combine(cli.Dir, "layout");
        var r = cli.Image("copy", "--src-tls-verify=false", "--policy", RequireSignature(), "--registries-d", images.Attachments,
            $"docker://{images.Unsigned}:1", $"oci:{layout}:x");
        BerthCli.OneLineError(r, "policy: sigstoreSigned: no signature exists");
        Assert.False(File.Exists(Path.Combine(layout, "index.json")) && File.ReadAllText(Path.Combine(layout, "index.json")).Contains(images.Digest));
        cli.Image("copy", "--src-tls-verify=false", "--policy", RequireSignature(), "--registries-d", images.Attachments,
            $"docker://{images.Signed}:1", $"oci:{layout}:x").Ok();
        var bad = images.Policy("""{"default": [{"type": "sigstoreSigned", "keyPath": "/k", "keyPaht": "/k"}]}""");
        var e = cli.Image("pull", "--tls-verify=false", "--policy", bad, $"{images.Signed}:1");
        BerthCli.OneLineError(e, bad, "default[0].keyPaht is not a field of this object");
    }

    [Fact]
    public void Berth_run_honours_the_default_policy_file_in_home_and_refuses_an_unsigned_image()
    {
        using var cli = new BerthCli($"[[registry]]\nlocation = \"{images.Registry.Host}\"\ninsecure = true\n");
        var config = Path.Combine(cli.Home, ".config", "containers");
        Directory.CreateDirectory(Path.Combine(config, "registries.d"));
        File.Copy(RequireSignature(), Path.Combine(config, "policy.json"));
        File.Copy(Path.Combine(images.Attachments, "default.yaml"), Path.Combine(config, "registries.d", "default.yaml"));
        var engine = Path.Combine(cli.Dir, "engine");
        var r = cli.Run("--store", engine, "--root", Path.Combine(cli.Dir, "state"), "run", "--rm", "--pull", "always", $"{images.Unsigned}:1", "/bin/true");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"policy: sigstoreSigned: no signature exists for {images.Digest}", r.Stderr);
        Assert.DoesNotContain("policy/unsigned", cli.Run("--store", engine, "images").Stdout);
        // The same default policy admits the signed image (pull alone: the test image has no /bin/true to run).
        cli.Run("--store", engine, "pull", $"{images.Signed}:1").Ok();
    }

    /// <summary>Policy, image under policy/, whether it is to be admitted.</summary>
    public static TheoryData<string, string, bool> PeerCases => new()
    {
        { "reject", "unsigned:1", false },
        { "accept", "unsigned:1", true },
        { "key", "unsigned:1", false },
        { "key", "signed:1", true },
        { "key", "signed:2", false },
        { "other-key", "signed:1", false },
        { "repository", "signed:2", true },
        { "exact-reference", "signed:2", true },
        { "exact-reference-other", "signed:1", false },
        { "scopes", "unsigned:1", true },
        { "scopes", "other:1", false },
        { "scopes", "signed:1", true },
        { "no-attachments", "signed:1", false },
        { "gpg", "gpg:1", true },
        { "gpg", "unsigned:1", false },
        { "gpg-other-key", "gpg:1", false },
        { "gpg-repository", "gpg:1", true },
        { "gpg-exact-reference-other", "gpg:1", false },
    };

    /// <summary>
    /// The same policy file and registries.d, the same images: skopeo copy and berth image copy make
    /// the decision the table says. Debian's skopeo is built without sigstore verification: an image
    /// that has sigstore signatures it refuses with "Debian-local change: sigstore disabled" whatever
    /// the policy, so for those rows only Berth's decision is checked against the table (and the
    /// refusal is asserted to be that one, not another disagreement).
    /// </summary>
    [Theory]
    [MemberData(nameof(PeerCases))]
    public void Skopeo_and_berth_decide_alike(string policyName, string image, bool admitted)
    {
        var host = images.Registry.Host;
        var registriesD = policyName == "no-attachments" || policyName.StartsWith("gpg", StringComparison.Ordinal) ? images.NoAttachments : images.Attachments;
        var policy = images.Policy(policyName switch
        {
            "reject" => """{"default": [{"type": "reject"}]}""",
            "accept" => """{"default": [{"type": "insecureAcceptAnything"}]}""",
            "key" or "no-attachments" => $$"""{"default": [{{images.KeyRequirement(images.PublicKey)}}]}""",
            "other-key" => $$"""{"default": [{{images.KeyRequirement(images.OtherPublicKey)}}]}""",
            "repository" => $$"""{"default": [{{images.KeyRequirement(images.PublicKey, """{"type": "matchRepository"}""")}}]}""",
            "exact-reference" => $$"""{"default": [{{images.KeyRequirement(images.PublicKey, $$"""{"type": "exactReference", "dockerReference": "{{host}}/policy/signed:1"}""")}}]}""",
            "exact-reference-other" => $$"""{"default": [{{images.KeyRequirement(images.PublicKey, $$"""{"type": "exactReference", "dockerReference": "{{host}}/policy/signed:9"}""")}}]}""",
            "gpg" => $$"""{"default": [{{images.GpgRequirement(images.GpgPublicKey)}}]}""",
            "gpg-other-key" => $$"""{"default": [{{images.GpgRequirement(images.OtherGpgPublicKey)}}]}""",
            "gpg-repository" => $$"""{"default": [{{images.GpgRequirement(images.GpgPublicKey, $$"""{"type": "exactRepository", "dockerRepository": "{{host}}/policy/gpg"}""")}}]}""",
            "gpg-exact-reference-other" => $$"""{"default": [{{images.GpgRequirement(images.GpgPublicKey, $$"""{"type": "exactReference", "dockerReference": "{{host}}/policy/gpg:9"}""")}}]}""",
            _ => $$"""
                {"default": [{"type": "reject"}], "transports": {"docker": {
                   "{{host}}/policy/unsigned": [{"type": "insecureAcceptAnything"}],
                   "{{host}}/policy": [{{images.KeyRequirement(images.PublicKey)}}],
                   "{{host}}": [{"type": "insecureAcceptAnything"}] } } }
                """,
        });
        using var cli = new BerthCli();
        var source = $"docker://{host}/policy/{image}";
        // --remove-signatures: skopeo cannot write signatures to oci: (the policy is judged on the source all the same).
        var skopeo = images.Skopeo("--policy", policy, "--registries.d", registriesD, "copy", "--remove-signatures", "--src-tls-verify=false", source, $"oci:{Path.Combine(cli.Dir, "skopeo")}:x");
        var berth = cli.Image("copy", "--src-tls-verify=false", "--policy", policy, "--registries-d", registriesD, source, $"oci:{Path.Combine(cli.Dir, "berth")}:x");
        Assert.True(admitted == (berth.ExitCode == 0), $"berth: exit {berth.ExitCode} {berth.Stderr.Trim()}");
        if (!admitted) Assert.Contains("policy:", berth.Stderr);
        bool skopeoCannotVerify = skopeo.ExitCode != 0 && skopeo.Stderr.Contains("Debian-local change: sigstore disabled");
        if (skopeoCannotVerify) Assert.StartsWith("signed:", image);
        else Assert.True(admitted == (skopeo.ExitCode == 0), $"skopeo: exit {skopeo.ExitCode} {skopeo.Stderr.Trim()}");
    }

    public static TheoryData<string, string, bool> PodmanCases => new()
    {
        { "reject", "unsigned:1", false },
        { "accept", "unsigned:1", true },
        { "key", "unsigned:1", false },
        { "gpg", "gpg:1", true },
        { "gpg", "unsigned:1", false },
        { "gpg-other-key", "gpg:1", false },
    };

    /// <summary>
    /// podman pull (--signature-policy; registries.d from its $HOME, as podman finds it) and berth pull
    /// with the same default files in the same kind of home decide alike.
    /// </summary>
    [Theory]
    [MemberData(nameof(PodmanCases))]
    public void Podman_and_berth_pull_decide_alike(string policyName, string image, bool admitted)
    {
        var policy = images.Policy(policyName switch
        {
            "reject" => """{"default": [{"type": "reject"}]}""",
            "accept" => """{"default": [{"type": "insecureAcceptAnything"}]}""",
            "key" => $$"""{"default": [{{images.KeyRequirement(images.PublicKey)}}]}""",
            "gpg" => $$"""{"default": [{{images.GpgRequirement(images.GpgPublicKey)}}]}""",
            _ => $$"""{"default": [{{images.GpgRequirement(images.OtherGpgPublicKey)}}]}""",
        });
        using var cli = new BerthCli();
        var config = Path.Combine(cli.Home, ".config", "containers");
        Directory.CreateDirectory(Path.Combine(config, "registries.d"));
        File.Copy(policy, Path.Combine(config, "policy.json"));
        File.Copy(Path.Combine(policyName.StartsWith("gpg", StringComparison.Ordinal) ? images.NoAttachments : images.Attachments, "default.yaml"),
            Path.Combine(config, "registries.d", "default.yaml"));
        var reference = $"docker://{images.Registry.Host}/policy/{image}";
        var podman = cli.Exec("podman", "--root", Path.Combine(cli.Dir, "podman-root"), "--runroot", Path.Combine(cli.Dir, "podman-run"),
            "--storage-driver", "vfs", "--events-backend=file", "--cgroup-manager=cgroupfs", "pull", "--signature-policy", policy, "--tls-verify=false", reference);
        var berth = cli.Image("pull", "--tls-verify=false", reference);
        Assert.True(admitted == (podman.ExitCode == 0), $"podman: exit {podman.ExitCode} {podman.Stderr.Trim()}");
        if (!admitted) Assert.Contains("Source image rejected", podman.Stderr);
        Assert.True(admitted == (berth.ExitCode == 0), $"berth: exit {berth.ExitCode} {berth.Stderr.Trim()}");
        if (!admitted) Assert.Contains("policy:", berth.Stderr);
    }

    /// <summary>Policy files both refuse to load: each names the problem (Berth the field), neither copies.</summary>
    [Theory]
    [InlineData("""{"default": [{"type": "insecureAcceptAnything", "keyPath": "/k"}]}""", "keyPath")]
    [InlineData("""{"transports": {}}""", "default")]
    [InlineData("""{"default": []}""", "default")]
    [InlineData("""{"default": [{"type": "signedByAnyone"}]}""", "signedByAnyone")]
    [InlineData("""{"default": [{"type": "reject"}], "transports": {"dir": {"relative": [{"type": "reject"}]}}}""", "relative")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "keyData": "UEVN"}]}""", "keyPath")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "signedIdentity": {"type": "matchRepository", "extra": 1}}]}""", "extra")]
    public void Skopeo_and_berth_refuse_the_same_malformed_policies(string json, string named)
    {
        using var cli = new BerthCli();
        var policy = images.Policy(json);
        var source = $"docker://{images.Unsigned}:1";
        var skopeo = images.Skopeo("--policy", policy, "copy", "--src-tls-verify=false", source, $"oci:{Path.Combine(cli.Dir, "skopeo")}:x");
        Assert.True(skopeo.ExitCode != 0, "skopeo accepted the policy");
        var berth = cli.Image("copy", "--src-tls-verify=false", "--policy", policy, source, $"oci:{Path.Combine(cli.Dir, "berth")}:x");
        BerthCli.OneLineError(berth, policy, named);
        Assert.False(Directory.Exists(Path.Combine(cli.Dir, "berth")));
    }
}
