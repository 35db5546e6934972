using System.Text.Json;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>The field's own tool on the other end: what Berth pushes, skopeo reads; what skopeo pushes, Berth reads. Digests equal.</summary>
public sealed class InteropTests(PlainRegistry registry) : IClassFixture<PlainRegistry>
{
    static string Repo(string name) => $"interop/{name}-{Guid.NewGuid():N}"[..40].TrimEnd('-');

    [Fact]
    public async Task What_Berth_pushes_skopeo_inspects_and_copies_with_the_same_digests()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 3, layerBytes: 100_000, seed: 60);
        var repo = Repo("berth-push");
        await image.PushAsync(client, repo, "v1", new BlobPushOptions { ChunkSize = 64 << 10 });

        var inspect = Commands.Exec("skopeo", "inspect", "--tls-verify=false", $"docker://{registry.Host}/{repo}:v1").Ok();
        using (var doc = JsonDocument.Parse(inspect.Stdout))
        {
            Assert.Equal(image.Digest.ToString(), doc.RootElement.GetProperty("Digest").GetString());
            Assert.Equal(image.Layers.Select(l => l.Digest.ToString()), doc.RootElement.GetProperty("Layers").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("amd64", doc.RootElement.GetProperty("Architecture").GetString());
        }
        var raw = Commands.Exec("skopeo", "inspect", "--raw", "--tls-verify=false", $"docker://{registry.Host}/{repo}:v1").Ok();
        Assert.Equal(image.Manifest, System.Text.Encoding.UTF8.GetBytes(raw.Stdout.TrimEnd('\n')));

        var dir = Directory.CreateTempSubdirectory("berth-interop-").FullName;
        try
        {
            Commands.Exec("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--preserve-digests", $"docker://{registry.Host}/{repo}:v1", $"oci:{dir}:v1").Ok();
            foreach (var b in image.Blobs.Append(new TestBlob(image.Manifest, image.ManifestType)))
                Assert.Equal(b.Bytes, File.ReadAllBytes(Path.Combine(dir, "blobs", "sha256", b.Digest.Encoded)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task What_skopeo_pushes_Berth_pulls_with_the_same_digests()
    {
        var image = new TestImage(layers: 2, layerBytes: 100_000, seed: 61);
        var dir = Directory.CreateTempSubdirectory("berth-interop-").FullName;
        var repo = Repo("skopeo-push");
        try
        {
            image.WriteLayout(dir, "v1");
            Commands.Exec("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests", $"oci:{dir}:v1", $"docker://{registry.Host}/{repo}:v1").Ok();
        }
        finally
        {
            Directory.Delete(dir, true);
        }
        using var client = registry.Client();
        var m = await client.GetManifestAsync(repo, "v1");
        Assert.Equal(image.Digest, m.Digest);
        Assert.Equal(image.Manifest, m.Bytes);
        foreach (var b in image.Blobs)
            Assert.Equal(b.Bytes, await client.GetBlobBytesAsync(repo, new Descriptor { Digest = b.Digest.ToString(), Size = b.Size }));
    }

    [Fact]
    public async Task A_Docker_v2s2_image_from_skopeo_keeps_its_media_type_and_digest()
    {
        var source = Repo("oci-src");
        var dest = Repo("v2s2");
        using var client = registry.Client();
        var image = new TestImage(layers: 1, layerBytes: 50_000, seed: 62);
        await image.PushAsync(client, source, "v1");
        Commands.Exec("skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--format=v2s2",
            $"docker://{registry.Host}/{source}:v1", $"docker://{registry.Host}/{dest}:v1").Ok();
        var m = await client.GetManifestAsync(dest, "v1");
        Assert.Equal(MediaTypes.DockerManifest, m.MediaType);
        var skopeoDigest = Commands.Exec("skopeo", "inspect", "--format={{.Digest}}", "--tls-verify=false", $"docker://{registry.Host}/{dest}:v1").Ok().Stdout.Trim();
        Assert.Equal(skopeoDigest, m.Digest.ToString());
    }
}
