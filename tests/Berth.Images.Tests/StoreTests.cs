using System.Text.Json.Nodes;
using Berth.Images.Store;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>The store, layouts and archives through `berth image`.</summary>
public class StoreTests
{
    static byte[] SmallLayer(string name = "hello", string content = "hi") => TestImages.Tar(new[] { Entry.File(name, content) });

    [Fact]
    public void Import_ls_inspect_tag_rm_and_gc()
    {
        using var s = new Scratch();
        File.WriteAllBytes(s.P("rootfs.tar"), TestImages.BusyboxTar());
        var digest = s.Image("import", s.P("rootfs.tar"), "busybox").Ok().Stdout.Trim();
        Assert.Matches("^sha256:[0-9a-f]{64}$", digest);
        Assert.Contains("busybox:latest", s.Image("ls").Ok().Stdout);
        var info = JsonNode.Parse(s.Image("inspect", "busybox").Ok().Stdout)!;
        Assert.Equal(digest, (string)info["digest"]!);
        Assert.Single(info["layers"]!.AsArray());
        var config = JsonNode.Parse(s.Image("inspect", "--config", "busybox").Ok().Stdout)!;
        Assert.Equal("linux", (string)config["os"]!);
        var raw = JsonNode.Parse(s.Image("inspect", "--raw", "busybox").Ok().Stdout)!;
        Assert.Equal(MediaTypes.Manifest, (string)raw["mediaType"]!);

        s.Image("tag", "busybox", "other:v1").Ok();
        Assert.Contains("other:v1", s.Image("ls").Ok().Stdout);
        s.Image("rm", "busybox").Ok();
        Assert.Equal("removed 0 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout); // still tagged as other:v1
        s.Image("rm", "other:v1").Ok();
        Assert.Equal("removed 3 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
        Assert.Empty(Directory.GetFiles(Path.Combine(s.Store, "blobs", "sha256")));
        s.Image("rm", "nothing").Fails("no image named");
    }

    [Fact]
    public void Copy_moves_images_between_the_store_layouts_and_archives_keeping_annotations()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("src"));
        var desc = TestImages.Write(layout, "app:1", new[] { SmallLayer() });
        layout.Update(index =>
        {
            index.Manifests![0].Annotations!["org.example.note"] = "kept";
            return 0;
        });
        s.Image("copy", $"oci:{s.P("src")}:app:1", $"oci-archive:{s.P("app.tar")}:v1").Ok();
        s.Image("copy", $"oci-archive:{s.P("app.tar")}:v1", "app").Ok();
        s.Image("copy", "app", $"oci:{s.P("dst")}:final").Ok();
        var index = OciLayout.OpenExisting(s.P("dst")).ReadIndex();
        Assert.Equal(desc.Digest, index.Manifests!.Single().Digest);
        Assert.Equal("kept", index.Manifests![0].Annotations!["org.example.note"]);
        Assert.Contains("app:latest", s.Image("ls").Ok().Stdout);
        Assert.Contains("v1", s.Image("ls", $"oci-archive:{s.P("app.tar")}").Ok().Stdout);
        // Other tools read what Berth wrote.
        Assert.Contains(desc.Digest!, Scratch.Exec("skopeo", "inspect", "--raw", $"oci:{s.P("dst")}:final").Stdout + Scratch.Exec("skopeo", "inspect", $"oci:{s.P("dst")}:final").Stdout);
    }

