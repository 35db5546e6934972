using System.Text.Json.Nodes;
using Berth.Images.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>skopeo copy's flags, as Berth's copy implements them: --all, --platform, --format, --dest-compress-format, --preserve-digests.</summary>
public class CopySemanticsTests
{
    static byte[] Layer(string arch) => TestImages.Tar(new[] { Entry.File("arch", arch) });

    /// <summary>An index of two platforms, amd64 and arm64/v8, in an oci: layout.</summary>
    static (string Reference, Descriptor Index, Descriptor Amd, Descriptor Arm) MultiPlatform(Scratch s)
    {
        var layout = OciLayout.Create(s.P("multi"));
        var amd = TestImages.Write(layout, "x", new[] { Layer("amd64") }, architecture: "amd64", tag: false);
        var arm = TestImages.Write(layout, "x", new[] { Layer("arm64") }, architecture: "arm64", tag: false);
        arm.Platform!.Variant = "v8";
        var index = TestImages.Index(layout, "multi", new[] { amd, arm });
        return ($"oci:{s.P("multi")}:multi", index, amd, arm);
    }

    static string Raw(Scratch s, string reference) => s.Image("inspect", "--raw", reference).Ok().Stdout;

    [Fact]
    public void Without_all_one_platform_is_copied_and_named_and_with_all_the_whole_index()
    {
        using var s = new Scratch();
        var (multi, index, amd, arm) = MultiPlatform(s);
        // Default: the host's platform (this machine is amd64), as skopeo copies an index.
        Assert.Equal(amd.Digest, s.Image("copy", multi, "one").Ok().Stdout.Trim());
        Assert.Equal(arm.Digest, s.Image("copy", "--platform", "linux/arm64/v8", multi, "arm").Ok().Stdout.Trim());
        Assert.Equal("arm64", JsonNode.Parse(s.Image("inspect", "--config", "arm").Ok().Stdout)!["architecture"]!.ToString());
        s.Image("copy", "--platform", "linux/s390x", multi, "none").Fails("no image for linux/s390x");

        Assert.Equal(index.Digest, s.Image("copy", "--all", multi, $"dir:{s.P("all-dir")}").Ok().Stdout.Trim());
        Assert.True(File.Exists(s.P($"all-dir/{Digest.Parse(arm.Digest!).Encoded}.manifest.json")));
        Assert.Equal(index.Digest, s.Image("copy", "--all", $"dir:{s.P("all-dir")}", "all").Ok().Stdout.Trim());
        Assert.Contains(MediaTypes.Index, Raw(s, "all"));
        s.Image("unpack", "--platform", "linux/arm64", "all", s.P("b-arm")).Ok();
        Assert.Equal("arm64", File.ReadAllText(s.P("b-arm/rootfs/arch")));
        s.Image("unpack", "all", s.P("b-amd")).Ok();
        Assert.Equal("amd64", File.ReadAllText(s.P("b-amd/rootfs/arch")));
        // Every platform went through every transport that holds an index.
        Assert.Equal(index.Digest, s.Image("copy", "--all", "all", $"oci-archive:{s.P("all.tar")}:x").Ok().Stdout.Trim());
        Assert.Equal(index.Digest, s.Image("copy", "--all", $"oci-archive:{s.P("all.tar")}:x", $"oci:{s.P("all-oci")}:x").Ok().Stdout.Trim());
        Assert.Contains(arm.Digest!, Scratch.Exec("skopeo", "inspect", "--raw", $"dir:{s.P("all-dir")}").Ok().Stdout);
        // A docker-archive holds one image.
        s.Image("copy", "--all", multi, $"docker-archive:{s.P("d.tar")}").Fails("holds one image, not an index");
        s.Image("copy", "--platform", "linux/arm64", multi, $"docker-archive:{s.P("d.tar")}").Ok();
        s.Image("copy", "--all", "--platform", "linux/arm64", multi, "x").Fails("one or the other");
    }

    [Fact]
    public void All_with_format_v2s2_makes_a_manifest_list_and_back_to_oci_the_same_index()
    {
        using var s = new Scratch();
        var (multi, index, _, _) = MultiPlatform(s);
        s.Image("copy", "--all", "--format", "v2s2", multi, $"oci:{s.P("v2")}:x").Ok();
        var list = JsonNode.Parse(Raw(s, $"oci:{s.P("v2")}:x"))!;
        Assert.Equal(MediaTypes.DockerManifestList, (string)list["mediaType"]!);
        Assert.All(list["manifests"]!.AsArray(), m => Assert.Equal(MediaTypes.DockerManifest, (string)m!["mediaType"]!));
        Assert.Equal(index.Digest, s.Image("copy", "--all", "--format", "oci", $"oci:{s.P("v2")}:x", $"oci:{s.P("back")}:x").Ok().Stdout.Trim());
    }

