using System.Text;
using Berth.Images.Referrers;
using Berth.Oci.Image;
using Berth.Serve.Plugins;
using Berth.Serve.Policy;
using Berth.Serve.Promotion;
using Berth.Supply.Attachments;
using Berth.Supply.Attestations;
using Berth.Supply.Signing;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;
using Xunit;

namespace Berth.Serve.Tests.Policy;

/// <summary>Images made in memory — signed, attested, with SBOM referrers — and the decisions over their snapshots.</summary>
public class PolicyEngineTests
{
    internal static readonly Digest Image = MemoryPlace.DigestOf("image manifest"u8.ToArray());
    internal const string Repo = "reg.test/team/app";
    internal static readonly ISignatureVerifierPlugin[] Berth = [new BerthVerifier()];

    internal static string Policy(string require, string? keyPem = null) =>
        $"trusted_keys: [\"{(keyPem ?? PolicyLoaderTests.KeyPem).Trim().Replace("\n", "\\n")}\"]\nrequire: {require}\n";

    internal static Finding Critical(string id = "CVE-2024-0001", string purl = "pkg:deb/debian/openssl@3.0.1?arch=amd64") =>
        new(purl, "openssl", "3.0.1", "/var/lib/dpkg/status", new OsvRecord(id, null, [], null, [], "CRITICAL", []), Severity.Critical, 9.8, null, "3.0.2");

    internal static Evidence Of(MemoryPlace place, IReadOnlyList<Finding>? findings = null, IReadOnlyList<OpenVexStatement>? vex = null, string repo = Repo)
    {
        var s = AttachmentSnapshot.Fetch(place, Image);
        return new Evidence(repo, Image, CosignAttachments.Read(s, Image, "sig"), CosignAttachments.Read(s, Image, "att"), s.ReferrerDescriptors, findings, findings is null ? null : "osv-test", vex ?? []);
    }

    internal static MemoryPlace Signed(SigningKey? key = null)
    {
        var place = new MemoryPlace();
        ImageSigner.Sign(place, Image, $"{Repo}:1", key ?? PolicyLoaderTests.Key, null);
        return place;
    }

    internal static List<OpenVexStatement> NotAffected(string id = "CVE-2024-0001") => OpenVexStatement.Read(VexWriter.Create(id, ["pkg:deb/debian/openssl@3.0.1"], "not_affected",
        "vulnerable_code_not_in_execute_path", null, null, "security@test", DateTimeOffset.UnixEpoch), "vex");

    static PolicyDecision Decide(string yaml, Evidence e) => PolicyEngine.Evaluate(PolicyLoaderTests.Parse(yaml), e, Berth);

    [Fact]
    public void An_unsigned_image_is_refused_with_the_reason()
    {
        var d = Decide(Policy("{signature: true}"), Of(new MemoryPlace()));
        Assert.False(d.Allowed);
        Assert.Equal($"signature: {Image} is not signed (no {CosignAttachments.Tag(Image, "sig")} in {Repo})", d.Summary);
    }

    [Fact]
    public void A_signature_by_a_trusted_key_passes_and_by_another_key_fails()
    {
        var ok = Decide(Policy("{signature: true}"), Of(Signed()));
        Assert.True(ok.Allowed);
        Assert.StartsWith("signature: passed: berth: a sigstore signature of", ok.Reasons.Single().ToString());
        using var other = SigningKey.GenerateEcdsaP256();
        var bad = Decide(Policy("{signature: true}"), Of(Signed(other)));
        Assert.False(bad.Allowed);
        Assert.Equal("signature: berth: signature 1: the signature does not verify with the public key", bad.Summary);
    }

    [Fact]
    public void A_critical_finding_is_refused_over_max_severity_high_until_a_vex_says_not_affected()
    {
        var place = Signed();
        var denied = Decide(Policy("{signature: true, max_severity: high}"), Of(place, [Critical()]));
        Assert.False(denied.Allowed);
        Assert.Equal("vulnerabilities: 1 findings above high: CVE-2024-0001 (critical, openssl 3.0.1) (database osv-test)", denied.Summary);
        Assert.True(denied.Reasons[0].Passed);

        var allowed = Decide(Policy("{signature: true, max_severity: high}"), Of(place, [Critical()], NotAffected()));
        Assert.True(allowed.Allowed);
        Assert.Contains("(1 above it are not_affected or fixed per VEX)", allowed.Reasons[1].Detail);

        // A statement about another vulnerability changes nothing.
        Assert.False(Decide(Policy("{max_severity: high}"), Of(place, [Critical()], NotAffected("CVE-2099-9999"))).Allowed);
        Assert.Equal("vulnerabilities: " + $"{Image} has not been scanned (POST /scan first)", Decide(Policy("{max_severity: high}"), Of(place)).Summary);
    }

