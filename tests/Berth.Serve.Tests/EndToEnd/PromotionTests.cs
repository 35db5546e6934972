using System.Text;
using System.Text.Json;
using Berth.Images.Referrers;
using Berth.Oci.Image;
using Berth.Registry.Tests.Fixtures;
using Berth.Serve.Tests.Fixtures;
using Berth.Supply.Attachments;
using Berth.Supply.Attestations;
using Berth.Supply.Signing;
using Xunit;

namespace Berth.Serve.Tests.EndToEnd;

/// <summary>
/// A registry with the vulnerable image (a known critical finding) signed, attested (SLSA
/// provenance) and with an SBOM referrer, and an unsigned one; PostgreSQL; the OSV database; a key.
/// </summary>
public sealed class PromotionWorld : IDisposable
{
    public PlainRegistry Registry { get; } = new();
    public OsvDb Osv { get; } = new();
    public Postgres Postgres { get; } = new();
    public SigningKey Key { get; } = SigningKey.GenerateEcdsaP256();
    public string Image => $"{Registry.Host}/staging/app:1";
    public string Unsigned => $"{Registry.Host}/staging/unsigned:1";
    public string Digest { get; }

    public PromotionWorld()
    {
        try
        {
            Digest = VulnerableImage.Push(Registry.Host, "staging/app", "1");
            VulnerableImage.Push(Registry.Host, "staging/unsigned", "1", salt: "unsigned");
            using var client = Registry.Client();
            var place = new RegistryPlace(client, "staging/app");
            var d = Berth.Oci.Image.Digest.Parse(Digest);
            ImageSigner.Sign(place, d, Image, Key, null);
            Attestor.Attest(place, d, $"{Registry.Host}/staging/app", Key, PredicateTypes.SlsaProvenanceV1, Encoding.UTF8.GetBytes(
                """{"buildDefinition":{"buildType":"https://berth.test/build/v1","externalParameters":{"source":"git+https://github.com/org/app@refs/heads/main"}},"runDetails":{"builder":{"id":"https://ci.test/builder@v1"}}}"""));
            var head = client.HeadManifestAsync("staging/app", Digest).GetAwaiter().GetResult()!;
            var subject = new Descriptor { MediaType = head.MediaType, Digest = Digest, Size = head.Size };
            var sbom = """{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"""u8.ToArray();
            RegistryReferrers.Push(client, "staging/app", ArtifactManifest.Build(subject, AttachedDocuments.CycloneDx, sbom, "sbom.cdx.json"), sbom);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Registry.Dispose();
        Osv.Dispose();
        Postgres.Dispose();
        Key.Dispose();
    }
}

/// <summary>
/// The issue's acceptance, end to end over HTTP against out/berth-serve on PostgreSQL: scan → the
/// critical finding refuses promotion with its reason → a signed VEX marks it not_affected → the
/// policy allows → the image, its signatures, attestations and referrers are in the target → a
/// second promote is a no-op → an unsigned image is refused → the audit shows every step.
/// </summary>
public sealed class PromotionTests(PromotionWorld world) : IClassFixture<PromotionWorld>, IDisposable
{
    const string Token = "e2e-admin-token";
    readonly TempDir _data = new();

    string WritePolicy(string require)
    {
        File.WriteAllText(Path.Combine(_data.Path, "release.pub"), world.Key.Public.ToPem());
        File.WriteAllText(Path.Combine(_data.Path, "policy.yaml"), $"trusted_keys: [release.pub]\nrequire: {require}\n");
        return Path.Combine(_data.Path, "policy.yaml");
    }

    ServeProcess Start() => new(
        ["--listen", "127.0.0.1:0", "--data", _data.Path, "--policy", Path.Combine(_data.Path, "policy.yaml"), "--db", world.Osv.Dir, "--tls-verify=false",
         "--insecure-pull-policy", "--database", world.Postgres.Url],
        new Dictionary<string, string> { ["BERTH_SERVE_TOKEN"] = Token });

