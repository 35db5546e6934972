using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

public class SbomDocumentTests
{
    static readonly SbomOptions Options = new(SbomOptions.DefaultCreated(), "0.1.0");

    /// <summary>A root with one package of each kind, licenses and an OS.</summary>
    static TestRoot Fixture()
    {
        var root = new TestRoot();
        root.Debian12();
        var status = string.Join("\n\n", File.ReadAllText("/var/lib/dpkg/status").Split("\n\n")
            .Where(p => p.StartsWith("Package: libc6\n") || p.StartsWith("Package: zlib1g\n") || p.StartsWith("Package: bash\n"))) + "\n";
        root.Write("var/lib/dpkg/status", status);
        root.Write("usr/share/doc/zlib1g/copyright", File.ReadAllText("/usr/share/doc/zlib1g/copyright"));
        // zlib1g's file list and digests, as dpkg keeps them.
        var zlibInfo = Directory.GetFiles("/var/lib/dpkg/info", "zlib1g:*.list").Single()[..^".list".Length];
        root.Write("var/lib/dpkg/info/" + Path.GetFileName(zlibInfo) + ".list", File.ReadAllText(zlibInfo + ".list"));
        root.Write("var/lib/dpkg/info/" + Path.GetFileName(zlibInfo) + ".md5sums", File.ReadAllText(zlibInfo + ".md5sums"));
        root.Write("app/node_modules/@babel/core/package.json", "{\"name\":\"@babel/core\",\"version\":\"7.23.0\",\"license\":\"MIT\",\"author\":\"The Babel Team\"}");
        root.Write("app/node_modules/weird/package.json", "{\"name\":\"weird\",\"version\":\"1.0.0\",\"license\":\"SEE LICENSE IN LICENSE.txt\"}");
        root.Write("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n");
        root.Write("srv/App.deps.json", "{\"libraries\":{\"Newtonsoft.Json/13.0.1\":{\"type\":\"package\"}}}");
        return root;
    }

