using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Berth.Images.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>What identifies an image across transports: the digest of its top manifest, its config's, its layers' diff_ids.</summary>
public sealed record ImageIdentity(string Manifest, string Config, string DiffIds)
{
    public static ImageIdentity Of(Scratch s, string reference)
    {
        var raw = s.Image("inspect", "--raw", reference).Ok().Stdout;
        var config = s.Image("inspect", "--config", reference).Ok().Stdout;
        var summary = JsonNode.Parse(s.Image("inspect", reference).Ok().Stdout)!;
        // inspect prints the exact bytes and a newline.
        static string Sha(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text[..^1])));
        return new ImageIdentity(Sha(raw), Sha(config), string.Join(",", summary["layers"]!.AsArray().Select(l => (string)l!["diffID"]!)));
    }
}

/// <summary>Every local transport, read and written through one interface: copies between any two keep what must not change.</summary>
public class TransportTests
{
    public static readonly string[] Transports = { "store", "oci", "oci-archive", "dir", "docker-archive" };

    /// <summary>A two-layer image (the second deletes and adds) in an oci: layout, and its identity.</summary>
    internal static (string Reference, ImageIdentity Identity) Original(Scratch s, string name = "img")
    {
        var layout = OciLayout.Create(s.P("orig"));
        var m = TestImages.Write(layout, name, new[]
        {
            TestImages.Tar(new[] { Entry.Dir("etc"), Entry.File("etc/base", "base"), Entry.File("etc/gone", "x"), Entry.Symlink("link", "etc/base") }),
            TestImages.Tar(new[] { Entry.File("etc/.wh.gone", ""), Entry.File("top", new string('t', 100_000)) }),
        });
        var manifest = Documents.ParseManifest(layout.Blobs.ReadAll(m), m.MediaType, "m");
        var config = Documents.ParseConfig(layout.Blobs.ReadAll(manifest.Config!), "c");
        return ($"oci:{s.P("orig")}:{name}", new ImageIdentity(m.Digest!, manifest.Config!.Digest!, string.Join(",", config.Rootfs!.DiffIds!)));
    }

    internal static string At(Scratch s, string transport, string tag) => transport switch
    {
        "store" => $"pair/{tag}",
        "oci" => $"oci:{s.P(tag + "-oci")}:img",
        "oci-archive" => $"oci-archive:{s.P(tag + "-oci.tar")}:img",
        "dir" => $"dir:{s.P(tag + "-dir")}",
        _ => $"docker-archive:{s.P(tag + "-docker.tar")}:img",
    };

    internal static void AssertUnpacks(Scratch s, string reference, string bundle)
    {
        s.Image("unpack", reference, s.P(bundle)).Ok();
        Assert.Equal("base", File.ReadAllText(s.P($"{bundle}/rootfs/etc/base")));
        Assert.False(File.Exists(s.P($"{bundle}/rootfs/etc/gone")));
        Assert.Equal(100_000, new FileInfo(s.P($"{bundle}/rootfs/top")).Length);
        Assert.Equal("etc/base", new FileInfo(s.P($"{bundle}/rootfs/link")).LinkTarget);
    }

    [Fact]
    public void Copies_between_every_pair_of_local_transports_keep_the_digests()
    {
        using var s = new Scratch();
        var (orig, id) = Original(s);
        foreach (var t in Transports) s.Image("copy", orig, At(s, t, "src-" + t)).Ok();
        var fromDockerArchive = ImageIdentity.Of(s, At(s, "docker-archive", "src-docker-archive"));
        foreach (var a in Transports)
            foreach (var b in Transports.Where(b => b != a))
            {
                var dst = At(s, b, $"{a}-to-{b}");
                s.Image("copy", At(s, a, "src-" + a), dst).Ok();
                var got = ImageIdentity.Of(s, dst);
                // The config's bytes and the layers' content never change; the manifest only where docker-archive is involved:
                // its manifest is v2s2 over uncompressed layers, made the way containers/image makes it.
                Assert.Equal(id.Config, got.Config);
                Assert.Equal(id.DiffIds, got.DiffIds);
                if (a != "docker-archive" && b != "docker-archive") Assert.True(id.Manifest == got.Manifest, $"{a} to {b}: manifest {got.Manifest}, not {id.Manifest}");
                if (b == "docker-archive") Assert.Equal(fromDockerArchive, got);
                AssertUnpacks(s, dst, $"b-{a}-{b}");
                if (a == "docker-archive")
                {
                    // And back: the same uncompressed layers make the same manifest.
                    var back = At(s, "docker-archive", $"{a}-to-{b}-back");
                    s.Image("copy", dst, back).Ok();
                    Assert.Equal(fromDockerArchive, ImageIdentity.Of(s, back));
                }
            }
    }