    static string Body(params (string Key, object Value)[] fields)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            foreach (var (k, v) in fields)
            {
                w.WritePropertyName(k);
                if (v is JsonElement e) e.WriteTo(w); else w.WriteStringValue((string)v);
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    static List<string> Failed(JsonElement decision) =>
        decision.GetProperty("reasons").EnumerateArray().Where(r => !r.GetProperty("passed").GetBoolean()).Select(r => $"{r.GetProperty("check").GetString()}: {r.GetProperty("detail").GetString()}").ToList();

    [Fact]
    public async Task A_critical_finding_is_refused_until_a_signed_vex_then_the_image_and_its_attachments_are_promoted()
    {
        WritePolicy("{signature: true, sbom: true, max_severity: high, provenance_builder: https://ci.test/builder}");
        using var serve = Start();
        using var c = serve.Client(Token);
        var target = $"{world.Registry.Host}/prod/app:1";

        // Not scanned yet: refused for that reason alone.
        var (s0, b0) = await Api.PostJson(c, "/promote", Body(("image", world.Image), ("target", target)));
        Assert.Equal(403, s0);
        Assert.Equal([$"vulnerabilities: {world.Digest} has not been scanned (POST /scan first)"], Failed(b0.RootElement));

        var scan = await Api.WaitFinished(c, await Api.Scan(c, world.Image), serve.Log);
        Assert.Equal("done", scan.GetProperty("status").GetString());
        var critical = scan.GetProperty("findings").GetProperty("matches").EnumerateArray().First(m => m.GetProperty("id").GetString() == VulnerableImage.Critical);
        var purl = critical.GetProperty("purl").GetString()!;

        var (s1, b1) = await Api.PostJson(c, "/promote", Body(("image", world.Image), ("target", target)));
        Assert.Equal(403, s1);
        var failed = Failed(b1.RootElement);
        var only = Assert.Single(failed);
        Assert.StartsWith("vulnerabilities: 1 findings above high: " + VulnerableImage.Critical + " (critical, ", only);
        Assert.Contains("refused by policy: vulnerabilities:", b1.RootElement.GetProperty("error").GetString());
        Assert.False(b1.RootElement.GetProperty("copied").GetBoolean());
        using (var client = world.Registry.Client())
            Assert.Null(await client.HeadManifestAsync("prod/app", "1"));

        // A signed VEX: not_affected.
        var vex = Berth.Supply.Vex.VexWriter.Create(VulnerableImage.Critical, [purl], "not_affected", "vulnerable_code_not_in_execute_path", null, null, "security@test", DateTimeOffset.UtcNow);
        using var vexDoc = JsonDocument.Parse(vex);
        var (sv, bv) = await Api.PostJson(c, "/vex", Body(("image", world.Image), ("statement", vexDoc.RootElement)));
        Assert.True(sv == 201, bv.RootElement.ToString());
        var (_, keyBody) = await Api.Get(c, "/vex/key");
        var serviceKey = KeyFiles.ReadPublicKey(Encoding.UTF8.GetBytes(keyBody.RootElement.GetProperty("pem").GetString()!), "service key");

        var (s2, b2) = await Api.PostJson(c, "/promote", Body(("image", world.Image), ("target", target)));
        Assert.True(s2 == 200, b2.RootElement.ToString());
        Assert.True(b2.RootElement.GetProperty("allowed").GetBoolean());
        Assert.True(b2.RootElement.GetProperty("copied").GetBoolean());
        Assert.Equal(["signature", "sbom", "vulnerabilities", "provenance"], b2.RootElement.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("check").GetString()));
        Assert.Contains("1 above it are not_affected or fixed per VEX", b2.RootElement.GetProperty("reasons")[2].GetProperty("detail").GetString());

        // In the target: the manifest by the same digest, the signature verifying there, the attestations (provenance and the VEX, signed by the service), the SBOM referrer.
        var d = Berth.Oci.Image.Digest.Parse(world.Digest);
        using (var client = world.Registry.Client())
        {
            Assert.Equal(world.Digest, (await client.HeadManifestAsync("prod/app", "1"))!.Digest.ToString());
            var prod = new RegistryPlace(client, "prod/app");
            Assert.True(SigstoreVerifier.Verify(CosignAttachments.Read(prod, d, "sig"), d, new SigstoreRequirement([Encoding.UTF8.GetBytes(world.Key.Public.ToPem())])).Any);
            var (provenance, _) = Attestor.Verify(prod, d, world.Key.Public, PredicateTypes.SlsaProvenanceV1);
            Assert.Single(provenance);
            var (vexAttested, _) = Attestor.Verify(prod, d, serviceKey, "https://openvex.dev/ns");
            Assert.Contains(VulnerableImage.Critical, Assert.Single(vexAttested).PredicateJson);
            Assert.Contains(prod.Referrers(d), r => r.ArtifactType == AttachedDocuments.CycloneDx);
        }

        // Again: nothing to do.
        var (s3, b3) = await Api.PostJson(c, "/promote", Body(("image", world.Image), ("target", target)));
        Assert.Equal(200, s3);
        Assert.True(b3.RootElement.GetProperty("unchanged").GetBoolean());
        Assert.False(b3.RootElement.GetProperty("copied").GetBoolean());

        // Unsigned: refused, naming the signature (scanned or not, the signature reason is there).
        var (s4, b4) = await Api.PostJson(c, "/promote", Body(("image", world.Unsigned), ("target", $"{world.Registry.Host}/prod/unsigned:1")));
        Assert.Equal(403, s4);
        Assert.Contains(Failed(b4.RootElement), r => r.StartsWith("signature: ") && r.Contains("is not signed"));

        // The audit: the scan, the refusals with their reasons, the VEX, the promotion, the no-op — and who asked.
        var (sa, audit) = await Api.Get(c, $"/audit/{world.Image}");
        Assert.Equal(200, sa);
        var entries = audit.RootElement.GetProperty("audit").EnumerateArray().Select(e => (Action: e.GetProperty("action").GetString(), Outcome: e.GetProperty("outcome").GetString(),
            Detail: e.GetProperty("detail").GetString()!, By: e.GetProperty("by").GetString())).ToList();
        Assert.Contains(entries, e => e.Action == "promote" && e.Outcome == "denied" && e.Detail.Contains(VulnerableImage.Critical));
        Assert.Contains(entries, e => e.Action == "vex" && e.Outcome == "stored" && e.Detail.Contains($"{VulnerableImage.Critical} not_affected"));
        Assert.Contains(entries, e => e.Action == "promote" && e.Outcome == "allowed" && e.Detail.Contains("attachments (signatures, attestations, referrers) copied"));
        Assert.Contains(entries, e => e.Action == "promote" && e.Outcome == "allowed" && e.Detail.Contains("already has"));
        Assert.All(entries.Where(e => e.Action is "promote" or "vex"), e => Assert.Equal("env", e.By));
        // (Other tests of the class post admission reviews of the same image to the same database.)
        var decisions = audit.RootElement.GetProperty("decisions").EnumerateArray().Where(x => x.GetProperty("action").GetString() == "promote").Select(x => x.GetProperty("outcome").GetString()).ToList();
        Assert.Equal(2, decisions.Count(o => o == "denied"));
        Assert.Equal(2, decisions.Count(o => o == "allowed"));
        Assert.Contains(audit.RootElement.GetProperty("findings").EnumerateArray().SelectMany(doc => doc.GetProperty("matches").EnumerateArray()), f => f.GetProperty("id").GetString() == VulnerableImage.Critical
            && f.GetProperty("suppressed").GetBoolean());

        // And on PostgreSQL, where the decisions live.
        Assert.Equal("4", world.Postgres.Query($"SELECT count(*) FROM decisions WHERE digest = '{world.Digest}' AND action = 'promote'").Trim());

        var metrics = await c.GetStringAsync("/metrics");
        Assert.Contains("berth_serve_promotions_total{result=\"copied\"} 1", metrics);
        Assert.Contains("berth_serve_promotions_total{result=\"unchanged\"} 1", metrics);
        Assert.Contains("berth_serve_policy_evaluation_seconds_count", metrics);
    }

