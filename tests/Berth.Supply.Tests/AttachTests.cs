using System.Text;
using System.Text.Json;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>`berth image attach`, `image referrers`, `sbom --use-attached` and gc, as a user runs them (out/berth), in the store and against Debian's registry.</summary>
public class AttachTests : IClassFixture<PlainRegistry>
{
    readonly PlainRegistry _registry;

    public AttachTests(PlainRegistry registry) => _registry = registry;

    static Result Berth(params string[] args) => Commands.Exec(Commands.Binary, args);

    /// <summary>A store with images imported from small roots (each distinct, so each has its own manifest).</summary>
    sealed class Store : IDisposable
    {
        public readonly TestRoot Work = new();
        public string Path => System.IO.Path.Combine(Work.Path, "store");

        public string Import(string name, string marker)
        {
            using var root = new TestRoot();
            root.Debian12();
            root.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\"}");
            root.Write("marker", marker);
            var tar = System.IO.Path.Combine(Work.Path, marker + ".tar");
            Assert.Equal(0, TestRoot.Run("tar", new[] { "-C", root.Path, "-cf", tar, "." }).Code);
            return Berth("image", "import", "--store", Path, tar, name).Ok().Stdout.Trim();
        }

        public string Sbom(string image, string format)
        {
            var file = System.IO.Path.Combine(Work.Path, $"{image.Replace(':', '_')}.{format}");
            Berth("sbom", image, "--store", Path, "--format", format, "-o", file).Ok();
            return file;
        }

        public byte[] Blob(string digest) => File.ReadAllBytes(System.IO.Path.Combine(Path, "blobs", "sha256", digest["sha256:".Length..]));

        public bool HasBlob(string digest) => File.Exists(System.IO.Path.Combine(Path, "blobs", "sha256", digest["sha256:".Length..]));

