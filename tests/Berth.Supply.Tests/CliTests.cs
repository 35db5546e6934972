using System.Text;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>`berth sbom`, `scan`, `db` and `vex` as a user runs them: out/berth, files in and out, exit statuses.</summary>
public class CliTests
{
    static string OsvDir => Path.Combine(AppContext.BaseDirectory, "Data", "osv");

    static Result Berth(params string[] args) => Commands.Exec(Commands.Binary, args);

    static TestRoot Vulnerable()
    {
        var root = new TestRoot();
        root.Debian12();
        root.Write("var/lib/dpkg/status", "Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u1\nArchitecture: amd64\n");
        root.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\"}");
        root.Write("app/node_modules/minimist/package.json", "{\"name\":\"minimist\",\"version\":\"1.2.5\"}");
        return root;
    }

    [Fact]
    public void Sbom_writes_the_same_document_twice_and_scan_reads_it_back()
    {
        using var root = Vulnerable();
        using var work = new TestRoot();
        var a = Path.Combine(work.Path, "a.cdx.json");
        var b = Path.Combine(work.Path, "b.cdx.json");
        Berth("sbom", $"dir:{root.Path}", "--format", "cyclonedx-json", "-o", a).Ok();
        Berth("sbom", $"dir:{root.Path}", "--format", "cyclonedx-json", "-o", b).Ok();
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        var spdx = Berth("sbom", $"dir:{root.Path}", "--format", "spdx-json").Ok().Stdout;
        Assert.Contains("\"spdxVersion\": \"SPDX-2.3\"", spdx);
        var table = Berth("sbom", $"dir:{root.Path}").Ok().Stdout;
        Assert.Contains("lodash", table);
        Assert.Contains("3 packages", table);

        var db = Path.Combine(work.Path, "db");
        Assert.Contains("imported 5 new records", Berth("db", "import", "--db", db, OsvDir).Ok().Stdout);
        var status = Berth("db", "status", "--db", db).Ok().Stdout;
        Assert.Contains("records: 5", status);
        Assert.Contains("Debian:12", status);
        var fromSbom = Berth("scan", a, "--db", db, "--format", "json").Ok().Stdout;
        var fromRoot = Berth("scan", $"dir:{root.Path}", "--db", db, "--format", "json").Ok().Stdout;
        Assert.Contains("GHSA-35jh-r3h4-6jhm", fromSbom);
        Assert.Contains("DSA-5514-1", fromSbom);
        Assert.Equal(fromRoot.Replace(root.Path, ""), fromSbom.Replace(root.Path, ""));
    }

    [Fact]
    public void An_image_in_the_store_is_cataloged_with_its_layer_and_scanned()
    {
        using var root = Vulnerable();
        using var work = new TestRoot();
        var tar = Path.Combine(work.Path, "rootfs.tar");
        Assert.Equal(0, TestRoot.Run("tar", new[] { "-C", root.Path, "-cf", tar, "." }).Code);
        var store = Path.Combine(work.Path, "store");
        var digest = Berth("image", "import", "--store", store, tar, "vulnerable:1").Ok().Stdout.Trim();
        var cdx = Berth("sbom", "vulnerable:1", "--store", store, "--format", "cyclonedx-json").Ok().Stdout;
        Assert.Contains("\"type\": \"container\"", cdx);
        Assert.Contains($"\"version\": \"{digest}\"", cdx);
        Assert.Contains("\"name\": \"berth:layer\"", cdx);
        var db = Path.Combine(work.Path, "db");
        Berth("db", "import", "--db", db, OsvDir).Ok();
        var scan = Berth("scan", "vulnerable:1", "--store", store, "--db", db);
        Assert.Equal(0, scan.ExitCode);
        Assert.Contains("GHSA-xvch-5gv4-984h", scan.Stdout);
        Assert.Contains("3 findings (1 Critical, 1 High, 1 Unknown)", scan.Stdout);
    }

    [Fact]
    public void Sbom_diff_lists_packages_added_removed_and_changed()
    {
        using var a = Vulnerable();
        using var b = Vulnerable();
        b.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.21\"}");
        File.Delete(Path.Combine(b.Path, "app/node_modules/minimist/package.json"));
        b.Write("app/node_modules/@babel/core/package.json", "{\"name\":\"@babel/core\",\"version\":\"7.23.0\"}");
        var diff = Berth("sbom", "diff", $"dir:{a.Path}", $"dir:{b.Path}").Ok().Stdout;
        var lines = diff.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries))).ToList();
        Assert.Contains("added npm @babel/core 7.23.0", lines);
        Assert.Contains("changed npm lodash 4.17.20 4.17.21", lines);
        Assert.Contains("removed npm minimist 1.2.5", lines);
        Assert.Contains("1 added, 1 removed, 1 changed", lines);
    }

    [Fact]
    public void Fail_on_counts_findings_at_or_above_the_threshold_that_vex_does_not_suppress()
    {
        using var root = Vulnerable();
        using var work = new TestRoot();
        var db = Path.Combine(work.Path, "db");
        Berth("db", "import", "--db", db, OsvDir).Ok();
        var target = $"dir:{root.Path}";
        // minimist (Critical, fixed in 1.2.6) and lodash (High, fixed in 4.17.21).
        var failed = Berth("scan", target, "--db", db, "--fail-on", "high");
        Assert.Equal(3, failed.ExitCode);
        Assert.Contains("2 findings at or above high", failed.Stderr);
        Assert.Equal(0, Berth("scan", target, "--db", db, "--fail-on", "critical", "--vex", Vex(work, "CVE-2021-44906", "pkg:npm/minimist")).ExitCode);

        var vex = Path.Combine(work.Path, "both.vex.json");
        var doc = Berth("vex", "create", "--vuln", "GHSA-35jh-r3h4-6jhm", "--product", "pkg:npm/lodash@4.17.20", "--status", "not_affected",
            "--justification", "vulnerable_code_not_in_execute_path", "-o", vex).Ok();
        var suppressed = Berth("scan", target, "--db", db, "--fail-on", "high", "--vex", vex, "--vex", Vex(work, "CVE-2021-44906", "pkg:npm/minimist@1.2.5"));
        Assert.Equal(0, suppressed.ExitCode);
        // Suppressed findings are still reported, as not exploitable.
        Assert.Contains("not exploitable (not_affected: vulnerable_code_not_in_execute_path)", suppressed.Stdout);
        Assert.Contains("GHSA-xvch-5gv4-984h", suppressed.Stdout);
        var sarif = Berth("scan", target, "--db", db, "--format", "sarif", "--vex", vex).Ok().Stdout;
        Assert.Contains("\"version\": \"2.1.0\"", sarif);
        Assert.Contains("\"security-severity\": \"9.8\"", sarif);
    }

    [Fact]
    public void Only_fixed_fails_only_on_findings_with_a_fix()
    {
        using var root = new TestRoot();
        root.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\"}");
        using var work = new TestRoot();
        var db = Path.Combine(work.Path, "db");
        // The same advisory as if no fix were published yet.
        work.Write("nofix/GHSA-35jh-r3h4-6jhm.json", File.ReadAllText(Path.Combine(OsvDir, "GHSA-35jh-r3h4-6jhm.json")).Replace(", {\"fixed\": \"4.17.21\"}", ""));
        Berth("db", "import", "--db", db, Path.Combine(work.Path, "nofix")).Ok();
        Assert.Equal(3, Berth("scan", $"dir:{root.Path}", "--db", db, "--fail-on", "high").ExitCode);
        Assert.Equal(0, Berth("scan", $"dir:{root.Path}", "--db", db, "--fail-on", "high", "--only-fixed").ExitCode);
    }

    static string Vex(TestRoot work, string vuln, string product)
    {
        var path = Path.Combine(work.Path, $"vex-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""
            {"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex","author":"t","timestamp":"2024-05-01T00:00:00Z","version":1,
             "statements":[{"vulnerability":{"name":"{{vuln}}"},"products":[{"@id":"{{product}}"}],"status":"not_affected","justification":"component_not_present"}]}
            """);
        return path;
    }

    [Fact]
    public void Errors_are_one_line_naming_the_path_or_field()
    {
        using var work = new TestRoot();
        Berth("sbom", "dir:/nonexistent-berth-root").FailsNaming("/nonexistent-berth-root", "no such directory");
        var empty = Directory.CreateDirectory(Path.Combine(work.Path, "empty")).FullName;
        Berth("scan", $"dir:{empty}", "--db", Path.Combine(work.Path, "nodb")).FailsNaming(Path.Combine(work.Path, "nodb"), "no vulnerability database");
        var bad = work.Write("bad.vex.json", "{\"statements\":[{\"vulnerability\":{\"name\":\"CVE-1\"},\"products\":[\"pkg:npm/x\"],\"status\":\"maybe\"}]}");
        work.Write("db/x.json", "[]");
        Berth("db", "import", "--db", Path.Combine(work.Path, "db2"), Path.Combine(work.Path, "db")).Ok();
        Berth("scan", $"dir:{empty}", "--db", Path.Combine(work.Path, "db2"), "--vex", bad).FailsNaming(bad, "statements[0].status", "maybe");
        Berth("db", "import", "--db", Path.Combine(work.Path, "db3"), Path.Combine(work.Path, "missing.json")).FailsNaming("missing.json", "no such file");
        Berth("sbom", $"dir:{empty}", "--format", "xml").Fails("--format");
    }
}
