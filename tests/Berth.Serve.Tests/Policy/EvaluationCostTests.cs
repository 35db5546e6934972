using System.Diagnostics;
using Berth.Serve.Policy;
using Berth.Supply.Attestations;
using Berth.Supply.Vulnerabilities;
using Xunit;

namespace Berth.Serve.Tests.Policy;

/// <summary>
/// The cost of one decision over pre-fetched attestations — a signature, an SBOM and a provenance
/// attestation, 300 findings and VEX — measured by bench/serve-policy.sh (which sets
/// BERTH_BENCH_OUT). The test asserts what does not depend on the machine: every one of the runs
/// decides the same. The times are reported, never asserted.
/// </summary>
public class EvaluationCostTests
{
    [Fact]
    public void Many_evaluations_over_one_snapshot_decide_the_same_and_their_cost_is_reported()
    {
        var place = PolicyEngineTests.Signed();
        Attestor.Attest(place, PolicyEngineTests.Image, PolicyEngineTests.Repo, PolicyLoaderTests.Key, PredicateTypes.SlsaProvenanceV1, PolicyEngineTests.Provenance("https://ci.test/builder@v1"));
        Attestor.Attest(place, PolicyEngineTests.Image, PolicyEngineTests.Repo, PolicyLoaderTests.Key, "https://spdx.dev/Document", """{"spdxVersion":"SPDX-2.3"}"""u8.ToArray());
        var findings = Enumerable.Range(0, 300).Select(i => PolicyEngineTests.Critical($"CVE-2024-{i:D4}", $"pkg:deb/debian/openssl@3.0.1") with { Severity = (Severity)(i % 6) }).ToList();
        var vex = Enumerable.Range(0, 300).Where(i => i % 6 == 5).SelectMany(i => PolicyEngineTests.NotAffected($"CVE-2024-{i:D4}")).ToList();
        var evidence = PolicyEngineTests.Of(place, findings, vex);
        var policy = PolicyLoaderTests.Parse(PolicyEngineTests.Policy("{signature: true, sbom: true, max_severity: high, provenance_builder: https://ci.test/builder}"));
        var first = PolicyEngine.Evaluate(policy, evidence, PolicyEngineTests.Berth);
        Assert.True(first.Allowed, first.Summary);

        const int runs = 1000;
        var ms = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            var d = PolicyEngine.Evaluate(policy, evidence, PolicyEngineTests.Berth);
            ms[i] = sw.Elapsed.TotalMilliseconds;
            Assert.Equal(first.Reasons, d.Reasons);
        }
        Array.Sort(ms);
        var report = $"policy evaluation over pre-fetched attestations ({runs} runs, 1 signature, 2 attestations, 300 findings, 50 VEX statements): " +
            $"p50 {ms[runs / 2]:0.000} ms, p99 {ms[runs * 99 / 100]:0.000} ms, max {ms[^1]:0.000} ms\n";
        if (Environment.GetEnvironmentVariable("BERTH_BENCH_OUT") is { Length: > 0 } file) File.AppendAllText(file, report);
    }
}
