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

    [Fact]
    public void Rpm_order_agrees_with_rpms_own_vercmp()
    {
        // rpm's tests/rpmvercmp.at shapes (tilde, caret, leading zeros, letters against digits) and epoch/release forms.
        var versions = new[]
        {
            "1.0", "2.0", "2.0.1", "2.0.1a", "5.5p1", "5.5p2", "5.5p10", "5.6p1", "10xyz", "10.1xyz", "xyz10", "xyz10.1", "xyz.4", "8", "2", "6.0.rc1", "6.0",
            "10b2", "10a1", "1.0aa", "1.0a", "10.0001", "10.1", "10.0039", "4.999.9", "5.0", "20101121", "20101122", "2_0", "a", "a+", "a_", "+a", "+_", "_+",
            "1.0~rc1", "1.0~rc2", "1.0~rc1~git123", "1.0^", "1.0^git1", "1.0^git2", "1.01", "1.0^20160101", "1.0.1", "1.0~rc1^git1", "1.0^git1~pre",
            "1:1.0", "0:1.0", "1.0-1", "1.0-2", "1.0-1.el9", "1.0-1.el9_2", "2:0.1-1", "1.2.3-4.fc39", "1.2.3-10.fc39", "3.0.7-27.el9", "3.0.7-24.el9~1",
        };
        var pairs = versions.SelectMany(a => versions.Select(b => (a, b))).ToList();
        var script = Path.GetTempFileName();
        try
        {
            File.WriteAllText(script, "local p = {" + string.Join(",", pairs.Select(p => $"{{\"{p.a}\",\"{p.b}\"}}")) + "}\n" +
                "local o = {} for i, x in ipairs(p) do o[i] = rpm.vercmp(x[1], x[2]) end print(table.concat(o, ' '))\n");
            var (code, output, err) = TestRoot.Run("rpm", new[] { "--eval", $"%{{lua: dofile('{script}')}}" });
            Assert.True(code == 0, err);
            var expected = output.Trim().Split(' ').Select(int.Parse).ToList();
            Assert.Equal(pairs.Count, expected.Count);
            var wrong = pairs.Select((p, i) => (p, want: expected[i], got: Sign(VersionOrders.Rpm.Compare(p.a, p.b)))).Where(x => x.want != x.got).ToList();
            Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(20).Select(w => $"{w.p.a} vs {w.p.b}: rpm {w.want}, berth {w.got}")));
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public void Maven_order_agrees_with_maven_artifacts_ComparableVersion()
    {
        // Maven's own test lists (TestComparableVersion: VERSIONS_QUALIFIER and VERSIONS_NUMBER are in ascending order) ...
        var qualifier = new[] { "1-alpha2snapshot", "1-alpha2", "1-alpha-123", "1-beta-2", "1-beta123", "1-m2", "1-m11", "1-rc", "1-cr2", "1-rc123", "1-SNAPSHOT", "1", "1-sp", "1-sp2", "1-sp123", "1-abc", "1-def", "1-pom-1", "1-1-snapshot", "1-1", "1-2", "1-123" };
        var number = new[] { "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m" };
        // ... and the documented examples (maven.apache.org/pom.html, "Version Order Specification").
        var documented = new[] { "1", "1.1", "1-snapshot", "1-sp", "1-foo2", "1-foo10", "1.foo", "1-foo", "1-1", "1.ga", "1-ga", "1-0", "1.0", "1-sp.1", "1-ga.1", "1-sp-1", "1-ga-1", "1-a1", "1-alpha-1", "1.0.0", "1.final", "1-release", "1-cr1", "1-rc1", "1.0.0-foo.0.0", "1-1.foo-bar1baz-.1", "1.2.3-beta-1", "12345678901234567890.1", "12345678901234567890.2" };
        foreach (var list in new[] { qualifier, number })
            for (int i = 0; i + 1 < list.Length; i++)
                for (int j = i + 1; j < list.Length; j++)
                    Assert.True(VersionOrders.Maven.Compare(list[i], list[j]) < 0, $"{list[i]} < {list[j]}");
        foreach (var (a, b) in new[] { ("1.foo", "1-foo"), ("1.ga", "1"), ("1-ga", "1"), ("1-0", "1"), ("1.0", "1"), ("1-a1", "1-alpha-1"), ("1cr", "1rc"), ("1x", "1.0.0-x"), ("1A", "1a"), ("2.0.a", "2.0.0.a") })
            Assert.True(VersionOrders.Maven.Compare(a, b) == 0, $"{a} == {b}");

        // Every pair, against the ComparableVersion of the maven-artifact on this machine (Debian's maven).
        var jar = "/usr/share/maven/lib/maven-artifact-3.x.jar";
        Assert.True(File.Exists(jar), $"{jar}: Maven's ComparableVersion is the reference (install-deps.sh test installs maven)");
        var all = qualifier.Concat(number).Concat(documented).Distinct().ToList();
        var sequence = all.SelectMany(a => all.Select(b => (a, b))).ToList();
        // Its main compares each argument with the one before it: a b a b ... answers a?b, b?a, a?b ...
        var args = new List<string> { "-cp", jar, "org.apache.maven.artifact.versioning.ComparableVersion" };
        foreach (var (a, b) in sequence) { args.Add(a); args.Add(b); }
        var (code, output, err) = TestRoot.Run("java", args);
        Assert.True(code == 0, err);
        var results = output.Split('\n').Where(l => l.StartsWith("   ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[1] switch { "<" => -1, "==" => 0, _ => 1 }).ToList();
        Assert.Equal(sequence.Count * 2 - 1, results.Count);
        var wrong = sequence.Select((p, i) => (p, want: results[2 * i], got: Sign(VersionOrders.Maven.Compare(p.a, p.b)))).Where(x => x.want != x.got).ToList();
        Assert.True(wrong.Count == 0, string.Join('\n', wrong.Take(20).Select(w => $"{w.p.a} vs {w.p.b}: maven {w.want}, berth {w.got}")));
    }

    [Fact]
    public void Gem_order_is_rubygems_documented_order()
    {
        // Gem::Version's documentation: prereleases (any letter) before the release, "-" is ".pre.", trailing zeros do not count.
        var ordered = new[] { "0.9", "1.0.a", "1.0.a.2", "1.0.a10", "1.0.b1", "1.0.b.1.1", "1.0.rc1", "1.0", "1.0.1", "1.1.pre", "1.1", "1.2.3-1", "1.2.3", "1.10", "2.0.0.beta2", "2.0" };
        for (int i = 0; i < ordered.Length; i++)
            for (int j = 0; j < ordered.Length; j++)
                Assert.True(Sign(VersionOrders.Gem.Compare(ordered[i], ordered[j])) == Sign(i.CompareTo(j)), $"{ordered[i]} vs {ordered[j]}");
        foreach (var (a, b) in new[] { ("1.0", "1"), ("1.0.0", "1"), ("1.2.3-1", "1.2.3.pre.1"), ("1.0.a", "1.0.a.0") })
            Assert.True(VersionOrders.Gem.Compare(a, b) == 0, $"{a} == {b}");
    }

    [Theory]
    [InlineData("AlmaLinux:9", "rpm"), InlineData("Rocky Linux:8", "rpm"), InlineData("openSUSE:Leap 15.5", "rpm"), InlineData("Red Hat", "rpm"),
     InlineData("Maven", "maven"), InlineData("RubyGems", "gem"), InlineData("crates.io", "semver"), InlineData("Debian:12", "dpkg")]
    public void Each_ecosystem_uses_its_own_order(string ecosystem, string order)
    {
        var want = order switch { "rpm" => VersionOrders.Rpm, "maven" => VersionOrders.Maven, "gem" => VersionOrders.Gem, "semver" => VersionOrders.SemVer, _ => VersionOrders.Dpkg };
        Assert.Same(want, VersionOrders.For(ecosystem));
    }
}
