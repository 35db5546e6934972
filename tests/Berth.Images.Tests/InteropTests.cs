using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// The field's own tools read what Berth writes and Berth reads what they write: podman (load and
/// save, in a private vfs store) and skopeo (copy between dir:, oci: and docker-archive:), digests equal.
/// </summary>
public class InteropTests
{
    /// <summary>podman with a store of its own under the scratch directory: nothing of the machine's is touched; reset at the end.</summary>
    sealed class Podman(Scratch s) : IDisposable
    {
        readonly string[] _globals =
        {
            "--root", s.P("podman/root"), "--runroot", s.P("podman/runroot"), "--tmpdir", s.P("podman/tmp"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        };

        public Result Run(params string[] args) => Scratch.Exec("podman", _globals.Concat(args).ToArray());

        public void Dispose() => Run("system", "reset", "--force");
    }

    [Fact]
    public void Podman_loads_the_docker_archive_Berth_writes_and_Berth_reads_the_one_podman_saves()
    {
        using var s = new Scratch();
        using var podman = new Podman(s);
        var (orig, id) = TransportTests.Original(s);
        s.Image("copy", orig, $"docker-archive:{s.P("berth.tar")}:localhost/berth/interop:v1").Ok();
        Assert.Contains("localhost/berth/interop:v1", podman.Run("load", "-i", s.P("berth.tar")).Ok().Stdout);
        // podman's image id is the config's digest: the image it loaded is the one Berth wrote.
        var images = JsonNode.Parse(podman.Run("images", "--format", "json").Ok().Stdout)!.AsArray();
        var loaded = Assert.Single(images, i => i!["Names"]?.AsArray().Any(n => (string)n! == "localhost/berth/interop:v1") == true)!;
        Assert.Equal(id.Config, "sha256:" + (string)loaded["Id"]!);

        podman.Run("save", "--format", "docker-archive", "-o", s.P("podman.tar"), "localhost/berth/interop:v1").Ok();
        var saved = ImageIdentity.Of(s, $"docker-archive:{s.P("podman.tar")}:localhost/berth/interop:v1");
        Assert.Equal(id.Config, saved.Config);
        Assert.Equal(id.DiffIds, saved.DiffIds);
        // Both archives hold the same uncompressed layers, so the manifest made for them is the same.
        Assert.Equal(ImageIdentity.Of(s, $"docker-archive:{s.P("berth.tar")}").Manifest, saved.Manifest);
        TransportTests.AssertUnpacks(s, $"docker-archive:{s.P("podman.tar")}", "from-podman");
        s.Image("copy", $"docker-archive:{s.P("podman.tar")}", "from-podman").Ok();
        Assert.Equal(id.DiffIds, ImageIdentity.Of(s, "from-podman").DiffIds);

        // An OCI archive podman writes, too.
        podman.Run("save", "--format", "oci-archive", "-o", s.P("podman-oci.tar"), "localhost/berth/interop:v1").Ok();
        Assert.Equal(id.DiffIds, ImageIdentity.Of(s, $"oci-archive:{s.P("podman-oci.tar")}").DiffIds);
    }

    static string SkopeoDigest(string reference) =>
        "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Scratch.Exec("skopeo", "inspect", "--raw", reference).Ok().Stdout)));

    [Theory]
    [InlineData("dir")]
    [InlineData("oci")]
    [InlineData("docker-archive")]
    public void Skopeo_copies_what_Berth_writes_and_back_with_digests_equal(string transport)
    {
        using var s = new Scratch();
        var (orig, id) = TransportTests.Original(s);
        var (mine, theirs, back) = transport switch
        {
            "dir" => ($"dir:{s.P("mine")}", $"dir:{s.P("theirs")}", $"dir:{s.P("back")}"),
            "oci" => ($"oci:{s.P("mine")}:img", $"oci:{s.P("theirs")}:img", $"oci:{s.P("back")}:img"),
            _ => ($"docker-archive:{s.P("mine.tar")}:img", $"docker-archive:{s.P("theirs.tar")}:img", $"docker-archive:{s.P("back.tar")}:img"),
        };
        s.Image("copy", orig, mine).Ok();
        var written = ImageIdentity.Of(s, mine);
        // skopeo sees the same manifest bytes Berth does — for docker-archive, the one both make alike from the archive.
        Assert.Equal(written.Manifest, SkopeoDigest(mine));
        Scratch.Exec("skopeo", "copy", "--quiet", "--preserve-digests", mine, theirs).Ok();
        Assert.Equal(written, ImageIdentity.Of(s, theirs));
        s.Image("copy", "--preserve-digests", theirs, back).Ok();
        Assert.Equal(written.Manifest, SkopeoDigest(back));
        if (transport != "docker-archive") Assert.Equal(id.Manifest, written.Manifest);
        Assert.Equal(id.Config, written.Config);
        TransportTests.AssertUnpacks(s, theirs, "b");
    }

    [Fact]
    public void Berth_reads_what_skopeo_converts_and_compresses()
    {
        using var s = new Scratch();
        var (orig, id) = TransportTests.Original(s);
        s.Image("copy", orig, $"oci:{s.P("src")}:img").Ok();
        // skopeo's own v2s2 conversion, and its zstd layers.
        Scratch.Exec("skopeo", "copy", "--quiet", "--format", "v2s2", $"oci:{s.P("src")}:img", $"dir:{s.P("v2s2")}").Ok();
        var v2s2 = ImageIdentity.Of(s, $"dir:{s.P("v2s2")}");
        Assert.Equal(SkopeoDigest($"dir:{s.P("v2s2")}"), v2s2.Manifest);
        Assert.Equal(id.DiffIds, v2s2.DiffIds);
        Scratch.Exec("skopeo", "copy", "--quiet", "--dest-compress-format", "zstd", $"oci:{s.P("src")}:img", $"oci:{s.P("zstd")}:img").Ok();
        Assert.Equal(id.DiffIds, ImageIdentity.Of(s, $"oci:{s.P("zstd")}:img").DiffIds);
        TransportTests.AssertUnpacks(s, $"oci:{s.P("zstd")}:img", "z");
        // And what Berth converts, skopeo reads as the same image.
        s.Image("copy", "--format", "v2s2", orig, $"dir:{s.P("berth-v2s2")}").Ok();
        var inspected = JsonNode.Parse(Scratch.Exec("skopeo", "inspect", $"dir:{s.P("berth-v2s2")}").Ok().Stdout)!;
        Assert.Equal(ImageIdentity.Of(s, $"dir:{s.P("berth-v2s2")}").Manifest, (string)inspected["Digest"]!);
    }
}