    [Fact]
    public void Format_v2s2_converts_media_types_keeps_config_and_layers_and_converts_back_to_the_same_digest()
    {
        using var s = new Scratch();
        var (orig, id) = TransportTests.Original(s);
        s.Image("copy", "--format", "v2s2", orig, $"oci:{s.P("v2")}:img").Ok();
        var v2 = JsonNode.Parse(Raw(s, $"oci:{s.P("v2")}:img"))!;
        Assert.Equal(MediaTypes.DockerManifest, (string)v2["mediaType"]!);
        Assert.Equal(MediaTypes.DockerConfig, (string)v2["config"]!["mediaType"]!);
        Assert.All(v2["layers"]!.AsArray(), l => Assert.Equal(MediaTypes.DockerLayerGzip, (string)l!["mediaType"]!));
        var converted = ImageIdentity.Of(s, $"oci:{s.P("v2")}:img");
        Assert.Equal((id.Config, id.DiffIds), (converted.Config, converted.DiffIds));
        Assert.NotEqual(id.Manifest, converted.Manifest);
        // The same blobs, only their types changed: the conversion back gives the original bytes.
        s.Image("copy", "--format", "oci", $"oci:{s.P("v2")}:img", $"oci:{s.P("back")}:img").Ok();
        Assert.Equal(id.Manifest, ImageIdentity.Of(s, $"oci:{s.P("back")}:img").Manifest);
        TransportTests.AssertUnpacks(s, $"oci:{s.P("v2")}:img", "b");
        // skopeo agrees it is a v2s2 image (skopeo 1.9 reads none in an oci: layout; newer ones do).
        s.Image("copy", $"oci:{s.P("v2")}:img", $"dir:{s.P("v2-dir")}").Ok();
        Assert.Contains(MediaTypes.DockerManifest, Scratch.Exec("skopeo", "inspect", "--raw", $"dir:{s.P("v2-dir")}").Ok().Stdout);
        // From v2s2 straight to OCI zstd: the conversion and the recompression in one copy.
        s.Image("copy", "--format", "oci", "--dest-compress-format", "zstd", $"oci:{s.P("v2")}:img", $"oci:{s.P("z")}:img").Ok();
        Assert.All(JsonNode.Parse(Raw(s, $"oci:{s.P("z")}:img"))!["layers"]!.AsArray(), l => Assert.Equal(MediaTypes.LayerZstd, (string)l!["mediaType"]!));
        Assert.Equal(id.DiffIds, ImageIdentity.Of(s, $"oci:{s.P("z")}:img").DiffIds);
        s.Image("copy", "--preserve-digests", "--format", "v2s2", orig, $"oci:{s.P("no")}:img").Fails("--preserve-digests with --format v2s2");
        s.Image("copy", "--format", "v2s1", orig, $"oci:{s.P("no")}:img").Fails("schema 1 is not written");
    }

    [Fact]
    public void A_schema1_manifest_is_refused_with_a_clear_message()
    {
        using var s = new Scratch();
        Directory.CreateDirectory(s.P("s1"));
        File.WriteAllText(s.P("s1/manifest.json"), "{\"schemaVersion\":1,\"name\":\"old\",\"tag\":\"latest\",\"architecture\":\"amd64\",\"fsLayers\":[],\"history\":[],\"signatures\":[]}");
        File.WriteAllText(s.P("s1/version"), "Directory Transport Version: 1.1\n");
        s.Image("copy", $"dir:{s.P("s1")}", "old").Fails("a Docker schema 1 manifest");
        s.Image("inspect", $"dir:{s.P("s1")}").Fails("not supported (deprecated since 2017");
    }

