using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Berth.Images.Registry;
using Berth.Oci.Image;

namespace Berth.Registry.Tests.Fixtures;

/// <summary>A blob of a test image: its bytes, digest and media type.</summary>
public sealed record TestBlob(byte[] Bytes, string MediaType)
{
    public Digest Digest { get; } = RegistryClientDigest(Bytes);
    public long Size => Bytes.Length;
    public string DescriptorJson => $"{{\"mediaType\":\"{MediaType}\",\"digest\":\"{Digest}\",\"size\":{Size}}}";

    static Digest RegistryClientDigest(byte[] bytes) => new("sha256", Convert.ToHexStringLower(SHA256.HashData(bytes)));
}

/// <summary>
/// A real, small image made in memory: gzip'd tar layers (one file of random bytes each, so they
/// do not compress away), an OCI config naming their diff_ids, and an OCI (or Docker v2s2) manifest.
/// skopeo and podman read it as any image.
/// </summary>
public sealed class TestImage
{
    public IReadOnlyList<TestBlob> Layers { get; }
    public TestBlob Config { get; }
    public byte[] Manifest { get; }
    public string ManifestType { get; }
    public Digest Digest { get; }

    public IEnumerable<TestBlob> Blobs => Layers.Append(Config);

    public TestImage(int layers = 2, int layerBytes = 64 << 10, bool docker = false, int seed = 1, string architecture = "amd64")
    {
        var rng = new Random(seed);
        var list = new List<TestBlob>();
        var diffIds = new List<string>();
        for (int i = 0; i < layers; i++)
        {
            var content = new byte[layerBytes];
            rng.NextBytes(content);
            var tar = new MemoryStream();
            using (var w = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"layer{i}/data.bin") { DataStream = new MemoryStream(content) });
            diffIds.Add("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar.ToArray())));
            var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tar.ToArray());
            list.Add(new TestBlob(gz.ToArray(), docker ? MediaTypes.DockerLayerGzip : MediaTypes.LayerGzip));
        }
        Layers = list;
        var config = "{\"architecture\":\"" + architecture + "\",\"os\":\"linux\",\"created\":\"2026-01-01T00:00:00Z\","
            + "\"config\":{\"Cmd\":[\"/bin/sh\"],\"Labels\":{\"seed\":\"" + seed + "\"}},"
            + "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + string.Join(",", diffIds.Select(d => $"\"{d}\"")) + "]}}";
        Config = new TestBlob(Encoding.UTF8.GetBytes(config), docker ? MediaTypes.DockerConfig : MediaTypes.Config);
        ManifestType = docker ? MediaTypes.DockerManifest : MediaTypes.Manifest;
        Manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{ManifestType}}","config":{{Config.DescriptorJson}},"layers":[{{string.Join(",", Layers.Select(l => l.DescriptorJson))}}]}""");
        Digest = new Digest("sha256", Convert.ToHexStringLower(SHA256.HashData(Manifest)));
    }

    /// <summary>Pushes every blob then the manifest under <paramref name="tag"/>.</summary>
    public async Task PushAsync(RegistryClient client, string repository, string tag, BlobPushOptions? options = null)
    {
        foreach (var b in Blobs)
            await client.PushBlobAsync(repository, b.Digest, b.Size, () => new MemoryStream(b.Bytes), options);
        await client.PutManifestAsync(repository, tag, Manifest, ManifestType);
    }

    /// <summary>Writes the image as an OCI layout at <paramref name="dir"/>, tagged <paramref name="tag"/> (for skopeo copy oci:DIR:TAG).</summary>
    public void WriteLayout(string dir, string tag)
    {
        var blobs = Path.Combine(dir, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        foreach (var b in Blobs) File.WriteAllBytes(Path.Combine(blobs, b.Digest.Encoded), b.Bytes);
        File.WriteAllBytes(Path.Combine(blobs, Digest.Encoded), Manifest);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
        File.WriteAllText(Path.Combine(dir, "index.json"),
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" + ManifestType + "\",\"digest\":\"" + Digest + "\",\"size\":" + Manifest.Length
            + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + tag + "\"}}]}");
    }
}
