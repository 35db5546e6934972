using System.Text;
using Berth.Images;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Supply.Policy;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>containers-policy.json(5) as containers/image reads and applies it: fields, scopes, requirements, signed identities.</summary>
public sealed class PolicyTests : IDisposable
{
    readonly TestRoot _root = new();
    readonly ImageService _images;

    public PolicyTests() => _images = new ImageService(Path.Combine(_root.Path, "store"));

    public void Dispose() => _root.Dispose();

    SignaturePolicy Parse(string json) => SignaturePolicy.Parse(Encoding.UTF8.GetBytes(json), _images.Transports);

    string ParseError(string json) => Assert.Throws<SupplyException>(() => Parse(json)).Message;

    static readonly RawManifest Manifest = new(Encoding.UTF8.GetBytes("{\"schemaVersion\":2}"), MediaTypes.Manifest);

    sealed class FakeSource(ImageReference reference) : IImageSource
    {
        public ImageReference Reference => reference;
        public RawManifest GetManifest(Digest? instance = null) => Manifest;
        public Stream GetBlob(Descriptor blob) => throw new NotSupportedException();
        public bool HasBlob(Descriptor blob) => false;
        public Descriptor? Entry => null;
        public void Dispose() { }
    }

    /// <summary>Claims what a test says: signatures that verify (by the docker reference they claim) and ones that do not.</summary>
    sealed class FakeVerifier(int found, string[] signed, string[]? failures = null) : ISignatureVerifier
    {
        public SigstoreTrust? Trust;
        public SignatureCheck Verify(IImageSource source, Digest manifest, SigstoreTrust trust)
        {
            Trust = trust;
            return new SignatureCheck(found, signed, failures ?? []);
        }
    }

    static readonly RegistriesD Attachments = RegistriesD.Load("/nonexistent"); // replaced per test where it matters

    string? Check(SignaturePolicy policy, string reference, ISignatureVerifier? verifier = null, RegistriesD? registries = null)
    {
        var r = _images.Parse(reference);
        return policy.Check(new PolicyImage(r, new FakeSource(r), Manifest), new PolicyContext(registries ?? WithAttachments(), verifier));
    }

    RegistriesD WithAttachments()
    {
        var dir = Path.Combine(_root.Path, "registries.d");
        if (!Directory.Exists(dir)) _root.Write("registries.d/default.yaml", "default-docker:\n  use-sigstore-attachments: true\n");
        return RegistriesD.Load(dir);
    }

    static string KeyPolicy(string extra = "") =>
        "{\"default\": [{\"type\": \"reject\"}], \"transports\": {\"docker\": {\"\": [{\"type\": \"sigstoreSigned\", \"keyData\": \"" +
        Convert.ToBase64String(Encoding.UTF8.GetBytes("PEM")) + "\"" + extra + "}]}}}";

    [Fact]
    public void Insecure_accept_anything_accepts_and_reject_names_the_image()
    {
        Assert.Null(Check(Parse("""{"default": [{"type": "insecureAcceptAnything"}]}"""), "docker://example.com/a:1"));
        var why = Check(Parse("""{"default": [{"type": "reject"}]}"""), "docker://example.com/a:1");
        Assert.Equal("reject: running image docker://example.com/a:1 is rejected by policy", why);
    }

    [Fact]
    public void Every_requirement_of_the_list_must_accept()
    {
        var p = Parse("""{"default": [{"type": "insecureAcceptAnything"}, {"type": "reject"}]}""");
        Assert.StartsWith("reject:", Check(p, "docker://example.com/a:1"));
    }

