using Berth.Serve.Policy;
using Berth.Supply.Signing;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;
using Xunit;

namespace Berth.Serve.Tests.Policy;

/// <summary>
/// Property: a decision is a function of the policy and the evidence. Random policies (seeded, so a
/// failure reproduces) over random evidence are evaluated twice, and again after the policy text is
/// parsed anew (a reload), and must give the same decision with the same reasons in the same order.
/// </summary>
public class DeterminismTests
{
    static readonly string[] Severities = ["critical", "high", "medium", "low", "none"];
    static readonly string[] Builders = ["https://ci.test/builder", "https://ci.test/other"];

    static string RandomPolicy(Random r, string[] keys)
    {
        string Req()
        {
            var fields = new List<string>();
            if (r.Next(3) > 0) fields.Add($"signature: {(r.Next(2) == 0 ? "true" : "false")}");
            if (r.Next(3) > 0) fields.Add($"sbom: {(r.Next(2) == 0 ? "true" : "false")}");
            if (r.Next(3) > 0) fields.Add($"max_severity: {Severities[r.Next(Severities.Length)]}");
            if (r.Next(3) == 0) fields.Add($"provenance_builder: {Builders[r.Next(Builders.Length)]}");
            return "{" + string.Join(", ", fields) + "}";
        }
        var trusted = keys.Where(_ => r.Next(2) == 0).DefaultIfEmpty(keys[0]).Select(k => $"\"{k.Trim().Replace("\n", "\\n")}\"");
        var yaml = $"trusted_keys: [{string.Join(", ", trusted)}]\nrequire: {Req()}\n";
        if (r.Next(2) == 0)
            yaml += $"repositories:\n  \"reg.test/*\": {{require: {Req()}}}\n  \"reg.test/team/*\": {{require: {Req()}}}\n";
        return yaml;
    }

    static Evidence RandomEvidence(Random r, SigningKey[] keys)
    {
        var place = new MemoryPlace();
        foreach (var k in keys)
            if (r.Next(3) == 0) ImageSigner.Sign(place, PolicyEngineTests.Image, "reg.test/team/app:1", k, null);
        if (r.Next(3) == 0)
            Berth.Supply.Attestations.Attestor.Attest(place, PolicyEngineTests.Image, "reg.test/team/app", keys[r.Next(keys.Length)], Berth.Supply.Attestations.PredicateTypes.SlsaProvenanceV1,
                PolicyEngineTests.Provenance(Builders[r.Next(Builders.Length)] + "@v1"));
        if (r.Next(3) == 0)
            Berth.Supply.Attestations.Attestor.Attest(place, PolicyEngineTests.Image, "reg.test/team/app", keys[r.Next(keys.Length)], "https://spdx.dev/Document", """{"spdxVersion":"SPDX-2.3"}"""u8.ToArray());
        List<Finding>? findings = null;
        if (r.Next(4) > 0)
        {
            findings = new();
            for (int i = r.Next(6); i > 0; i--)
            {
                var sev = (Severity)r.Next(6);
                var id = $"CVE-2024-{r.Next(20):D4}";
                findings.Add(PolicyEngineTests.Critical(id, $"pkg:deb/debian/openssl@3.0.1") with { Severity = sev });
            }
        }
        var vex = new List<OpenVexStatement>();
        for (int i = r.Next(3); i > 0; i--) vex.AddRange(PolicyEngineTests.NotAffected($"CVE-2024-{r.Next(20):D4}"));
        var repo = new[] { "reg.test/team/app", "reg.test/other", "elsewhere.test/x" }[r.Next(3)];
        return PolicyEngineTests.Of(place, findings, vex, repo);
    }

    static string Render(PolicyDecision d) => $"{d.Allowed}|{d.PolicyHash}|{d.Override}|{string.Join("\n", d.Reasons)}";

    [Fact]
    public void Random_policies_and_inputs_decide_the_same_twice_and_after_a_reload()
    {
        var keys = new[] { PolicyLoaderTests.Key, SigningKey.GenerateEcdsaP256(), SigningKey.GenerateEcdsaP256() };
        var pems = keys.Select(k => k.Public.ToPem()).ToArray();
        var r = new Random(20261202);
        int allowed = 0, denied = 0;
        for (int i = 0; i < 200; i++)
        {
            var yaml = RandomPolicy(r, pems);
            var evidence = RandomEvidence(r, keys);
            var policy = PolicyLoaderTests.Parse(yaml);
            var first = PolicyEngine.Evaluate(policy, evidence, PolicyEngineTests.Berth);
            var second = PolicyEngine.Evaluate(policy, evidence, PolicyEngineTests.Berth);
            var reloaded = PolicyEngine.Evaluate(PolicyLoaderTests.Parse(yaml), evidence, PolicyEngineTests.Berth);
            Assert.Equal(Render(first), Render(second));
            Assert.Equal(Render(first), Render(reloaded));
            if (first.Allowed) allowed++; else denied++;
        }
        // The generator reaches both outcomes: otherwise the property says little.
        Assert.True(allowed > 10 && denied > 10, $"{allowed} allowed, {denied} denied");
    }
}