        public void Dispose() => Work.Dispose();
    }

    static string Digest(string d) => d.Trim().Split('\n').Last().Trim();

    [Fact]
    public void An_attached_sbom_is_an_oci_artifact_whose_subject_is_the_image_and_sbom_reuses_it()
    {
        using var store = new Store();
        var image = Digest(store.Import("app:1", "one"));
        var spdx = store.Sbom("app:1", "spdx-json");
        // Marked, so that its reuse can be told from a fresh document.
        var attachedText = File.ReadAllText(spdx).Replace("\"name\": \"app:1\"", "\"name\": \"app:1 (attached)\"");
        File.WriteAllText(spdx, attachedText);
        var artifact = Berth("image", "attach", "--store", store.Path, "--type", "spdx", spdx, "app:1").Ok().Stdout.Trim();
        Assert.StartsWith("sha256:", artifact);
        // Attaching the same document again changes nothing: the same manifest.
        Assert.Equal(artifact, Berth("image", "attach", "--store", store.Path, "--type", "spdx", spdx, "app:1").Ok().Stdout.Trim());

        // The manifest: OCI 1.1's artifact shape.
        using var manifest = JsonDocument.Parse(store.Blob(artifact));
        var m = manifest.RootElement;
        Assert.Equal("application/vnd.oci.image.manifest.v1+json", m.GetProperty("mediaType").GetString());
        Assert.Equal("application/spdx+json", m.GetProperty("artifactType").GetString());
        Assert.Equal("application/vnd.oci.empty.v1+json", m.GetProperty("config").GetProperty("mediaType").GetString());
        Assert.Equal("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", m.GetProperty("config").GetProperty("digest").GetString());
        Assert.Equal(image, m.GetProperty("subject").GetProperty("digest").GetString());
        var layer = m.GetProperty("layers")[0];
        Assert.Equal(attachedText, Encoding.UTF8.GetString(store.Blob(layer.GetProperty("digest").GetString()!)));

        // Listed as a referrer of the image (table and the referrers API's index), not as an image.
        var table = Berth("image", "referrers", "--store", store.Path, "app:1").Ok().Stdout;
        Assert.Contains(artifact, table);
        Assert.Contains("application/spdx+json", table);
        using (var listing = JsonDocument.Parse(Berth("image", "referrers", "--store", store.Path, "app:1", "--format", "json").Ok().Stdout))
        {
            var d = Assert.Single(listing.RootElement.GetProperty("manifests").EnumerateArray());
            Assert.Equal(artifact, d.GetProperty("digest").GetString());
            Assert.Equal("application/spdx+json", d.GetProperty("artifactType").GetString());
        }
        Assert.Empty(JsonDocument.Parse(Berth("image", "referrers", "--store", store.Path, "app:1", "--format", "json", "--artifact-type", "application/openvex+json").Ok().Stdout)
            .RootElement.GetProperty("manifests").EnumerateArray());
        var ls = Berth("image", "ls", "--store", store.Path).Ok().Stdout;
        Assert.DoesNotContain(artifact, ls);
        Assert.Contains("app:1", ls);

        // sbom --use-attached gives the attached document byte for byte; without an attached one of that format, it catalogs.
        Assert.Equal(attachedText, Berth("sbom", "app:1", "--store", store.Path, "--format", "spdx-json", "--use-attached").Ok().Stdout);
        var cdx = Berth("sbom", "app:1", "--store", store.Path, "--format", "cyclonedx-json", "--use-attached").Ok();
        Assert.Contains("\"bomFormat\": \"CycloneDX\"", cdx.Stdout);
        Assert.Contains("has no attached cyclonedx-json SBOM", cdx.Stderr);
    }

    [Fact]
    public void A_document_of_another_kind_than_its_type_is_refused_and_nothing_is_stored()
    {
        using var store = new Store();
        store.Import("app:1", "one");
        var spdx = store.Sbom("app:1", "spdx-json");
        var index = File.ReadAllBytes(System.IO.Path.Combine(store.Path, "index.json"));
        var blobs = Directory.GetFiles(System.IO.Path.Combine(store.Path, "blobs", "sha256")).Length;
        Berth("image", "attach", "--store", store.Path, "--type", "cyclonedx", spdx, "app:1").FailsNaming(System.IO.Path.GetFileName(spdx), "not a CycloneDX JSON document");
        Berth("image", "attach", "--store", store.Path, "--type", "openvex", spdx, "app:1").FailsNaming(System.IO.Path.GetFileName(spdx), "not an OpenVEX document");
        Berth("image", "attach", "--store", store.Path, "--type", "spdx", spdx, "missing:1").FailsNaming("missing:1");
        Berth("image", "attach", "--store", store.Path, "--type", "sbom", spdx, "app:1").FailsNaming("--type", "\"sbom\"");
        Assert.Equal(index, File.ReadAllBytes(System.IO.Path.Combine(store.Path, "index.json")));
        Assert.Equal(blobs, Directory.GetFiles(System.IO.Path.Combine(store.Path, "blobs", "sha256")).Length);
    }

    [Fact]
    public void Gc_keeps_each_artifact_whose_image_is_kept_and_drops_those_whose_image_is_gone()
    {
        using var store = new Store();
        store.Import("kept:1", "kept");
        store.Import("gone:1", "gone");
        var vex = Path.Combine(store.Work.Path, "vex.json");
        File.WriteAllText(vex, "{\"@context\":\"https://openvex.dev/ns/v0.2.0\",\"@id\":\"https://example.invalid/vex-1\",\"author\":\"t\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"version\":1,\"statements\":[]}");
        var keptSbom = Berth("image", "attach", "--store", store.Path, "--type", "spdx", store.Sbom("kept:1", "spdx-json"), "kept:1").Ok().Stdout.Trim();
        var keptVex = Berth("image", "attach", "--store", store.Path, "--type", "openvex", vex, "kept:1").Ok().Stdout.Trim();
        var goneSbom = Berth("image", "attach", "--store", store.Path, "--type", "cyclonedx", store.Sbom("gone:1", "cyclonedx-json"), "gone:1").Ok().Stdout.Trim();
        using var goneManifest = JsonDocument.Parse(store.Blob(goneSbom));
        var goneDocument = goneManifest.RootElement.GetProperty("layers")[0].GetProperty("digest").GetString()!;

        // A gc with both images named keeps all three.
        Berth("image", "gc", "--store", store.Path).Ok();
        Assert.True(store.HasBlob(keptSbom) && store.HasBlob(keptVex) && store.HasBlob(goneSbom) && store.HasBlob(goneDocument));

        Berth("image", "rm", "--store", store.Path, "gone:1").Ok();
        Berth("image", "gc", "--store", store.Path).Ok();
        Assert.True(store.HasBlob(keptSbom) && store.HasBlob(keptVex));
        Assert.False(store.HasBlob(goneSbom));
        Assert.False(store.HasBlob(goneDocument));
        var index = File.ReadAllText(Path.Combine(store.Path, "index.json"));
        Assert.DoesNotContain(goneSbom, index);
        var referrers = Berth("image", "referrers", "--store", store.Path, "kept:1").Ok().Stdout;
        Assert.Contains(keptSbom, referrers);
        Assert.Contains(keptVex, referrers);
        // What is kept is whole: the attached SBOM is still read back.
        Assert.Contains("\"spdxVersion\"", Berth("sbom", "kept:1", "--store", store.Path, "--format", "spdx-json", "--use-attached").Ok().Stdout);
    }

    [Fact]
    public void Attached_to_a_registry_image_it_is_pushed_through_the_tag_schema_and_listed_back()
    {
        using var store = new Store();
        store.Import("app:1", "registry");
        var repo = $"{_registry.Host}/attach-{Guid.NewGuid().ToString("N")[..8]}";
        var image = $"docker://{repo}:v1";
        Berth("image", "push", "--store", store.Path, "--dest-tls-verify=false", "app:1", image).Ok();
        var spdx = store.Sbom("app:1", "spdx-json");
        var artifact = Berth("image", "attach", "--store", store.Path, "--tls-verify=false", "--type", "spdx", spdx, image).Ok().Stdout.Trim();

        // Distribution 2.8 has no referrers API: the fallback tag sha256-HEX of the subject holds an index naming the artifact.
        var subject = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", "--tls-verify=false", image).Ok().Stdout).RootElement.GetProperty("Digest").GetString()!;
        var tagIndex = Commands.Exec("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{repo}:sha256-{subject["sha256:".Length..]}").Ok().Stdout;
        using (var idx = JsonDocument.Parse(tagIndex))
        {
            var d = Assert.Single(idx.RootElement.GetProperty("manifests").EnumerateArray());
            Assert.Equal(artifact, d.GetProperty("digest").GetString());
            Assert.Equal("application/spdx+json", d.GetProperty("artifactType").GetString());
        }
        var raw = Commands.Exec("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{repo}@{artifact}").Ok().Stdout;
        Assert.Contains(subject, raw);

        // A second document joins the same index; both are listed, and --artifact-type filters.
        var cdx = store.Sbom("app:1", "cyclonedx-json");
        var second = Berth("image", "attach", "--store", store.Path, "--tls-verify=false", "--type", "cyclonedx", cdx, image).Ok().Stdout.Trim();
        var listed = Berth("image", "referrers", "--tls-verify=false", image).Ok().Stdout;
        Assert.Contains(artifact, listed);
        Assert.Contains(second, listed);
        var onlyCdx = Berth("image", "referrers", "--tls-verify=false", "--artifact-type", "application/vnd.cyclonedx+json", "--format", "json", image).Ok().Stdout;
        Assert.Equal(second, Assert.Single(JsonDocument.Parse(onlyCdx).RootElement.GetProperty("manifests").EnumerateArray()).GetProperty("digest").GetString());

        // sbom --use-attached reads the document from the registry, verified, as attached.
        Assert.Equal(File.ReadAllText(spdx), Berth("sbom", "--tls-verify=false", image, "--format", "spdx-json", "--use-attached").Ok().Stdout);
    }
}