    [Fact]
    public void The_most_specific_docker_scope_wins()
    {
        var p = Parse("""
            {"default": [{"type": "reject"}],
             "transports": {"docker": {
                "example.com/ns/app:1": [{"type": "insecureAcceptAnything"}],
                "example.com/ns/app": [{"type": "reject"}],
                "example.com/ns": [{"type": "insecureAcceptAnything"}],
                "example.com": [{"type": "reject"}],
                "*.com": [{"type": "insecureAcceptAnything"}],
                "": [{"type": "reject"}]}}}
            """);
        Assert.Null(Check(p, "docker://example.com/ns/app:1"));              // identity
        Assert.NotNull(Check(p, "docker://example.com/ns/app:2"));           // repository
        Assert.Null(Check(p, "docker://example.com/ns/other:1"));            // namespace
        Assert.NotNull(Check(p, "docker://example.com/top:1"));              // registry
        Assert.Null(Check(p, "docker://registry.example.com/top:1"));        // *.com wildcard
        Assert.NotNull(Check(p, "docker://localhost:5000/x:1"));             // the transport's ""
        Assert.Equal("transports.docker[\"*.com\"]", p.For(_images.Parse("docker://registry.example.com/top:1")).Scope);
    }

    [Fact]
    public void Wildcards_go_from_the_most_specific_domain_and_ignore_the_port()
    {
        var p = Parse("""
            {"default": [{"type": "reject"}],
             "transports": {"docker": {"*.b.example.com": [{"type": "insecureAcceptAnything"}], "*.example.com": [{"type": "reject"}]}}}
            """);
        Assert.Null(Check(p, "docker://a.b.example.com:5000/x:1"));
        Assert.NotNull(Check(p, "docker://c.example.com/x:1"));
        var r = _images.Parse("docker://a.b.example.com:5000/ns/x:1");
        Assert.Equal(["a.b.example.com:5000/ns/x", "a.b.example.com:5000/ns", "a.b.example.com:5000", "*.b.example.com", "*.example.com", "*.com"], r.PolicyNamespaces);
    }

    [Fact]
    public void Docker_hub_names_are_normalised_before_the_lookup()
    {
        var p = Parse("""
            {"default": [{"type": "reject"}], "transports": {"docker": {"docker.io/library/busybox": [{"type": "insecureAcceptAnything"}]}}}
            """);
        Assert.Null(Check(p, "docker://docker.io/busybox"));
        Assert.Equal("docker.io/library/busybox:latest", _images.Parse("docker://docker.io/busybox").PolicyIdentity);
    }

    [Fact]
    public void A_transport_without_a_matching_scope_falls_back_to_default()
    {
        var p = Parse("""
            {"default": [{"type": "insecureAcceptAnything"}], "transports": {"docker": {"example.com": [{"type": "reject"}]}}}
            """);
        Assert.Null(Check(p, "docker://other.org/a:1"));
        Assert.Null(Check(p, "oci:/tmp/x:a"));
    }

    [Fact]
    public void Path_transports_scope_by_directory_and_its_parents()
    {
        var p = Parse("""
            {"default": [{"type": "reject"}],
             "transports": {"oci": {"/srv/images/trusted": [{"type": "insecureAcceptAnything"}]},
                            "dir": {"/srv": [{"type": "insecureAcceptAnything"}]},
                            "docker-archive": {"": [{"type": "insecureAcceptAnything"}]}}}
            """);
        Assert.Null(Check(p, "oci:/srv/images/trusted:app"));
        Assert.Null(Check(p, "oci:/srv/images/trusted/sub/x"));
        Assert.NotNull(Check(p, "oci:/srv/images/other:app"));
        Assert.Null(Check(p, "dir:/srv/a/b"));
        Assert.NotNull(Check(p, "dir:/var/a"));
        Assert.Null(Check(p, "docker-archive:/x.tar"));
    }

    [Fact]
    public void Store_images_are_scoped_by_name_then_repository()
    {
        var r = _images.Parse("localhost/team/app:1");
        Assert.Equal("localhost/team/app:1", r.PolicyIdentity);
        Assert.Equal(["localhost/team/app", "localhost/team", "localhost"], r.PolicyNamespaces);
        var p = Parse("""{"default": [{"type": "reject"}], "transports": {"store": {"localhost/team": [{"type": "insecureAcceptAnything"}]}}}""");
        Assert.Null(Check(p, "localhost/team/app:1"));
        Assert.NotNull(Check(p, "localhost/other:1"));
        Assert.Equal(["registry.example.com:5000/app"], _images.Parse("registry.example.com:5000/app@sha256:0123456789012345678901234567890123456789012345678901234567890123").PolicyNamespaces.Take(1));
    }