    [Fact]
    public void Every_transport_lists_what_it_holds()
    {
        using var s = new Scratch();
        var (orig, id) = Original(s);
        foreach (var t in Transports) s.Image("copy", orig, At(s, t, "ls")).Ok();
        Assert.Contains("pair/ls:latest", s.Image("ls").Ok().Stdout);
        Assert.Contains($"img ", s.Image("ls", $"oci:{s.P("ls-oci")}").Ok().Stdout);
        Assert.Contains($"img ", s.Image("ls", $"oci-archive:{s.P("ls-oci.tar")}").Ok().Stdout);
        Assert.Contains(id.Manifest, s.Image("ls", $"dir:{s.P("ls-dir")}").Ok().Stdout);
        Assert.Contains("img:latest", s.Image("ls", $"docker-archive:{s.P("ls-docker.tar")}").Ok().Stdout);
    }

    [Fact]
    public void An_oci_archive_keeps_its_other_images_and_a_docker_archive_is_picked_by_tag_or_position()
    {
        using var s = new Scratch();
        var (orig, id) = Original(s);
        s.Image("copy", orig, $"oci-archive:{s.P("a.tar")}:one").Ok();
        s.Image("copy", orig, $"oci-archive:{s.P("a.tar")}:two").Ok();
        var ls = s.Image("ls", $"oci-archive:{s.P("a.tar")}").Ok().Stdout;
        Assert.Contains("one ", ls);
        Assert.Contains("two ", ls);
        Assert.Equal(id.Manifest, ImageIdentity.Of(s, $"oci-archive:{s.P("a.tar")}:one").Manifest);
        s.Image("copy", orig, $"docker-archive:{s.P("d.tar")}:example.com/app:v1").Ok();
        Assert.Equal(id.Config, ImageIdentity.Of(s, $"docker-archive:{s.P("d.tar")}:example.com/app:v1").Config);
        Assert.Equal(id.Config, ImageIdentity.Of(s, $"docker-archive:{s.P("d.tar")}:@0").Config);
        Assert.Equal(id.Config, ImageIdentity.Of(s, $"docker-archive:{s.P("d.tar")}").Config);
        s.Image("inspect", $"docker-archive:{s.P("d.tar")}:example.com/app:v2").Fails("no image tagged \"example.com/app:v2\"");
        s.Image("inspect", $"docker-archive:{s.P("d.tar")}:@1").Fails("no image @1");
    }

    [Fact]
    public void A_dir_destination_replaces_a_dir_image_and_refuses_any_other_directory()
    {
        using var s = new Scratch();
        var (orig, id) = Original(s);
        s.Image("copy", orig, $"dir:{s.P("d")}").Ok();
        Assert.Equal("Directory Transport Version: 1.1\n", File.ReadAllText(s.P("d/version")));
        Assert.True(File.Exists(s.P("d/manifest.json")));
        s.Image("copy", orig, $"dir:{s.P("d")}").Ok();
        Directory.CreateDirectory(s.P("precious"));
        File.WriteAllText(s.P("precious/data"), "keep me");
        var r = s.Image("copy", orig, $"dir:{s.P("precious")}");
        r.Fails("not empty and not a dir: image");
        Assert.Equal("keep me", File.ReadAllText(s.P("precious/data")));
    }

    [Theory]
    [InlineData("store")]
    [InlineData("oci")]
    [InlineData("oci-archive")]
    [InlineData("dir")]
    [InlineData("docker-archive")]
    public void A_corrupt_source_blob_is_refused_by_every_destination_and_nothing_is_named(string transport)
    {
        using var s = new Scratch();
        var (orig, _) = Original(s);
        var layout = OciLayout.OpenExisting(s.P("orig"));
        var manifest = Documents.ParseManifest(layout.Blobs.ReadAll(layout.Find("img")), MediaTypes.Manifest, "m");
        var path = layout.Blobs.PathOf(Digest.Parse(manifest.Layers![1].Digest!));
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        s.Image("copy", orig, At(s, transport, "c")).Fails($"blob {manifest.Layers[1].Digest} has digest sha256:");
        Assert.DoesNotContain("pair/c", s.Image("ls").Ok().Stdout);
        Assert.False(File.Exists(s.P("c-oci.tar")) || File.Exists(s.P("c-docker.tar")) || File.Exists(s.P("c-dir/manifest.json")));
        Assert.Empty(Directory.GetFiles(s.Dir, "*.tmp-*"));
        if (transport == "oci") Assert.Empty(OciLayout.OpenExisting(s.P("c-oci")).ReadIndex().Manifests!);
    }

