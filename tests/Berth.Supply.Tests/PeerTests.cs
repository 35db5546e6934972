using System.Text.Json;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>
/// Against a peer: npm's @cyclonedx/cdxgen (which reads OS packages through its trivy plugin) on the
/// same root file systems. Berth must find every package cdxgen finds, per ecosystem, with the same
/// name and version. cdxgen also lists each Debian source package as a component: those must be the
/// source (upstream) of a package Berth found.
/// </summary>
public class PeerTests
{
    static JsonElement[] Cdxgen(string root)
    {
        var cdxgen = Path.Combine(TestRoot.NodeDir(), "node_modules", ".bin", "cdxgen");
        Assert.True(File.Exists(cdxgen), $"{cdxgen} missing: run scripts/install-deps.sh test");
        var output = Path.Combine(Path.GetTempPath(), $"berth-cdxgen-{Guid.NewGuid():N}.json");
        try
        {
            var (code, _, err) = TestRoot.Run(cdxgen, new[] { "-t", "rootfs", "--no-install-deps", "-o", output, root }, cwd: Path.GetTempPath(),
                env: new Dictionary<string, string> { ["FETCH_LICENSE"] = "false", ["CDXGEN_NO_BANNER"] = "true" });
            Assert.True(code == 0 && File.Exists(output), $"cdxgen: exit {code}: {err[^Math.Min(err.Length, 2000)..]}");
            using var doc = JsonDocument.Parse(File.ReadAllBytes(output));
            return doc.RootElement.TryGetProperty("components", out var c) ? c.EnumerateArray().Select(e => e.Clone()).ToArray() : Array.Empty<JsonElement>();
        }
        finally
        {
            File.Delete(output);
        }
    }

    static void BerthFindsEverythingCdxgenFinds(TestRoot root, params string[] ecosystems)
    {
        using var view = RootView.Directory(root.Path);
        var berth = Inventory.Of(view).Packages;
        var names = berth.Select(p => $"{p.Type}/{(p.Namespace is not null && p.Type == "npm" ? p.Namespace + "/" : "")}{p.Name}@{p.Version}").ToHashSet();
        var sources = berth.Where(p => p.Type is "deb" or "apk").Select(p => $"{p.Type}/{p.SourceName}@{p.SourceVersion}").ToHashSet();
        var missing = new List<string>();
        var counted = new Dictionary<string, int>();
        foreach (var c in Cdxgen(root.Path))
        {
            if (!c.TryGetProperty("purl", out var purlText)) continue;
            var purl = PackageUrl.Parse(purlText.GetString()!);
            // A project's own package.json (no version) is the project, not an installed package.
            if (purl.Version is null) continue;
            counted[purl.Type] = counted.GetValueOrDefault(purl.Type) + 1;
            var name = $"{purl.Type}/{(purl.Namespace is not null && purl.Type == "npm" ? purl.Namespace + "/" : "")}{purl.Name}@{purl.Version}";
            // trivy marks installed packages with their PkgID; a source package has none.
            bool binary = c.TryGetProperty("properties", out var props) && props.EnumerateArray().Any(p => p.GetProperty("name").GetString() == "aquasecurity:trivy:PkgID");
            if (purl.Type is "deb" or "apk" && !binary ? !sources.Contains(name) && !names.Contains(name) : !names.Contains(name)) missing.Add(purlText.GetString()!);
        }
        foreach (var e in ecosystems) Assert.True(counted.GetValueOrDefault(e) > 0, $"cdxgen found no {e} packages: {string.Join(", ", counted)}");
        Assert.True(missing.Count == 0, $"{missing.Count} packages cdxgen finds and Berth does not:\n{string.Join('\n', missing.Take(30))}");
    }