    [Theory]
    [InlineData("""{"transports": {}}""", "default is missing")]
    [InlineData("""{"default": []}""", "default is an empty list")]
    [InlineData("""{"default": [{"type": "reject"}], "defualt": []}""", "defualt is not a field")]
    [InlineData("""{"default": [{"type": "reject"}, {"type": "reject", "keyPath": "/k"}]}""", "default[1].keyPath is not a field")]
    [InlineData("""{"default": [{"type": "rejectt"}]}""", "default[0].type \"rejectt\" is not a policy requirement type")]
    [InlineData("""{"default": [{}]}""", "default[0].type is missing")]
    [InlineData("""{"default": [{"type": "reject"}], "default": [{"type": "reject"}]}""", "default is given twice")]
    [InlineData("""{"default": [{"type": "reject"}], "transports": {"dir": {"relative/path": [{"type": "reject"}]}}}""", "must be an absolute path")]
    [InlineData("""{"default": [{"type": "reject"}], "transports": {"oci": {"/a/../b": [{"type": "reject"}]}}}""", "non-canonical")]
    [InlineData("""{"default": [{"type": "reject"}], "transports": {"dir": {"/": [{"type": "reject"}]}}}""", "use the generic default scope")]
    [InlineData("""{"default": [{"type": "reject"}], "transports": {"docker-archive": {"/x.tar": [{"type": "reject"}]}}}""", "does not support any scopes")]
    [InlineData("""{"default": [{"type": "sigstoreSigned"}]}""", "needs exactly one of keyPath, keyPaths, keyData, keyDatas and fulcio (none given)")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "keyData": "UEVN"}]}""", "(more than one given)")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPaths": []}]}""", "default[0].keyPaths contains no entries")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyData": "not base64!"}]}""", "default[0].keyData is not base64")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "signedIdentity": {"type": "matchEverything"}}]}""", "default[0].signedIdentity.type \"matchEverything\" is not a signedIdentity type")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "signedIdentity": {"type": "matchExact", "dockerReference": "x"}}]}""", "default[0].signedIdentity.dockerReference is not a field")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "signedIdentity": {"type": "exactReference", "dockerReference": "example.com/a"}}]}""", "names neither a tag nor a digest")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "signedIdentity": {"type": "remapIdentity", "prefix": "example.com", "signedPrefix": "Not A Prefix"}}]}""", "signedIdentity.signedPrefix \"Not A Prefix\" is not valid")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", "oidcIssuer": "https://i", "subjectEmail": "a@b"}}]}""", "uses fulcio, which needs a Rekor key")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", "oidcIssuer": "https://i"}, "rekorPublicKeyPath": "/r"}]}""", "default[0].fulcio.subjectEmail is missing")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", "caData": "UEVN", "oidcIssuer": "i", "subjectEmail": "e"}, "rekorPublicKeyPath": "/r"}]}""", "takes caPath or caData, not both")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", "oidcIssuer": "i", "subjectEmail": "e", "extra": 1}, "rekorPublicKeyPath": "/r"}]}""", "default[0].fulcio.extra is not a field")]
    [InlineData("""{"default": [{"type": "sigstoreSigned", "keyPath": "/a", "rekorPublicKeyPath": "/r", "rekorPublicKeyData": "UEVN"}]}""", "at most one of rekorPublicKeyPath")]
    [InlineData("""{"default": [{"type": "signedBy", "keyPath": "/k"}]}""", "default[0].keyType is missing")]
    [InlineData("""{"default": [{"type": "signedBy", "keyType": "PGP", "keyPath": "/k"}]}""", "\"PGP\" is not a key type")]
    [InlineData("""{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}""", "needs exactly one of keyPath, keyPaths and keyData")]
    [InlineData("""{"default": "reject"}""", "default is a string, not an array")]
    public void A_malformed_policy_is_refused_naming_the_field(string json, string expected) =>
        Assert.Contains(expected, ParseError(json));

    [Fact]
    public void Unknown_transports_are_kept_unchecked_as_containers_image_keeps_them()
    {
        var p = Parse("""{"default": [{"type": "reject"}], "transports": {"docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}, "atomic": {"x y": [{"type": "reject"}]}}}""");
        Assert.Equal(2, p.Transports.Count);
    }

    [Fact]
    public void SignedBy_with_a_key_type_other_than_GPGKeys_is_refused_as_containers_image_refuses_it()
    {
        var p = Parse("""{"default": [{"type": "signedBy", "keyType": "X509Certificates", "keyPath": "/etc/pki/ca.pem", "signedIdentity": {"type": "matchRepository"}}]}""");
        Assert.Equal("signedBy: keyType X509Certificates is not implemented (by containers/image either)", Check(p, "docker://example.com/a:1"));
    }

    [Fact]
    public void SignedBy_reads_no_signature_from_an_empty_lookaside_store()
    {
        var key = _root.Write("key.asc", "not read before a signature exists");
        _root.Write("rd/a.yaml", $"default-docker:\n  lookaside: file://{_root.Path}/lookaside\n");
        var p = Parse($$"""{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "{{key}}"}]}""");
        var why = Check(p, "docker://example.com/a:1", registries: RegistriesD.Load(Path.Combine(_root.Path, "rd")));
        Assert.Equal($"signedBy: no signature exists for {Manifest.Digest} (in file://{_root.Path}/lookaside)", why);
    }

    [Fact]
    public void A_simple_signing_claim_is_read_strictly()
    {
        var ok = GpgSignatures.ParseClaims(Encoding.UTF8.GetBytes("""
            {"critical": {"type": "atomic container signature", "image": {"docker-manifest-digest": "sha256:0123456789012345678901234567890123456789012345678901234567890123"},
             "identity": {"docker-reference": "example.com/a:1"}}, "optional": {"creator": "test"}}
            """));
        Assert.Equal("example.com/a:1", ok.DockerReference);
        Assert.Contains("not \"atomic container signature\"", Assert.Throws<SupplyException>(() => GpgSignatures.ParseClaims(Encoding.UTF8.GetBytes("""
            {"critical": {"type": "cosign container image signature", "image": {"docker-manifest-digest": "sha256:0123456789012345678901234567890123456789012345678901234567890123"}, "identity": {"docker-reference": "example.com/a:1"}}}
            """))).Message);
        Assert.Contains("other fields", Assert.Throws<SupplyException>(() => GpgSignatures.ParseClaims(Encoding.UTF8.GetBytes("""
            {"critical": {"type": "atomic container signature", "image": {}, "identity": {}, "extra": 1}}
            """))).Message);
    }

    [Fact]
    public void SigstoreSigned_accepts_a_verified_signature_for_the_image_identity()
    {
        var verifier = new FakeVerifier(1, ["example.com/a:1"]);
        Assert.Null(Check(Parse(KeyPolicy()), "docker://example.com/a:1", verifier));
        Assert.Equal("PEM", Encoding.UTF8.GetString(Assert.Single(verifier.Trust!.PublicKeys)));
    }

    [Fact]
    public void SigstoreSigned_refuses_an_image_without_signatures()
    {
        var why = Check(Parse(KeyPolicy()), "docker://example.com/a:1", new FakeVerifier(0, []));
        Assert.Equal($"sigstoreSigned: no signature exists for {Manifest.Digest}", why);
    }

    [Fact]
    public void SigstoreSigned_reads_no_attachments_unless_registries_d_says_so()
    {
        var verifier = new FakeVerifier(1, ["example.com/a:1"]);
        var why = Check(Parse(KeyPolicy()), "docker://example.com/a:1", verifier, RegistriesD.Empty);
        Assert.Contains("use-sigstore-attachments is not true for example.com/a", why);
        Assert.Null(verifier.Trust);
    }

    [Fact]
    public void SigstoreSigned_reports_why_each_signature_failed()
    {
        Assert.Equal("sigstoreSigned: signature 1: ecdsa check failed", Check(Parse(KeyPolicy()), "docker://example.com/a:1", new FakeVerifier(1, [], ["signature 1: ecdsa check failed"])));
        var why = Check(Parse(KeyPolicy()), "docker://example.com/a:1", new FakeVerifier(2, ["example.com/a:2"], ["signature 1: bad"]));
        Assert.Equal("sigstoreSigned: none of the 2 signatures were accepted: signature 1: bad; signature for identity \"example.com/a:2\" is not accepted (matchRepoDigestOrExact)", why);
    }

    [Fact]
    public void SigstoreSigned_refuses_a_path_image_it_cannot_read_signatures_of()
    {
        var why = Check(Parse("""{"default": [{"type": "sigstoreSigned", "keyData": "UEVN"}]}"""), "oci:/tmp/x:a", new FakeVerifier(1, ["example.com/a:1"]));
        Assert.Contains("no signature exists", why);
    }

    [Fact]
    public void SigstoreSigned_key_files_are_read_when_an_image_is_checked()
    {
        var key = _root.Write("key.pub", "PUBLIC");
        var p = Parse($$"""{"default": [{"type": "sigstoreSigned", "keyPaths": ["{{key}}", "{{key}}"]}]}""");
        var verifier = new FakeVerifier(1, ["example.com/a:1"]);
        Assert.Null(Check(p, "docker://example.com/a:1", verifier));
        Assert.Equal(2, verifier.Trust!.PublicKeys.Count);
        var missing = Parse("""{"default": [{"type": "sigstoreSigned", "keyPath": "/nonexistent/key.pub"}]}""");
        Assert.Contains("/nonexistent/key.pub", Check(missing, "docker://example.com/a:1", verifier));
    }

    [Theory]
    // identity rule, image reference, signed reference, accepted
    [InlineData("""{"type": "matchRepoDigestOrExact"}""", "example.com/a:1", "example.com/a:1", true)]
    [InlineData("""{"type": "matchRepoDigestOrExact"}""", "example.com/a:1", "example.com/a:2", false)]
    [InlineData("""{"type": "matchRepoDigestOrExact"}""", "example.com/a@sha256:0123456789012345678901234567890123456789012345678901234567890123", "example.com/a:any", true)]
    [InlineData("""{"type": "matchRepoDigestOrExact"}""", "example.com/a:1", "example.com/a", false)]
    [InlineData("""{"type": "matchExact"}""", "example.com/a:1", "example.com/a:1", true)]
    [InlineData("""{"type": "matchExact"}""", "example.com/a@sha256:0123456789012345678901234567890123456789012345678901234567890123", "example.com/a:1", false)]
    [InlineData("""{"type": "matchRepository"}""", "example.com/a:1", "example.com/a:2", true)]
    [InlineData("""{"type": "matchRepository"}""", "example.com/a:1", "example.com/b:1", false)]
    [InlineData("""{"type": "exactReference", "dockerReference": "example.com/signed:v1"}""", "example.com/a:1", "example.com/signed:v1", true)]
    [InlineData("""{"type": "exactReference", "dockerReference": "example.com/signed:v1"}""", "example.com/a:1", "example.com/a:1", false)]
    [InlineData("""{"type": "exactRepository", "dockerRepository": "example.com/signed"}""", "example.com/a:1", "example.com/signed:v7", true)]
    [InlineData("""{"type": "exactRepository", "dockerRepository": "example.com/signed"}""", "example.com/a:1", "example.com/other:v7", false)]
    [InlineData("""{"type": "remapIdentity", "prefix": "mirror.local/hub", "signedPrefix": "docker.io/library"}""", "mirror.local/hub/busybox:1", "docker.io/library/busybox:1", true)]
    [InlineData("""{"type": "remapIdentity", "prefix": "mirror.local/hub", "signedPrefix": "docker.io/library"}""", "mirror.local/hub/busybox:1", "mirror.local/hub/busybox:1", false)]
    [InlineData("""{"type": "remapIdentity", "prefix": "mirror.local/hub", "signedPrefix": "docker.io/library"}""", "mirror.local/hubx/busybox:1", "mirror.local/hubx/busybox:1", true)]
    [InlineData("""{"type": "remapIdentity", "prefix": "mirror.local", "signedPrefix": "example.com"}""", "mirror.local/a:1", "busybox:1", false)]
    public void Signed_identity_rules_match_as_containers_image_matches(string rule, string image, string signed, bool accepted)
    {
        var p = Parse(KeyPolicy($", \"signedIdentity\": {rule}"));
        var why = Check(p, "docker://" + image, new FakeVerifier(1, [signed]));
        Assert.True(accepted == (why is null), why ?? "accepted");
    }

    [Fact]
    public void Default_policy_files_are_the_users_then_the_systems()
    {
        Assert.Equal(["/home/u/.config/containers/policy.json", "/etc/containers/policy.json"], SignaturePolicy.DefaultPaths("/home/u"));
        _root.Write("home/.config/containers/policy.json", """{"default": [{"type": "reject"}]}""");
        Assert.Equal(Path.Combine(_root.Path, "home/.config/containers/policy.json"), SignaturePolicy.FindDefault(Path.Combine(_root.Path, "home")));
    }

    [Fact]
    public void Registries_d_most_specific_namespace_that_sets_the_field_wins()
    {
        _root.Write("rd/a.yaml", """
            default-docker:
              lookaside: file:///var/lib/containers/sigstore
            docker:
              example.com:
                use-sigstore-attachments: true
                lookaside: https://sigs.example.com
              example.com/team:
                use-sigstore-attachments: false
            """);
        _root.Write("rd/b.yaml", """
            docker:
              example.com/team/app:
                sigstore: https://old-name.example.com
                sigstore-staging: file:///staging
            """);
        _root.Write("rd/ignored.yml", "docker: {example.com: {use-sigstore-attachments: false}}\n");
        var rd = RegistriesD.Load(Path.Combine(_root.Path, "rd"));
        DockerReference R(string s) => (DockerReference)_images.Parse("docker://" + s);
        Assert.True(rd.UseSigstoreAttachments(R("example.com/x:1")));
        Assert.False(rd.UseSigstoreAttachments(R("example.com/team/app:1")));
        Assert.False(rd.UseSigstoreAttachments(R("other.org/x:1")));
        Assert.Equal("https://old-name.example.com", rd.Lookaside(R("example.com/team/app:1"), write: false));
        Assert.Equal("file:///staging", rd.Lookaside(R("example.com/team/app:1"), write: true));
        Assert.Equal("https://sigs.example.com", rd.Lookaside(R("example.com/team/other:1"), write: true));
        Assert.Equal("file:///var/lib/containers/sigstore", rd.Lookaside(R("other.org/x:1"), write: false));
    }

    [Fact]
    public void Registries_d_refuses_a_namespace_defined_twice()
    {
        _root.Write("rd/a.yaml", "docker:\n  example.com:\n    use-sigstore-attachments: true\n");
        _root.Write("rd/b.yaml", "docker:\n  example.com:\n    use-sigstore-attachments: false\n");
        var e = Assert.Throws<SupplyException>(() => RegistriesD.Load(Path.Combine(_root.Path, "rd")));
        Assert.Contains("\"docker\" namespace \"example.com\" is defined both in", e.Message);
        _root.Write("rd2/a.yaml", "default-docker:\n  use-sigstore-attachments: true\n");
        _root.Write("rd2/b.yaml", "default-docker:\n  use-sigstore-attachments: true\n");
        Assert.Contains("\"default-docker\" is defined both in", Assert.Throws<SupplyException>(() => RegistriesD.Load(Path.Combine(_root.Path, "rd2"))).Message);
    }

    [Fact]
    public void Registries_d_refuses_a_value_that_is_not_a_boolean()
    {
        _root.Write("rd/a.yaml", "default-docker:\n  use-sigstore-attachments: maybe\n");
        Assert.Contains("use-sigstore-attachments: \"maybe\" is not true or false", Assert.Throws<SupplyException>(() => RegistriesD.Load(Path.Combine(_root.Path, "rd"))).Message);
    }
}