    [Fact]
    public void An_index_picks_the_hosts_platform_or_the_one_asked_for()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("multi"));
        var amd = TestImages.Write(layout, "x", new[] { SmallLayer("arch", "amd64") }, architecture: "amd64", tag: false);
        var arm = TestImages.Write(layout, "x", new[] { SmallLayer("arch", "arm64") }, architecture: "arm64", tag: false);
        TestImages.Index(layout, "multi", new[] { amd, arm });
        var host = JsonNode.Parse(s.Image("inspect", $"oci:{s.P("multi")}:multi").Ok().Stdout)!;
        Assert.Equal(amd.Digest, (string)host["manifest"]!);
        var other = JsonNode.Parse(s.Image("inspect", "--platform", "linux/arm64", $"oci:{s.P("multi")}:multi").Ok().Stdout)!;
        Assert.Equal(arm.Digest, (string)other["manifest"]!);
        s.Image("inspect", "--platform", "linux/s390x", $"oci:{s.P("multi")}:multi").Fails("no image for linux/s390x");
        s.Image("unpack", "--platform", "linux/arm64", $"oci:{s.P("multi")}:multi", s.P("b")).Ok();
        Assert.Equal("arm64", File.ReadAllText(s.P("b/rootfs/arch")));
    }

    [Fact]
    public void Docker_v2_2_manifests_and_manifest_lists_are_read()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("docker"));
        var m = TestImages.Write(layout, "d", new[] { SmallLayer() }, manifestType: MediaTypes.DockerManifest,
            configType: MediaTypes.DockerConfig, layerType: MediaTypes.DockerLayerGzip, tag: false);
        TestImages.Index(layout, "list", new[] { m }, MediaTypes.DockerManifestList);
        s.Image("unpack", $"oci:{s.P("docker")}:list", s.P("b")).Ok();
        Assert.Equal("hi", File.ReadAllText(s.P("b/rootfs/hello")));
    }

    /// <summary>CVE-2021-41190: a blob that says it is one kind of document while the descriptor says another.</summary>
    [Fact]
    public void A_manifest_whose_media_type_disagrees_with_its_descriptor_is_refused()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("l"));
        var real = TestImages.Write(layout, "real", new[] { SmallLayer() }, tag: false);
        // An index pretending (in its own mediaType) to be something else than the descriptor says.
        var doc = new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = new() { real } };
        var blob = layout.Blobs.Write(JsonOut.Document(doc), MediaTypes.Index);
        layout.Tag("liar", new Descriptor { MediaType = MediaTypes.Manifest, Digest = blob.Digest, Size = blob.Size });
        s.Image("inspect", $"oci:{s.P("l")}:liar").Fails("\"manifests\" field");
        // A manifest whose own mediaType says index.
        var manifest = JsonNode.Parse(JsonOut.Document(Documents.ParseManifest(layout.Blobs.ReadAll(real), null, "m")))!.AsObject();
        manifest["mediaType"] = MediaTypes.Index;
        var b2 = layout.Blobs.Write(System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString()), MediaTypes.Manifest);
        layout.Tag("liar2", new Descriptor { MediaType = MediaTypes.Manifest, Digest = b2.Digest, Size = b2.Size });
        s.Image("unpack", $"oci:{s.P("l")}:liar2", s.P("b")).Fails("differs from the descriptor");
        Assert.False(Directory.Exists(s.P("b")));
    }

    [Fact]
    public void A_corrupted_blob_is_detected_and_not_copied()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("l"));
        TestImages.Write(layout, "img", new[] { SmallLayer() });
        var layerFile = Directory.GetFiles(Path.Combine(s.P("l"), "blobs", "sha256")).OrderByDescending(f => new FileInfo(f).Length).First();
        var bytes = File.ReadAllBytes(layerFile);
        bytes[^20] ^= 0xff;
        File.WriteAllBytes(layerFile, bytes);
        s.Image("copy", $"oci:{s.P("l")}:img", "img").Fails("content has digest");
        Assert.DoesNotContain("img", s.Image("ls").Ok().Stdout);
    }

    [Fact]
    public void Zstd_layers_are_unpacked_in_process()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("z"));
        TestImages.Write(layout, "z", new[] { SmallLayer("zfile", "compressed with zstd") }, layerType: MediaTypes.LayerZstd, compress: tar =>
        {
            File.WriteAllBytes(s.P("layer.tar"), tar);
            Scratch.Exec("zstd", "-q", "-f", s.P("layer.tar"), "-o", s.P("layer.tar.zst")).Ok();
            return File.ReadAllBytes(s.P("layer.tar.zst"));
        });
        s.Image("unpack", $"oci:{s.P("z")}:z", s.P("b")).Ok();
        Assert.Equal("compressed with zstd", File.ReadAllText(s.P("b/rootfs/zfile")));
    }

    [Fact]
    public void Concurrent_writers_to_one_store_keep_every_image()
    {
        using var s = new Scratch();
        File.WriteAllBytes(s.P("a.tar"), SmallLayer("a", "1"));
        var tasks = Enumerable.Range(0, 8).Select(i => Task.Run(() => s.Image("import", s.P("a.tar"), $"parallel{i}").Ok())).ToArray();
        Task.WaitAll(tasks);
        var ls = s.Image("ls").Ok().Stdout;
        for (int i = 0; i < 8; i++) Assert.Contains($"parallel{i}:latest", ls);
    }

    [Fact]
    public void A_layout_umoci_made_is_read_and_one_berth_made_is_unpacked_by_umoci()
    {
        using var s = new Scratch();
        // umoci builds an image with two layers ...
        Scratch.Exec("umoci", "init", "--layout", s.P("u")).Ok();
        Scratch.Exec("umoci", "new", "--image", $"{s.P("u")}:t").Ok();
        Scratch.Exec("umoci", "unpack", "--image", $"{s.P("u")}:t", s.P("work")).Ok();
        File.WriteAllText(s.P("work/rootfs/from-umoci"), "u");
        Scratch.Exec("umoci", "repack", "--image", $"{s.P("u")}:t", s.P("work")).Ok();
        s.Image("unpack", $"oci:{s.P("u")}:t", s.P("b")).Ok();
        Assert.Equal("u", File.ReadAllText(s.P("b/rootfs/from-umoci")));
        // ... and unpacks one Berth wrote.
        var layout = OciLayout.Create(s.P("mine"));
        TestImages.Write(layout, "m", new[] { SmallLayer("from-berth", "b") });
        Scratch.Exec("umoci", "unpack", "--image", $"{s.P("mine")}:m", s.P("ub")).Ok();
        Assert.Equal("b", File.ReadAllText(s.P("ub/rootfs/from-berth")));
    }
}