    [Theory]
    [InlineData("oci:{0}/nothing:app", "oci:{0}/nothing:app: ")]
    [InlineData("dir:{0}/nothing", "dir:{0}/nothing: ")]
    [InlineData("docker-archive:{0}/nothing.tar", "docker-archive:{0}/nothing.tar: ")]
    [InlineData("docker://localhost/Bad_Name", "invalid reference \"localhost/Bad_Name\": repository name must be lowercase")]
    [InlineData("docker://127.0.0.1:1/app", "127.0.0.1:1: pinging the registry: Connection refused")]
    public void A_bad_reference_is_one_line_naming_it(string reference, string expected)
    {
        using var s = new Scratch();
        foreach (var args in new[] { new[] { "copy", string.Format(reference, s.Dir), "x" }, new[] { "inspect", string.Format(reference, s.Dir) } })
        {
            var r = s.Image(args);
            r.Fails(string.Format(expected, s.Dir));
            var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"berth: image {args[0]}: ", line);
        }
    }
}

/// <summary>docker-archives as Docker itself wrote them over the years: ID/layer.tar with links for repeated layers, compressed whole, and Docker 25's blobs/.</summary>
public class DockerSaveFormatTests
{
    static byte[] Archive(IEnumerable<(string Name, byte[]? Data, string? Link, bool Hard)> members)
    {
        var ms = new MemoryStream();
        using (var w = new System.Formats.Tar.TarWriter(ms, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, data, link, hard) in members)
            {
                var type = link is null ? System.Formats.Tar.TarEntryType.RegularFile : hard ? System.Formats.Tar.TarEntryType.HardLink : System.Formats.Tar.TarEntryType.SymbolicLink;
                var e = new System.Formats.Tar.PaxTarEntry(type, name);
                if (link is not null) e.LinkName = link;
                if (data is not null) e.DataStream = new MemoryStream(data);
                w.WriteEntry(e);
            }
        return ms.ToArray();
    }

    [Theory]
    [InlineData("legacy")]
    [InlineData("legacy, gzip-compressed whole")]
    [InlineData("docker 25")]
    public void Archives_of_every_docker_save_era_are_read(string era)
    {
        using var s = new Scratch();
        var one = TestImages.Tar(new[] { Entry.File("one", "1") });
        var two = TestImages.Tar(new[] { Entry.File("two", "2") });
        // The first layer again on top: docker save links the repeat rather than storing it twice.
        var diffs = new[] { TestImages.Sha256(one), TestImages.Sha256(two), TestImages.Sha256(one) };
        var config = System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{{\"Cmd\":[\"sh\"]}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{string.Join("\",\"", diffs)}\"]}}}}");
        var configHex = TestImages.Sha256(config)[7..];
        byte[] tar;
        if (era == "docker 25")
        {
            string Blob(byte[] b) => "blobs/sha256/" + TestImages.Sha256(b)[7..];
            var manifest = $"[{{\"Config\":\"{Blob(config)}\",\"RepoTags\":[\"app:v1\"],\"Layers\":[\"{Blob(one)}\",\"{Blob(two)}\",\"{Blob(one)}\"]}}]";
            tar = Archive(new (string, byte[]?, string?, bool)[]
            {
                ("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray(), null, false), (Blob(config), config, null, false),
                (Blob(one), one, null, false), (Blob(two), two, null, false), ("manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest), null, false),
            });
        }
        else
        {
            var manifest = $"[{{\"Config\":\"{configHex}.json\",\"RepoTags\":[\"app:v1\"],\"Layers\":[\"aaa/layer.tar\",\"bbb/layer.tar\",\"ccc/layer.tar\"]}}]";
            tar = Archive(new (string, byte[]?, string?, bool)[]
            {
                ($"{configHex}.json", config, null, false), ("aaa/layer.tar", one, null, false), ("bbb/layer.tar", two, null, false),
                ("ccc/layer.tar", null, "../aaa/layer.tar", false), ("ddd/layer.tar", null, "aaa/layer.tar", true),
                ("manifest.json", System.Text.Encoding.UTF8.GetBytes(manifest), null, false),
            });
            if (era.Contains("gzip")) tar = TestImages.Gzip(tar);
        }
        File.WriteAllBytes(s.P("saved.tar"), tar);
        var id = ImageIdentity.Of(s, $"docker-archive:{s.P("saved.tar")}:app:v1");
        Assert.Equal(string.Join(",", diffs), id.DiffIds);
        Assert.Equal(TestImages.Sha256(config), id.Config);
        s.Image("unpack", $"docker-archive:{s.P("saved.tar")}", s.P("b")).Ok();
        Assert.Equal("1", File.ReadAllText(s.P("b/rootfs/one")));
        Assert.Equal("2", File.ReadAllText(s.P("b/rootfs/two")));
        // skopeo makes the same manifest of it (skopeo 1.9 reads no compressed archive).
        if (!era.Contains("gzip")) Assert.Equal(id.Manifest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Scratch.Exec("skopeo", "inspect", "--raw", $"docker-archive:{s.P("saved.tar")}").Ok().Stdout))));
    }
}