    static void Validate(byte[] document, string schema, params string[] refs)
    {
        var node = TestRoot.NodeDir();
        Assert.True(Directory.Exists(Path.Combine(node, "node_modules", "ajv")), $"{node}/node_modules/ajv missing: run scripts/install-deps.sh test");
        var doc = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(doc, document);
            var (code, _, err) = TestRoot.Run("node", new[] { Path.Combine(AppContext.BaseDirectory, "Schemas", "validate.cjs"), schema, doc }.Concat(refs),
                env: new Dictionary<string, string> { ["NODE_PATH"] = Path.Combine(node, "node_modules") });
            Assert.True(code == 0, $"{schema}: {err}");
        }
        finally
        {
            File.Delete(doc);
        }
    }

    [Fact]
    public void Spdx_document_is_valid_against_the_spdx_2_3_schema_and_deterministic()
    {
        using var root = Fixture();
        using var view = RootView.Directory(root.Path, "dir:fixture");
        var first = SpdxWriter.Write(Inventory.Of(view), Options);
        var second = SpdxWriter.Write(Inventory.Of(view), Options);
        Assert.Equal(first, second);
        Validate(first, Path.Combine(AppContext.BaseDirectory, "Schemas", "spdx-2.3.schema.json"));
        var text = System.Text.Encoding.UTF8.GetString(first);
        Assert.Contains("\"created\": \"1970-01-01T00:00:00Z\"", text);
        Assert.Contains("pkg:npm/%40babel/core@7.23.0", text);
        Assert.Contains("\"licenseDeclared\": \"Zlib\"", text);
        // "SEE LICENSE IN LICENSE.txt" has no SPDX id: a LicenseRef, declared in hasExtractedLicensingInfos.
        Assert.Contains("\"licenseId\": \"LicenseRef-SEE-LICENSE-IN-LICENSE.txt\"", text);
        // The package's files, with dpkg's MD5s, and the package CONTAINS each.
        using var doc = System.Text.Json.JsonDocument.Parse(first);
        var files = doc.RootElement.GetProperty("files").EnumerateArray().ToList();
        var copyright = files.Single(f => f.GetProperty("fileName").GetString() == "/usr/share/doc/zlib1g/copyright");
        Assert.Equal("MD5", copyright.GetProperty("checksums")[0].GetProperty("algorithm").GetString());
        var zlib = doc.RootElement.GetProperty("packages").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "zlib1g").GetProperty("SPDXID").GetString();
        Assert.Contains(doc.RootElement.GetProperty("relationships").EnumerateArray(), r => r.GetProperty("spdxElementId").GetString() == zlib &&
            r.GetProperty("relationshipType").GetString() == "CONTAINS" && r.GetProperty("relatedSpdxElement").GetString() == copyright.GetProperty("SPDXID").GetString());
    }

    [Fact]
    public void CycloneDx_document_is_valid_against_the_cyclonedx_1_5_schema_and_deterministic()
    {
        using var root = Fixture();
        using var view = RootView.Directory(root.Path, "dir:fixture");
        var first = CycloneDxWriter.Write(Inventory.Of(view), Options);
        Assert.Equal(first, CycloneDxWriter.Write(Inventory.Of(view), Options));
        var schemas = Path.Combine(TestRoot.NodeDir(), "node_modules", "@cyclonedx", "cyclonedx-library", "res", "schema");
        Validate(first, Path.Combine(schemas, "bom-1.5.SNAPSHOT.schema.json"),
            Path.Combine(schemas, "spdx.SNAPSHOT.schema.json"), Path.Combine(schemas, "jsf-0.82.SNAPSHOT.schema.json"));
        var text = System.Text.Encoding.UTF8.GetString(first);
        Assert.Contains("\"type\": \"operating-system\"", text);
        Assert.Contains("\"purl\": \"pkg:pypi/requests@2.31.0\"", text);
        // The package's files are its nested components of type file, with dpkg's MD5 as a hash.
        using var doc = System.Text.Json.JsonDocument.Parse(first);
        var zlib = doc.RootElement.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "zlib1g");
        var copyright = zlib.GetProperty("components").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "/usr/share/doc/zlib1g/copyright");
        Assert.Equal("file", copyright.GetProperty("type").GetString());
        Assert.Equal("MD5", copyright.GetProperty("hashes")[0].GetProperty("alg").GetString());
    }

    [Fact]
    public void The_validator_rejects_a_document_the_schema_does_not_allow()
    {
        var schema = Path.Combine(AppContext.BaseDirectory, "Schemas", "spdx-2.3.schema.json");
        var bad = System.Text.Encoding.UTF8.GetBytes("{\"SPDXID\":\"SPDXRef-DOCUMENT\",\"name\":\"x\"}");
        Assert.Throws<Xunit.Sdk.TrueException>(() => Validate(bad, schema));
    }

    [Fact]
    public void The_documents_of_a_whole_debian_root_are_valid()
    {
        // This machine's own root: ~800 dpkg packages with real copyright files, Python and npm trees.
        using var host = RootView.Directory("/", "dir:/");
        var dpkgOnly = Inventory.Of(host);
        Assert.Contains(dpkgOnly.Packages, p => p.Type == "deb");
        Validate(SpdxWriter.Write(dpkgOnly, Options), Path.Combine(AppContext.BaseDirectory, "Schemas", "spdx-2.3.schema.json"));
        var schemas = Path.Combine(TestRoot.NodeDir(), "node_modules", "@cyclonedx", "cyclonedx-library", "res", "schema");
        // Without the files: ajv takes minutes over the ~100,000 file components of a whole host (the fixture above validates them).
        var packagesOnly = dpkgOnly with { Packages = dpkgOnly.Packages.Select(p => p with { Files = Array.Empty<Packages.PackageFile>() }).ToList() };
        Validate(CycloneDxWriter.Write(packagesOnly, Options), Path.Combine(schemas, "bom-1.5.SNAPSHOT.schema.json"),
            Path.Combine(schemas, "spdx.SNAPSHOT.schema.json"), Path.Combine(schemas, "jsf-0.82.SNAPSHOT.schema.json"));
    }
}