    [Fact]
    public async Task The_admission_webhook_answers_an_image_review_by_the_policy()
    {
        WritePolicy("{signature: true}");
        using var serve = Start();
        using var c = serve.Client(Token);
        string Review(params string[] images) =>
            "{\"apiVersion\":\"imagepolicy.k8s.io/v1alpha1\",\"kind\":\"ImageReview\",\"spec\":{\"containers\":[" +
            string.Join(",", images.Select(i => $"{{\"image\":\"{i}\"}}")) + "],\"namespace\":\"prod\"}}";
        var (s1, ok) = await Api.PostJson(c, "/imagepolicy", Review(world.Image));
        Assert.Equal(200, s1);
        Assert.Equal("ImageReview", ok.RootElement.GetProperty("kind").GetString());
        Assert.True(ok.RootElement.GetProperty("status").GetProperty("allowed").GetBoolean());
        var (s2, no) = await Api.PostJson(c, "/imagepolicy", Review(world.Image, world.Unsigned));
        Assert.Equal(200, s2);
        Assert.False(no.RootElement.GetProperty("status").GetProperty("allowed").GetBoolean());
        Assert.StartsWith($"{world.Unsigned}: signature: ", no.RootElement.GetProperty("status").GetProperty("reason").GetString());
        var (s3, missing) = await Api.PostJson(c, "/imagepolicy", Review($"{world.Registry.Host}/staging/nothing:1"));
        Assert.False(missing.RootElement.GetProperty("status").GetProperty("allowed").GetBoolean());
    }

    [Fact]
    public async Task An_invalid_policy_written_while_running_keeps_the_old_one_and_readyz_says_why()
    {
        var path = WritePolicy("{signature: true}");
        using var serve = Start();
        using var c = serve.Client(Token);
        Assert.Equal(200, (await Api.Get(c, "/readyz")).Status);
        File.WriteAllText(path + ".new", "require:\n  signatur: true\n");
        File.Move(path + ".new", path, overwrite: true);
        // The poll interval is bounded (2 s): wait for the event, bounded at 30 s.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        (int Status, JsonDocument Body) ready;
        while ((ready = await Api.Get(c, "/readyz")).Status == 200 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(503, ready.Status);
        var policy = ready.Body.RootElement.GetProperty("components").EnumerateArray().Single(x => x.GetProperty("name").GetString() == "policy");
        Assert.StartsWith($"{path}:2: require.signatur: unknown field", policy.GetProperty("detail").GetString());
        Assert.Contains("policy: not reloaded: ", serve.Log);
        // The old policy still decides: the unsigned image is refused for its signature.
        var (s, b) = await Api.PostJson(c, "/imagepolicy",
            "{\"apiVersion\":\"imagepolicy.k8s.io/v1alpha1\",\"kind\":\"ImageReview\",\"spec\":{\"containers\":[{\"image\":\"" + world.Unsigned + "\"}]}}");
        Assert.False(b.RootElement.GetProperty("status").GetProperty("allowed").GetBoolean());
    }

    public void Dispose() => _data.Dispose();
}
