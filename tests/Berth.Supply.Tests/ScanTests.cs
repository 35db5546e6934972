using System.IO.Compression;
using System.Text;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Berth.Supply.Vex;
using Berth.Supply.Vulnerabilities;
using Xunit;

namespace Berth.Supply.Tests;

public class ScanTests
{
    static string OsvDir => Path.Combine(AppContext.BaseDirectory, "Data", "osv");

    /// <summary>A database of the real advisories in Data/osv, in a directory removed after the test.</summary>
    sealed class TestDb : IDisposable
    {
        public string Dir { get; } = Directory.CreateTempSubdirectory("berth-osv-test-").FullName;
        public OsvDatabase Open() => OsvDatabase.Open(Dir);
        public TestDb(params string[] inputs) => OsvDatabase.Import(Dir, inputs.Length > 0 ? inputs : new[] { OsvDir }, DateTimeOffset.UnixEpoch);
        public void Dispose() => Directory.Delete(Dir, recursive: true);
    }

    static TestRoot Vulnerable()
    {
        var root = new TestRoot();
        root.Debian12();
        root.Write("var/lib/dpkg/status",
            "Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u1\nArchitecture: amd64\n\n" +
            "Package: libc-bin\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u3\nArchitecture: amd64\n");
        root.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\"}");
        root.Write("app/node_modules/minimist/package.json", "{\"name\":\"minimist\",\"version\":\"1.2.5\"}");
        root.Write("app/node_modules/old/node_modules/minimist/package.json", "{\"name\":\"minimist\",\"version\":\"0.2.4\"}");
        root.Write("usr/lib/python3/dist-packages/requests-2.30.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.30.0\n");
        return root;
    }

    static List<Finding> Scan(TestRoot root, OsvDatabase db)
    {
        using var view = RootView.Directory(root.Path);
        return Matcher.Match(db, Inventory.Of(view).Packages.Select(p => new Matcher.Target(p.Purl, p.Location)));
    }

    [Fact]
    public void Real_advisories_match_the_versions_they_name_and_no_others()
    {
        using var root = Vulnerable();
        using var testDb = new TestDb();
        using var db = testDb.Open();
        var found = Scan(root, db).Select(f => $"{f.Record.Id} {f.PackageName} {f.Version} {f.Severity} {f.FixedIn}").ToList();
        Assert.Equal(new[]
        {
            "GHSA-xvch-5gv4-984h minimist 1.2.5 Critical 1.2.6",
            "GHSA-35jh-r3h4-6jhm lodash 4.17.20 High 4.17.21",
            "GHSA-j8r2-6x86-q33q requests 2.30.0 Medium 2.31.0",
            // Debian's advisory names the source package; libc-bin is at the fixed version.
            "DSA-5514-1 libc6 2.36-9+deb12u1 Unknown 2.36-9+deb12u3",
        }, found);
    }

    [Fact]
    public void Alpine_advisories_are_per_release_and_by_origin()
    {
        using var root = new TestRoot();
        root.Write("etc/os-release", "ID=alpine\nVERSION_ID=3.18.4\n");
        root.Write("lib/apk/db/installed", "P:libcrypto3\nV:3.1.3-r0\nA:x86_64\no:openssl\n\nP:libssl3\nV:3.1.4-r0\nA:x86_64\no:openssl\n");
        using var testDb = new TestDb();
        using var db = testDb.Open();
        var f = Assert.Single(Scan(root, db));
        Assert.Equal(("ALPINE-CVE-2023-5363", "libcrypto3", Severity.High, 7.5), (f.Record.Id, f.PackageName, f.Severity, f.Score!.Value));
    }

    [Fact]
    public void Osv_ranges_last_affected_limit_and_versions_lists_follow_the_schema()
    {
        var a = new OsvAffected("PyPI", "x", new[]
        {
            new OsvRange("ECOSYSTEM", new[] { ("introduced", "1.0"), ("last_affected", "1.4") }),
            new OsvRange("SEMVER", new[] { ("introduced", "2.0.0-rc.1"), ("fixed", "2.1.0") }),
            new OsvRange("GIT", new[] { ("introduced", "0"), ("fixed", "abcdef") }),
        }, new[] { "0.5.post1" }, null);
        foreach (var (v, want) in new[] { ("0.9", false), ("1.0", true), ("1.4", true), ("1.4.post1", false), ("1.5", false), ("0.5.post1", true), ("2.0.0-rc.1", true), ("2.0.5", true), ("2.1.0", false) })
            Assert.True(Matcher.Affects(a, "PyPI", v, out _) == want, $"{v}: {want}");
        var limited = new OsvAffected("npm", "y", new[] { new OsvRange("ECOSYSTEM", new[] { ("introduced", "0"), ("limit", "3.0.0") }) }, Array.Empty<string>(), null);
        Assert.True(Matcher.Affects(limited, "npm", "2.9.9", out _));
        Assert.False(Matcher.Affects(limited, "npm", "3.0.0", out _));
    }

    [Theory]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2)]
    [InlineData("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5)]
    [InlineData("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9)]
    [InlineData("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1)]
    [InlineData("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8)]
    [InlineData("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0)]
    public void Cvss3_base_scores_are_those_nvd_publishes(string vector, double score) => Assert.Equal(score, Cvss3.BaseScore(vector));

    [Fact]
    public void A_bad_cvss_vector_names_the_metric()
    {
        var e = Assert.Throws<SupplyException>(() => Cvss3.BaseScore("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"));
        Assert.Contains("AV:X", e.Message);
    }

    [Fact]
    public void Vex_not_affected_suppresses_a_finding_without_dropping_it_and_qualifiers_match_as_openvex_says()
    {
        using var root = Vulnerable();
        using var testDb = new TestDb();
        using var db = testDb.Open();
        var findings = Scan(root, db);
        var vex = Encoding.UTF8.GetBytes("""
            {"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex-1","author":"test","timestamp":"2024-01-01T00:00:00Z","version":1,
             "statements":[
               {"vulnerability":{"name":"CVE-2021-23337"},"products":[{"@id":"pkg:npm/lodash@4.17.20"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
               {"vulnerability":{"name":"GHSA-j8r2-6x86-q33q"},"products":[{"@id":"pkg:pypi/requests?repository_url=https://example.com"}],"status":"not_affected","justification":"component_not_present"},
               {"vulnerability":{"name":"DSA-5514-1"},"products":[{"@id":"pkg:deb/debian/libc6?distro=debian-12"}],"status":"affected","action_statement":"upgrade libc6"}
             ]}
            """);
        var applied = OpenVexStatement.Apply(findings, OpenVexStatement.Read(vex, "vex.json"));
        Assert.Equal(findings.Count, applied.Count);
        var lodash = applied.Single(f => f.PackageName == "lodash");
        Assert.True(lodash.Suppressed);
        Assert.Equal("vulnerable_code_not_in_execute_path", lodash.VexJustification);
        // The statement names a qualifier the package's purl does not have: no match.
        Assert.Null(applied.Single(f => f.PackageName == "requests").VexStatus);
        // Omitted version and arch match any; the named distro matches.
        var libc = applied.Single(f => f.PackageName == "libc6");
        Assert.Equal("affected", libc.VexStatus);
        Assert.False(libc.Suppressed);
        Assert.Contains("not exploitable (not_affected: vulnerable_code_not_in_execute_path)", ScanReport.Table(applied));
        Assert.Contains("\"kind\": \"external\"", Encoding.UTF8.GetString(ScanReport.Sarif(applied, "0.1.0", "dir:x")));
    }

    [Fact]
    public void A_vex_statement_without_a_justification_names_the_statement()
    {
        var e = Assert.Throws<SupplyException>(() => OpenVexStatement.Read(Encoding.UTF8.GetBytes(
            "{\"statements\":[{\"vulnerability\":{\"name\":\"CVE-1\"},\"products\":[{\"@id\":\"pkg:npm/x\"}],\"status\":\"not_affected\"}]}"), "v.json"));
        Assert.Equal("v.json: statements[0]: not_affected needs a justification or an impact_statement", e.Message);
    }

    [Fact]
    public void Osv_zip_dumps_import_and_newer_records_replace_older_ones()
    {
        var zip = Path.Combine(Path.GetTempPath(), $"berth-osv-{Guid.NewGuid():N}.zip");
        try
        {
            using (var archive = ZipFile.Open(zip, ZipArchiveMode.Create))
                foreach (var f in Directory.GetFiles(OsvDir, "GHSA-*.json")) archive.CreateEntryFromFile(f, Path.GetFileName(f));
            using var testDb = new TestDb(zip);
            using (var db = testDb.Open())
            {
                Assert.Equal(3, db.RecordCount);
                Assert.Single(db.Lookup("npm", "lodash"));
                Assert.Empty(db.Lookup("Debian:12", "glibc"));
            }
            // A newer lodash record (as if the advisory were amended) and the Debian one.
            var amended = File.ReadAllText(Path.Combine(OsvDir, "GHSA-35jh-r3h4-6jhm.json")).Replace("2023-11-08T04:05:04Z", "2030-01-01T00:00:00Z").Replace("4.17.21", "4.17.99");
            var newer = Path.Combine(testDb.Dir, "..", $"amended-{Guid.NewGuid():N}.json");
            File.WriteAllText(newer, amended);
            try
            {
                var (added, total) = OsvDatabase.Import(testDb.Dir, new[] { newer, Path.Combine(OsvDir, "DSA-5514-1.json") }, DateTimeOffset.UnixEpoch);
                Assert.Equal((1, 4), (added, total));
                using var db = testDb.Open();
                var lodash = Assert.Single(db.Lookup("npm", "lodash"));
                Assert.Equal("4.17.99", lodash.Affected[0].Ranges[0].Events[1].Version);
                Assert.Single(db.Lookup("Debian:12", "glibc"));
            }
            finally
            {
                File.Delete(newer);
            }
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [Fact]
    public void A_malformed_record_names_its_file_and_field()
    {
        var dir = Directory.CreateTempSubdirectory("berth-osv-bad-").FullName;
        try
        {
            var bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, "{\"id\":\"X-1\",\"affected\":[{\"package\":{\"name\":\"a\"}}]}");
            var e = Assert.Throws<SupplyException>(() => OsvDatabase.Import(Path.Combine(dir, "db"), new[] { bad }, DateTimeOffset.UnixEpoch));
            Assert.Equal($"{bad}: X-1: affected[0].package: no \"ecosystem\"", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_sbom_is_scanned_by_its_purls_as_the_root_it_came_from()
    {
        using var root = Vulnerable();
        using var testDb = new TestDb();
        using var db = testDb.Open();
        using var view = RootView.Directory(root.Path);
        var inv = Inventory.Of(view);
        var options = new SbomOptions(DateTimeOffset.UnixEpoch, "0.1.0");
        var direct = Scan(root, db).Select(f => f.Record.Id + f.Purl).ToList();
        foreach (var doc in new[] { CycloneDxWriter.Write(inv, options), SpdxWriter.Write(inv, options) })
            Assert.Equal(direct, Matcher.Match(db, SbomReader.Read(doc, "sbom.json")).Select(f => f.Record.Id + f.Purl).ToList());
    }

    [Fact]
    public void The_debian_security_trackers_json_imports_as_records_per_release()
    {
        // CVE-2023-4911 (glibc's "Looking Glass"): fixed in bookworm by 2.36-9+deb12u3; bullseye's 2.31 never had the code.
        var dir = Directory.CreateTempSubdirectory("berth-tracker-").FullName;
        try
        {
            var tracker = Path.Combine(dir, "tracker.json");
            File.WriteAllText(tracker, """
                {"glibc": {"CVE-2023-4911": {"description": "buffer overflow in ld.so's GLIBC_TUNABLES handling", "scope": "local",
                  "releases": {"bookworm": {"status": "resolved", "repositories": {"bookworm": "2.36-9+deb12u4"}, "fixed_version": "2.36-9+deb12u3"},
                               "bullseye": {"status": "resolved", "repositories": {"bullseye": "2.31-13+deb11u7"}, "fixed_version": "0"},
                               "sid": {"status": "resolved", "repositories": {"sid": "2.37-12"}, "fixed_version": "2.37-12"}}}}}
                """);
            var db = Path.Combine(dir, "db");
            Assert.Equal((1, 1), OsvDatabase.Import(db, new[] { tracker }, DateTimeOffset.UnixEpoch));
            using var open = OsvDatabase.Open(db);
            var record = Assert.Single(open.Lookup("Debian:12", "glibc"));
            Assert.Equal("DEBIAN-CVE-2023-4911", record.Id);
            Assert.Empty(open.Lookup("Debian:11", "glibc"));
            Assert.True(Matcher.Affects(record.Affected[0], "Debian:12", "2.36-9+deb12u1", out var fixedIn));
            Assert.Equal("2.36-9+deb12u3", fixedIn);
            Assert.False(Matcher.Affects(record.Affected[0], "Debian:12", "2.36-9+deb12u3", out _));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
