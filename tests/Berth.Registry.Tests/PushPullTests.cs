using System.Net;
using System.Text;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>The protocol against a plain-HTTP docker-registry: push (monolithic, chunked, mount), pull, HEAD, tags, delete, referrers.</summary>
public sealed class PushPullTests(PlainRegistry registry) : IClassFixture<PlainRegistry>
{
    static string Repo(string name) => $"test/{name}-{Guid.NewGuid():N}"[..40].TrimEnd('-');

    [Fact]
    public async Task An_image_pushed_monolithically_is_pulled_back_byte_for_byte()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 3);
        var repo = Repo("mono");
        await image.PushAsync(client, repo, "v1");

        var m = await client.GetManifestAsync(repo, "v1");
        Assert.Equal(image.Manifest, m.Bytes);
        Assert.Equal(image.Digest, m.Digest);
        Assert.Equal(MediaTypes.Manifest, m.MediaType);
        var byDigest = await client.GetManifestAsync(repo, image.Digest.ToString());
        Assert.Equal(image.Manifest, byDigest.Bytes);
        foreach (var b in image.Blobs)
        {
            await using var s = await client.OpenBlobAsync(repo, b.Digest, b.Size);
            var copy = new MemoryStream();
            await s.CopyToAsync(copy);
            Assert.True(s.Verified);
            Assert.Equal(b.Bytes, copy.ToArray());
        }
        Assert.Equal(registry.Host, client.Registry);
        Assert.Equal("http", client.BaseUri!.Scheme);
    }

    [Fact]
    public async Task A_chunked_upload_sends_PATCHes_with_Content_Range_and_a_final_PUT()
    {
        using var proxy = new FaultProxy(registry.Port);
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var blob = new TestImage(layers: 1, layerBytes: 300_000).Layers[0];
        var repo = Repo("chunked");
        var outcome = await client.PushBlobAsync(repo, blob.Digest, blob.Size, () => new MemoryStream(blob.Bytes), new BlobPushOptions { ChunkSize = 100_000 });
        Assert.Equal(BlobPushOutcome.Uploaded, outcome);
        var seen = proxy.Seen();
        Assert.Equal(4, seen.Count(r => r.Method == "PATCH" && r.Status == 202)); // 300 kB+ in 100 kB chunks
        Assert.Single(seen, r => r.Method == "PUT" && r.Path.Contains("digest=sha256") && r.Status == 201);
        // This registry sends relative Locations (http.relativeurls): each step went where the last one said.
        Assert.All(seen.Where(r => r.Method is "POST" or "PATCH"), r => Assert.StartsWith("/v2/", r.Location));
        Assert.Equal(blob.Size, await client.HeadBlobAsync(repo, blob.Digest));
    }

    [Fact]
    public async Task A_blob_the_registry_has_is_not_sent_again_and_another_repository_mounts_it()
    {
        using var proxy = new FaultProxy(registry.Port);
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var image = new TestImage(layers: 1, seed: 7);
        var a = Repo("mount-a");
        var b = Repo("mount-b");
        await image.PushAsync(client, a, "v1");
        var blob = image.Layers[0];
        Assert.Equal(BlobPushOutcome.Existed, await client.PushBlobAsync(a, blob.Digest, blob.Size, () => throw new InvalidOperationException("not read")));
        Assert.Equal(BlobPushOutcome.Mounted, await client.PushBlobAsync(b, blob.Digest, blob.Size, () => throw new InvalidOperationException("not read"),
            new BlobPushOptions { MountFrom = a }));
        Assert.Contains(proxy.Seen(), r => r.Method == "POST" && r.Path.Contains("mount=sha256") && r.Path.Contains("from=") && r.Status == 201);
        Assert.Equal(blob.Size, await client.HeadBlobAsync(b, blob.Digest));
    }

    [Fact]
    public async Task A_missing_manifest_is_one_line_naming_the_reference_and_the_spec_code()
    {
        using var client = registry.Client();
        var repo = Repo("missing");
        await new TestImage(layers: 1).PushAsync(client, repo, "v1");
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(repo, "nope"));
        Assert.Equal(ErrorCodes.ManifestUnknown, e.Code);
        Assert.StartsWith($"{registry.Host}/{repo}:nope: reading manifest: MANIFEST_UNKNOWN", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Null(await client.HeadManifestAsync(repo, "nope"));
        var blob = await Assert.ThrowsAsync<RegistryException>(() => client.OpenBlobAsync(repo, new Digest("sha256", new string('a', 64)), 10));
        Assert.Equal(ErrorCodes.BlobUnknown, blob.Code);
        var name = await Assert.ThrowsAsync<RegistryException>(() => client.ListTagsAsync("no/such-repo"));
        Assert.Equal(ErrorCodes.NameUnknown, name.Code);
    }

    [Fact]
    public async Task HEAD_tells_digest_type_and_size_and_a_Docker_v2s2_manifest_keeps_its_type()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, docker: true, seed: 3);
        var repo = Repo("docker");
        await image.PushAsync(client, repo, "v2s2");
        var head = await client.HeadManifestAsync(repo, "v2s2");
        Assert.Equal(new ManifestHead(MediaTypes.DockerManifest, image.Digest, image.Manifest.Length), head);
        var m = await client.GetManifestAsync(repo, "v2s2");
        Assert.Equal(MediaTypes.DockerManifest, m.MediaType);
    }

    [Fact]
    public async Task An_index_of_two_platforms_is_pushed_by_tag_and_read_back()
    {
        using var client = registry.Client();
        var repo = Repo("index");
        var amd = new TestImage(layers: 1, seed: 10, architecture: "amd64");
        var arm = new TestImage(layers: 1, seed: 11, architecture: "arm64");
        foreach (var i in new[] { amd, arm })
        {
            foreach (var b in i.Blobs) await client.PushBlobAsync(repo, b.Digest, b.Size, () => new MemoryStream(b.Bytes));
            await client.PutManifestAsync(repo, i.Digest.ToString(), i.Manifest, i.ManifestType);
        }
        var index = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.Index}}}","manifests":[{"mediaType":"{{{MediaTypes.Manifest}}}","digest":"{{{amd.Digest}}}","size":{{{amd.Manifest.Length}}},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"{{{MediaTypes.Manifest}}}","digest":"{{{arm.Digest}}}","size":{{{arm.Manifest.Length}}},"platform":{"architecture":"arm64","os":"linux"}}]}""");
        var put = await client.PutManifestAsync(repo, "multi", index, MediaTypes.Index);
        var got = await client.GetManifestAsync(repo, "multi");
        Assert.Equal(MediaTypes.Index, got.MediaType);
        Assert.Equal(put.Digest, got.Digest);
        Assert.Equal(index, got.Bytes);
    }

    [Fact]
    public async Task Tags_are_listed_across_pages_by_the_Link_header()
    {
        // distribution 2.8 does not paginate tags: the proxy serves the pages, with a relative Link, then an absolute one.
        using var proxy = new FaultProxy(registry.Port);
        var repo = Repo("tags");
        proxy.Override = (method, path) =>
        {
            if (!path.StartsWith($"/v2/{repo}/tags/list")) return null;
            var (tags, link) = path.Contains("last=b") ? ("[\"c\",\"d\"]", $"<http://{proxy.Host}/v2/{repo}/tags/list?last=d&n=2>; rel=\"next\"")
                : path.Contains("last=d") ? ("[\"e\"]", null)
                : ("[\"a\",\"b\"]", $"</v2/{repo}/tags/list?last=b&n=2>; rel=\"next\"");
            var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" };
            if (link is not null) headers["Link"] = link;
            return (200, headers, Encoding.UTF8.GetBytes($"{{\"name\":\"{repo}\",\"tags\":{tags}}}"));
        };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var all = await client.ListTagsAsync(repo, pageSize: 2);
        Assert.Equal(["a", "b", "c", "d", "e"], all);
        var pages = proxy.Seen().Where(r => r.Path.Contains("/tags/list")).Select(r => r.Path).ToArray();
        Assert.Equal([$"/v2/{repo}/tags/list?n=2", $"/v2/{repo}/tags/list?last=b&n=2", $"/v2/{repo}/tags/list?last=d&n=2"], pages);
    }

    [Fact]
    public async Task Tags_of_a_real_repository_are_listed()
    {
        using var client = registry.Client();
        var repo = Repo("tags-real");
        var image = new TestImage(layers: 1, seed: 4);
        await image.PushAsync(client, repo, "t0");
        for (int i = 1; i < 4; i++) await client.PutManifestAsync(repo, $"t{i}", image.Manifest, image.ManifestType);
        Assert.Equal(["t0", "t1", "t2", "t3"], (await client.ListTagsAsync(repo)).Order());
    }

    [Fact]
    public async Task A_manifest_deleted_by_tag_is_gone_by_digest()
    {
        using var client = registry.Client();
        var repo = Repo("delete");
        var image = new TestImage(layers: 1, seed: 5);
        await image.PushAsync(client, repo, "gone");
        Assert.Equal(image.Digest, await client.DeleteManifestAsync(repo, "gone"));
        Assert.Null(await client.HeadManifestAsync(repo, image.Digest.ToString()));
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.DeleteManifestAsync(repo, image.Digest.ToString()));
        Assert.True(e.IsNotFound, e.Message);
    }

    [Fact]
    public async Task Referrers_of_a_subject_fall_back_to_the_tag_schema_and_are_filtered_by_artifact_type()
    {
        using var client = registry.Client();
        var repo = Repo("referrers");
        var image = new TestImage(layers: 1, seed: 6);
        await image.PushAsync(client, repo, "v1");
        var empty = new TestBlob("{}"u8.ToArray(), MediaTypes.Empty);
        await client.PushBlobAsync(repo, empty.Digest, empty.Size, () => new MemoryStream(empty.Bytes));
        byte[] Artifact(string type, string note) => Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.Manifest}}}","artifactType":"{{{type}}}","config":{{{empty.DescriptorJson}}},"layers":[{{{empty.DescriptorJson}}}],"subject":{"mediaType":"{{{MediaTypes.Manifest}}}","digest":"{{{image.Digest}}}","size":{{{image.Manifest.Length}}}},"annotations":{"note":"{{{note}}}"}}""");
        var sig = await client.PushReferrerAsync(repo, Artifact("application/vnd.example.signature", "a"), MediaTypes.Manifest);
        var sbom = await client.PushReferrerAsync(repo, Artifact("application/vnd.example.sbom", "b"), MediaTypes.Manifest);
        await client.PushReferrerAsync(repo, Artifact("application/vnd.example.sbom", "b"), MediaTypes.Manifest); // again: listed once

        var all = await client.GetReferrersAsync(repo, image.Digest);
        Assert.True(all.ViaTagSchema); // distribution 2.8 has no referrers API
        Assert.Equal(new[] { sig.Digest.ToString(), sbom.Digest.ToString() }, all.Manifests.Select(d => d.Digest));
        Assert.Equal("application/vnd.example.signature", all.Manifests[0].ArtifactType);
        Assert.Equal("a", all.Manifests[0].Annotations!["note"]);
        var sboms = await client.GetReferrersAsync(repo, image.Digest, "application/vnd.example.sbom");
        Assert.Equal(sbom.Digest.ToString(), Assert.Single(sboms.Manifests).Digest);
        var tagIndex = await client.GetManifestAsync(repo, RegistryClient.ReferrersTag(image.Digest));
        Assert.Equal(MediaTypes.Index, tagIndex.MediaType);
        Assert.Empty((await client.GetReferrersAsync(repo, empty.Digest)).Manifests);
    }

    [Fact]
    public async Task A_download_is_renamed_into_place_only_when_verified()
    {
        using var client = registry.Client();
        var repo = Repo("download");
        var image = new TestImage(layers: 1, layerBytes: 200_000, seed: 8);
        await image.PushAsync(client, repo, "v1");
        var dir = Directory.CreateTempSubdirectory("berth-dl-").FullName;
        try
        {
            var path = Path.Combine(dir, image.Layers[0].Digest.Encoded);
            await client.DownloadBlobAsync(repo, image.Layers[0].Digest, image.Layers[0].Size, path);
            Assert.Equal(image.Layers[0].Bytes, File.ReadAllBytes(path));
            Assert.Single(Directory.GetFiles(dir));
            // A size that is not the blob's: refused, and nothing is left behind.
            var wrong = Path.Combine(dir, "wrong");
            var e = await Assert.ThrowsAsync<RegistryException>(() => client.DownloadBlobAsync(repo, image.Layers[0].Digest, image.Layers[0].Size - 1, wrong));
            Assert.Contains("more than the", e.Message);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task HTTP_is_used_only_for_a_registry_marked_insecure()
    {
        using var strict = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, Retry = RetryPolicy.None });
        var e = await Assert.ThrowsAsync<RegistryException>(() => strict.PingAsync());
        Assert.Contains("TLS", e.Message);
        Assert.Null(strict.BaseUri);

        var conf = RegistriesConf.Parse($"[[registry]]\nlocation = \"{registry.Host}\"\ninsecure = true\n", "insecure.conf");
        using var byConf = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, Conf = conf, Retry = RetryPolicy.None });
        await byConf.PingAsync();
        Assert.Equal(new Uri($"http://{registry.Host}/"), byConf.BaseUri);
        Assert.Null(byConf.Challenge);
    }

    [Fact]
    public async Task A_pool_pulls_from_a_mirror_first_and_falls_back_to_the_registry()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 9);
        await image.PushAsync(client, "library/pooled", "v1");
        using var mirror = new FaultProxy(registry.Port) { StatusFaults = 100, StatusFault = HttpStatusCode.NotFound, RetryAfterSeconds = null, StatusFaultPath = "/manifests/" };
        var conf = RegistriesConf.Parse($$"""
            [[registry]]
            location = "{{registry.Host}}"
            insecure = true
            [[registry.mirror]]
            location = "{{mirror.Host}}"
            insecure = true
            """, "mirrors.conf");
        using var pool = new RegistryPool(new RegistryOptions { Environment = registry.Environment, Conf = conf, Retry = RetryPolicy.None });
        var reference = Reference.Parse($"{registry.Host}/library/pooled:v1");
        var sources = pool.PullSources(reference);
        Assert.Equal([mirror.Host, registry.Host], sources.Select(s => s.Client.Registry));
        var m = await pool.FromFirstSourceAsync(reference, (c, r) => c.GetManifestAsync(r.Repository, r.Identifier));
        Assert.Equal(image.Digest, m.Digest);
        Assert.Contains(mirror.Seen(), r => r.Path.Contains("/manifests/v1") && r.Status == 404);
    }
}
