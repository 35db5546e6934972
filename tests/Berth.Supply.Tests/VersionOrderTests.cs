using Berth.Supply.Versions;
using Xunit;

namespace Berth.Supply.Tests;

public class VersionOrderTests
{
    static int Sign(int c) => Math.Sign(c);

    [Fact]
    public void Dpkg_order_agrees_with_dpkg_compare_versions_on_this_machines_versions()
    {
        // Every version in this machine's dpkg database, and the tricky shapes deb-version(7) names.
        var versions = TestRoot.Run("dpkg-query", new[] { "-W", "-f", "${Version}\n" }).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Concat(new[] { "1.0~rc1", "1.0", "1.0-1", "1.0~~", "1.0~", "1:0.1", "0:1.0", "1.0+dfsg-1", "1.0a", "1.0.0", "2.30-0ubuntu1~", "10", "9", "1.0-1~bpo1", "a", "1.0+~1" })
            .Distinct().ToList();
        var rng = new Random(16);
        var pairs = Enumerable.Range(0, 1500).Select(_ => (versions[rng.Next(versions.Count)], versions[rng.Next(versions.Count)]))
            // Near neighbours in sorted order are where orders disagree, if anywhere.
            .Concat(versions.Order(StringComparer.Ordinal).Zip(versions.Order(StringComparer.Ordinal).Skip(1))).ToList();
        var script = "while read a b; do if dpkg --compare-versions \"$a\" lt \"$b\"; then echo -1; elif dpkg --compare-versions \"$a\" eq \"$b\"; then echo 0; else echo 1; fi; done";
        var input = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(input, pairs.Select(p => $"{p.Item1} {p.Item2}"));
            var (code, output, err) = TestRoot.Run("sh", new[] { "-c", script + " < \"$0\"", input });
            Assert.True(code == 0, err);
            var expected = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
            Assert.Equal(pairs.Count, expected.Count);
            var wrong = pairs.Select((p, i) => (p, want: expected[i], got: Sign(VersionOrders.Dpkg.Compare(p.Item1, p.Item2)))).Where(x => x.want != x.got).ToList();
            Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(20).Select(w => $"{w.p.Item1} vs {w.p.Item2}: dpkg {w.want}, berth {w.got}")));
        }
        finally
        {
            File.Delete(input);
        }
    }

    [Fact]
    public void Apk_order_agrees_with_apk_tools_own_test_data()
    {
        // apk-tools' test/version.data: "A < B", "A > B", "A = B" lines (its fuzzy "~" lines are not an order).
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Data", "apk-version.data"))
            .Select(l => l.Split('#')[0].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(p => p.Length == 3 && p[1] is "<" or ">" or "=").ToList();
        Assert.True(lines.Count > 700);
        var wrong = lines.Where(p => Sign(VersionOrders.Apk.Compare(p[0], p[2])) != p[1] switch { "<" => -1, ">" => 1, _ => 0 }).Select(p => string.Join(' ', p)).ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(20)));
    }

    [Fact]
    public void Semver_order_is_the_specs_example_and_agrees_with_npms_semver()
    {
        var spec = new[] { "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1" };
        for (int i = 0; i + 1 < spec.Length; i++) Assert.True(VersionOrders.SemVer.Compare(spec[i], spec[i + 1]) < 0, $"{spec[i]} < {spec[i + 1]}");
        Assert.Equal(0, VersionOrders.SemVer.Compare("1.0.0+build.1", "1.0.0+build.2"));

        var versions = spec.Concat(new[] { "0.0.1", "0.9.10", "0.9.9", "10.0.0", "1.2.3-0", "1.2.3-a.10", "1.2.3-a.9", "1.2.3-a.b", "4.17.20", "4.17.21", "1.2.6-1", "1.2.6" }).ToArray();
        var semver = "/usr/lib/node_modules/npm/node_modules/semver";
        Assert.True(Directory.Exists(semver), $"{semver}: npm's semver is the reference");
        var js = $"const s=require('{semver}');const v={System.Text.Json.JsonSerializer.Serialize(versions)};const o=[];for(const a of v)for(const b of v)o.push(s.compare(a,b));console.log(o.join(' '))";
        var (code, output, err) = TestRoot.Run("node", new[] { "-e", js });
        Assert.True(code == 0, err);
        var expected = output.Trim().Split(' ').Select(int.Parse).ToArray();
        int k = 0;
        foreach (var a in versions)
            foreach (var b in versions)
                Assert.True(expected[k++] == Sign(VersionOrders.SemVer.Compare(a, b)), $"{a} vs {b}: npm semver {expected[k - 1]}");
    }

    [Fact]
    public void Pep440_order_is_the_specs_summary_of_permitted_suffixes()
    {
        // PEP 440, "Summary of permitted suffixes and relative ordering", in order.
        var ordered = new[]
        {
            "1.dev0", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
            "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
        };
        for (int i = 0; i < ordered.Length; i++)
            for (int j = 0; j < ordered.Length; j++)
                Assert.True(Sign(VersionOrders.Pep440.Compare(ordered[i], ordered[j])) == i.CompareTo(j), $"{ordered[i]} vs {ordered[j]}");
        // The spec's normalizations: these are the same version.
        foreach (var (a, b) in new[] { ("1.0", "1.0.0"), ("1.0alpha1", "1.0a1"), ("1.0-rc.1", "1.0rc1"), ("1.0c1", "1.0rc1"), ("1.0-1", "1.0.post1"), ("1.0rev1", "1.0.post1"), ("v1.0", "1.0"), ("1!1.0", "1!1.0.0"), ("1.0.DEV", "1.0.dev0") })
            Assert.True(VersionOrders.Pep440.Compare(a, b) == 0, $"{a} == {b}");
        Assert.True(VersionOrders.Pep440.Compare("1!0.1", "2.0") > 0);
    }
}