    [Fact]
    public void Dest_compress_format_zstd_recompresses_layers_keeping_diff_ids_and_the_result_unpacks()
    {
        using var s = new Scratch();
        var (orig, id) = TransportTests.Original(s);
        s.Image("copy", "--dest-compress-format", "zstd", orig, $"oci:{s.P("z")}:img").Ok();
        var raw = JsonNode.Parse(Raw(s, $"oci:{s.P("z")}:img"))!;
        Assert.All(raw["layers"]!.AsArray(), l => Assert.Equal(MediaTypes.LayerZstd, (string)l!["mediaType"]!));
        var z = ImageIdentity.Of(s, $"oci:{s.P("z")}:img");
        Assert.Equal((id.Config, id.DiffIds), (z.Config, z.DiffIds));
        Assert.NotEqual(id.Manifest, z.Manifest);
        var layer = Digest.Parse((string)raw["layers"]![0]!["digest"]!);
        Assert.Equal(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, File.ReadAllBytes(s.P($"z/blobs/sha256/{layer.Encoded}"))[..4]);
        // zstd's own tool reads the blob, and both unpack modes read the image.
        Scratch.Exec("zstd", "-t", "-q", s.P($"z/blobs/sha256/{layer.Encoded}")).Ok();
        TransportTests.AssertUnpacks(s, $"oci:{s.P("z")}:img", "plain");
        s.Image("copy", $"oci:{s.P("z")}:img", "z").Ok();
        s.Image("unpack", "--overlay", "z", s.P("overlay")).Ok();
        Assert.Equal("base", File.ReadAllText(s.P("overlay/rootfs/etc/base")));
        s.Image("umount", s.P("overlay")).Ok();
        // Back to gzip, and into a docker-archive (uncompressed): the same content.
        s.Image("copy", "--dest-compress-format", "gzip", $"oci:{s.P("z")}:img", $"oci:{s.P("g")}:img").Ok();
        Assert.Equal(id.DiffIds, ImageIdentity.Of(s, $"oci:{s.P("g")}:img").DiffIds);
        s.Image("copy", $"oci:{s.P("z")}:img", $"docker-archive:{s.P("d.tar")}").Ok();
        TransportTests.AssertUnpacks(s, $"docker-archive:{s.P("d.tar")}", "from-archive");
        // Docker v2s2 has no zstd layer type.
        s.Image("copy", "--format", "v2s2", $"oci:{s.P("z")}:img", $"oci:{s.P("v2")}:img").Fails("a zstd layer cannot be described in a Docker v2s2 manifest");
        s.Image("copy", "--preserve-digests", "--dest-compress-format", "zstd", orig, $"oci:{s.P("no")}:img").Fails("--preserve-digests");
    }

    [Fact]
    public void Preserve_digests_refuses_every_change_and_allows_a_copy_that_changes_nothing()
    {
        using var s = new Scratch();
        var (orig, id) = TransportTests.Original(s);
        Assert.Equal(id.Manifest, s.Image("copy", "--preserve-digests", orig, $"dir:{s.P("d")}").Ok().Stdout.Trim());
        // docker-archive stores v2s2 only: converting the OCI manifest would alter its digest.
        s.Image("copy", "--preserve-digests", orig, $"docker-archive:{s.P("d.tar")}").Fails("--preserve-digests");
        Assert.False(File.Exists(s.P("d.tar")));
        Assert.Empty(Directory.GetFiles(s.Dir, "d.tar.tmp-*"));
        s.Image("copy", "--remove-signatures", orig, "signed").Ok();
    }

    /// <summary>A copy is a stream: peak memory does not grow with the layer (a 256 MiB layer here, recompressed or decompressed).</summary>
    [Theory]
    [InlineData("recompressed to zstd")]
    [InlineData("converted to v2s2")]
    [InlineData("decompressed into a docker-archive")]
    [InlineData("read back from the docker-archive")]
    public void Copying_a_large_layer_stays_bounded_in_memory(string how)
    {
        using var s = new Scratch();
        var rnd = new Random(1);
        var big = s.P("big.bin");
        using (var f = File.Create(big))
        {
            var chunk = new byte[1 << 20];
            for (int i = 0; i < 256; i++)
            {
                rnd.NextBytes(chunk.AsSpan(0, chunk.Length / 2));
                f.Write(chunk);
            }
        }
        Scratch.Exec("tar", "-C", s.Dir, "-cf", s.P("big.tar"), "big.bin").Ok();
        File.Delete(big);
        s.Image("import", s.P("big.tar"), "big").Ok();
        if (how.StartsWith("read back")) s.Image("copy", "big", $"docker-archive:{s.P("d.tar")}").Ok();
        string[] args = how switch
        {
            "recompressed to zstd" => new[] { "--dest-compress-format", "zstd", "big", $"oci:{s.P("o")}:big" },
            "converted to v2s2" => new[] { "--format", "v2s2", "big", $"dir:{s.P("dir")}" },
            "decompressed into a docker-archive" => new[] { "big", $"docker-archive:{s.P("d.tar")}" },
            _ => new[] { $"docker-archive:{s.P("d.tar")}", "back" },
        };
        var r = Scratch.Exec("/usr/bin/time", new[] { "-f", "%M", Scratch.Binary, "image", "copy" }.Concat(args).Concat(new[] { "--store", s.Store }).ToArray()).Ok();
        long kb = long.Parse(r.Stderr.Trim().Split('\n')[^1]);
        Assert.True(kb < 64 * 1024, $"copy {how} peaked at {kb} KiB");
    }
}