    [Fact]
    public void Berth_finds_every_package_cdxgen_finds_in_a_debian_root_with_npm_and_python_trees()
    {
        using var root = new TestRoot();
        root.Write("etc/os-release", File.ReadAllText("/etc/os-release"));
        root.Write("etc/debian_version", File.ReadAllText("/etc/debian_version"));
        root.Write("var/lib/dpkg/status", File.ReadAllText("/var/lib/dpkg/status"));
        // A real npm install: the part of the tests' own node tree that ajv and the CycloneDX library need
        // (not cdxgen's: its plugins are large Go binaries that make trivy slow).
        var nodeModules = Path.Combine(TestRoot.NodeDir(), "node_modules");
        Directory.CreateDirectory(Path.Combine(root.Path, "app", "node_modules", "@cyclonedx"));
        foreach (var package in new[] { "ajv", "ajv-formats", "fast-deep-equal", "fast-uri", "json-schema-traverse", "require-from-string", "@cyclonedx/cyclonedx-library" })
            Assert.Equal(0, TestRoot.Run("cp", new[] { "-a", Path.Combine(nodeModules, package), Path.Combine(root.Path, "app", "node_modules", package) }).Code);
        root.Write("app/package.json", "{\"name\":\"app\",\"private\":true}");
        foreach (var dist in Directory.GetDirectories("/usr/lib/python3/dist-packages", "*.dist-info"))
            foreach (var f in new[] { "METADATA", "RECORD" })
                if (File.Exists(Path.Combine(dist, f))) root.Write($"usr/lib/python3/dist-packages/{Path.GetFileName(dist)}/{f}", File.ReadAllText(Path.Combine(dist, f)));
        BerthFindsEverythingCdxgenFinds(root, "deb", "npm");
    }

    [Fact]
    public void Berth_finds_every_package_cdxgen_finds_in_an_alpine_root()
    {
        using var root = new TestRoot();
        root.Write("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n");
        root.Write("etc/alpine-release", "3.19.1\n");
        root.Write("lib/apk/db/installed",
            "C:Q1p8iJ0RSl2e5IuwlsaF4h4M5ZY3c=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:407210\nI:667648\nT:the musl c library (libc) implementation\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Timo Teräs <timo.teras@iki.fi>\nt:1704903823\nc:8a8b5b4d6b4b7c5d0a8a1f8b4e2a3c6e0c9a5a7a\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1zHeDhVq3yS7yk/8d3KGzRLW9ne0=\nR:libc.musl-x86_64.so.1\na:0:0:777\nZ:Q17yJ3JFNypA4mxhJJr0ou6CzsJVI=\n\n" +
            "C:Q1jvsd6SWv6yXnDsrl3u1zOaKZCTQ=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\nS:1754473\nI:4702208\nT:Crypto library from openssl\nU:https://www.openssl.org/\nL:Apache-2.0\no:openssl\nm:Ariadne Conill <ariadne@dereferenced.org>\nt:1706628474\nc:e8fa4d8f8b5a1b0c3a5d4d6e7f8a9b0c1d2e3f4a\nD:so:libc.musl-x86_64.so.1\np:so:libcrypto.so.3=3\nF:usr\nF:usr/lib\nR:libcrypto.so.3\na:0:0:755\nZ:Q1AXyWfNIzp+0LhmuyJzwSM8oQ0DA=\n\n" +
            "C:Q1QxJb4nU8oBm4D5o1W5m9HgV4nXk=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nS:509654\nI:958464\nT:Size optimized toolbox of many common UNIX utilities\nU:https://busybox.net/\nL:GPL-2.0-only\no:busybox\nm:Sören Tempel <soeren+alpine@soeren-tempel.net>\nt:1705921236\nc:0c2a6f7a2b5f2d5d2a8a0b1f3c5d7e9f1a3b5c7d\nD:so:libc.musl-x86_64.so.1\nF:bin\nR:busybox\na:0:0:755\nZ:Q1WUwBY0eOGgzhBfsIuLi8gL2pC9I=\n\n");
        BerthFindsEverythingCdxgenFinds(root, "apk");
    }
}