    [Fact]
    public void An_sbom_referrer_or_a_signed_sbom_attestation_satisfies_sbom()
    {
        var place = Signed();
        Assert.Equal($"sbom: no SBOM attached to {Image} (no SPDX or CycloneDX referrer, no SBOM attestation signed by a trusted key)", Decide(Policy("{sbom: true}"), Of(place)).Summary);
        var subject = new Descriptor { MediaType = MediaTypes.Manifest, Digest = Image.ToString(), Size = 100 };
        var sbom = """{"spdxVersion":"SPDX-2.3","name":"x"}"""u8.ToArray();
        var artifact = ArtifactManifest.Build(subject, AttachedDocuments.Spdx, sbom, "sbom.spdx.json");
        place.PutReferrer(artifact, sbom);
        var d = Decide(Policy("{sbom: true}"), Of(place));
        Assert.True(d.Allowed);
        Assert.StartsWith("sbom: passed: application/spdx+json referrer sha256:", d.Reasons[0].ToString());

        var attested = Signed();
        Attestor.Attest(attested, Image, Repo, PolicyLoaderTests.Key, "https://cyclonedx.org/bom", """{"bomFormat":"CycloneDX"}"""u8.ToArray());
        Assert.True(Decide(Policy("{sbom: true}"), Of(attested)).Allowed);
        using var other = SigningKey.GenerateEcdsaP256();
        var untrusted = Signed();
        Attestor.Attest(untrusted, Image, Repo, other, "https://cyclonedx.org/bom", """{"bomFormat":"CycloneDX"}"""u8.ToArray());
        Assert.False(Decide(Policy("{sbom: true}"), Of(untrusted)).Allowed);
    }

    internal static byte[] Provenance(string builder) => Encoding.UTF8.GetBytes($$$$"""
        {"buildDefinition":{"buildType":"https://berth.test/build/v1","externalParameters":{"source":"git+https://github.com/org/app@refs/heads/main"},"resolvedDependencies":[]},
         "runDetails":{"builder":{"id":"{{{{builder}}}}"}}}
        """);

    [Fact]
    public void Provenance_must_come_from_the_allowed_builder_and_be_signed_by_a_trusted_key()
    {
        var place = Signed();
        Attestor.Attest(place, Image, Repo, PolicyLoaderTests.Key, PredicateTypes.SlsaProvenanceV1, Provenance("https://ci.test/builder@v1"));
        var ok = Decide(Policy("{provenance_builder: https://ci.test/builder, provenance_source: github.com/org/app}"), Of(place));
        Assert.True(ok.Allowed, ok.Summary);
        Assert.Equal("provenance: passed: SLSA provenance (attestation 1, signed by trusted_keys[0]): builder https://ci.test/builder@v1, source git+https://github.com/org/app@refs/heads/main", ok.Reasons[0].ToString());
        var wrong = Decide(Policy("{provenance_builder: https://ci.test/other}"), Of(place));
        Assert.Equal("provenance: attestation 1: provenance: builder id \"https://ci.test/builder@v1\", expected \"https://ci.test/other\"", wrong.Summary);
        Assert.Equal($"provenance: no SLSA provenance attestation of {Image} signed by a trusted key", Decide(Policy("{provenance_builder: https://ci.test/builder}"), Of(Signed())).Summary);
    }

    [Fact]
    public void A_refusal_names_every_failing_requirement()
    {
        var d = Decide(Policy("{signature: true, sbom: true, max_severity: high, provenance_builder: https://ci.test/builder}"), Of(new MemoryPlace(), [Critical()]));
        Assert.False(d.Allowed);
        Assert.Equal(["signature", "sbom", "vulnerabilities", "provenance"], d.Reasons.Where(r => !r.Passed).Select(r => r.Check));
    }

    [Fact]
    public void An_override_applies_to_its_repositories_only()
    {
        var yaml = Policy("{max_severity: critical}") + "repositories:\n  \"reg.test/prod/*\": {require: {max_severity: high}}\n";
        var place = Signed();
        Assert.True(Decide(yaml, Of(place, [Critical()])).Allowed);
        var prod = Decide(yaml, Of(place, [Critical()], repo: "reg.test/prod/app"));
        Assert.False(prod.Allowed);
        Assert.Equal("reg.test/prod/*", prod.Override);
    }
}
