using System.Diagnostics;
using System.Net;
using System.Text;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>What the network and registries do wrong, through the fault proxy: cuts, flipped bytes, 429, 5xx, resets, redirects, bad manifests.</summary>
public sealed class FaultTests(PlainRegistry registry) : IClassFixture<PlainRegistry>
{
    static string Repo(string name) => $"fault/{name}-{Guid.NewGuid():N}"[..38].TrimEnd('-');

    async Task<(TestImage Image, string Repo)> Pushed(string name, int layerBytes = 1 << 20, int seed = 40)
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, layerBytes: layerBytes, seed: seed);
        var repo = Repo(name);
        await image.PushAsync(client, repo, "v1");
        return (image, repo);
    }

    static async Task<byte[]> ReadAll(BlobStream s)
    {
        var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    [Fact]
    public async Task A_blob_cut_mid_transfer_is_resumed_with_Range_from_the_byte_reached()
    {
        var (image, repo) = await Pushed("cut");
        var layer = image.Layers[0];
        using var proxy = new FaultProxy(registry.Port) { CutBlobAfter = 300_000 };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        await using var blob = await client.OpenBlobAsync(repo, layer.Digest, layer.Size);
        var bytes = await ReadAll(blob);
        Assert.True(blob.Verified);
        Assert.Equal(layer.Bytes, bytes);
        Assert.Equal(1, blob.Resumes);
        var gets = proxy.Seen().Where(r => r.Method == "GET" && r.Path.Contains("/blobs/")).ToArray();
        Assert.Equal(2, gets.Length);
        Assert.Null(gets[0].Range);
        Assert.Equal("bytes=300000-", gets[1].Range);
        Assert.Equal(206, gets[1].Status);
        // Counted at the proxy: the blob crossed the wire once, not once and a third.
        Assert.Equal(layer.Size, proxy.BlobBytesSent);
    }

    [Fact]
    public async Task A_flipped_byte_is_a_digest_error_and_nothing_is_kept()
    {
        var (image, repo) = await Pushed("flip", seed: 41);
        var layer = image.Layers[0];
        using var proxy = new FaultProxy(registry.Port) { FlipByteAt = 12345 };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var dir = Directory.CreateTempSubdirectory("berth-flip-").FullName;
        try
        {
            var path = Path.Combine(dir, layer.Digest.Encoded);
            var e = await Assert.ThrowsAsync<RegistryException>(() => client.DownloadBlobAsync(repo, layer.Digest, layer.Size, path));
            Assert.Equal(ErrorCodes.DigestInvalid, e.Code);
            Assert.Contains($"blob {layer.Digest}: the registry sent content with digest sha256:", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_429_with_Retry_After_is_waited_out_and_the_request_succeeds()
    {
        var (image, repo) = await Pushed("429", layerBytes: 1000, seed: 42);
        using var proxy = new FaultProxy(registry.Port) { StatusFaults = 2, StatusFault = HttpStatusCode.TooManyRequests, RetryAfterSeconds = 1, StatusFaultPath = "/manifests/" };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        await client.PingAsync();
        var clock = Stopwatch.StartNew();
        var m = await client.GetManifestAsync(repo, "v1");
        Assert.Equal(image.Digest, m.Digest);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"retried after {clock.Elapsed}, Retry-After said 1 s twice");
        Assert.Equal(2, client.Counters.Retries);
        Assert.Equal([429, 429, 200], proxy.Seen().Where(r => r.Path.Contains("/manifests/")).Select(r => r.Status));
    }

    [Fact]
    public async Task A_registry_that_keeps_answering_503_is_given_up_on_after_the_bounded_tries()
    {
        var (_, repo) = await Pushed("503", layerBytes: 1000, seed: 43);
        using var proxy = new FaultProxy(registry.Port) { StatusFaults = 100, StatusFault = HttpStatusCode.ServiceUnavailable, RetryAfterSeconds = null, StatusFaultPath = "/manifests/" };
        var retry = new RetryPolicy(3, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        using var client = new RegistryClient(proxy.Host, registry.Options(retry: retry));
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(repo, "v1"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, e.Status);
        Assert.Contains("UNAVAILABLE: try later", e.Message);
        Assert.Equal(3, proxy.Seen().Count(r => r.Path.Contains("/manifests/")));
    }

    [Fact]
    public async Task Connection_resets_are_retried()
    {
        var (image, repo) = await Pushed("reset", layerBytes: 1000, seed: 44);
        using var proxy = new FaultProxy(registry.Port) { Resets = 2, StatusFaultPath = "/manifests/" };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        Assert.Equal(image.Digest, (await client.GetManifestAsync(repo, "v1")).Digest);
        // Retried on a new connection each time (by SocketsHttpHandler itself or the client's policy).
        Assert.Equal([0, 0, 200], proxy.Seen().Where(r => r.Path.Contains("/manifests/")).Select(r => r.Status));
    }

    [Fact]
    public async Task Blob_transfers_in_parallel_are_bounded_per_registry()
    {
        using var setup = registry.Client();
        var image = new TestImage(layers: 8, layerBytes: 256 << 10, seed: 45);
        var repo = Repo("parallel");
        await image.PushAsync(setup, repo, "v1");
        using var proxy = new FaultProxy(registry.Port) { BlobChunkDelayMs = 20 };
        using var client = new RegistryClient(proxy.Host, registry.Options(maxConcurrentTransfers: 2));
        var all = await Task.WhenAll(image.Layers.Select(async l =>
        {
            await using var s = await client.OpenBlobAsync(repo, l.Digest, l.Size);
            return await ReadAll(s);
        }));
        Assert.Equal(image.Layers.Select(l => l.Bytes), all);
        Assert.Equal(2, proxy.MaxConcurrentBlobGets);
    }

    [Fact]
    public async Task A_schema1_manifest_is_refused_with_a_clear_message()
    {
        using var proxy = new FaultProxy(registry.Port)
        {
            Override = (method, path) => path.Contains("/manifests/")
                ? (200, new() { ["Content-Type"] = "application/vnd.docker.distribution.manifest.v1+prettyjws" }, """{"schemaVersion":1,"name":"old","tag":"v1","fsLayers":[]}"""u8.ToArray())
                : null,
        };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("old/image", "v1"));
        Assert.Contains("schema 1", e.Message);
        Assert.StartsWith($"{proxy.Host}/old/image:v1: reading manifest:", e.Message);
    }

    [Fact]
    public async Task A_manifest_over_4_MiB_is_refused()
    {
        var big = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"annotations\":{\"x\":\"" + new string('a', 4 << 20) + "\"}}");
        using var proxy = new FaultProxy(registry.Port)
        {
            Override = (method, path) => path.Contains("/manifests/") ? (200, new() { ["Content-Type"] = MediaTypes.Manifest }, big) : null,
        };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var e = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("big/image", "v1"));
        Assert.Contains($"more than the {4 << 20} bytes", e.Message);
    }

    [Fact]
    public async Task A_manifest_whose_digest_is_not_the_announced_or_the_requested_one_is_refused()
    {
        var (image, repo) = await Pushed("digest", layerBytes: 1000, seed: 46);
        var other = new TestImage(layers: 1, layerBytes: 1000, seed: 47);
        using var proxy = new FaultProxy(registry.Port)
        {
            Override = (method, path) => path.Contains("/manifests/")
                ? (200, new() { ["Content-Type"] = MediaTypes.Manifest, ["Docker-Content-Digest"] = image.Digest.ToString() }, other.Manifest)
                : null,
        };
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var byTag = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(repo, "v1"));
        Assert.Equal(ErrorCodes.DigestInvalid, byTag.Code);
        Assert.Contains("Docker-Content-Digest", byTag.Message);
        var byDigest = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync(repo, image.Digest.ToString()));
        Assert.Contains("not the one asked for", byDigest.Message);
    }
}

/// <summary>A blob redirected to another host (as registries send blobs to object storage): followed, without the registry's Authorization.</summary>
public sealed class RedirectTests(TokenRegistry registry) : IClassFixture<TokenRegistry>
{
    [Fact]
    public async Task A_blob_redirected_to_another_host_is_fetched_without_the_registrys_Authorization()
    {
        using var setup = registry.Client();
        var image = new TestImage(layers: 1, layerBytes: 200_000, seed: 50);
        var repo = $"private/redirect-{Guid.NewGuid():N}"[..30];
        await image.PushAsync(setup, repo, "v1");

        // "Storage": another host name for loopback, with its own access to the registry's blobs.
        var storageToken = registry.Tokens!.Mint("storage", [("repository", repo, ["pull"])]);
        using var storage = new FaultProxy(registry.Port, hostName: "localhost") { UpstreamAuthorization = _ => $"Bearer {storageToken}" };
        using var front = new FaultProxy(registry.Port) { RedirectBlobsTo = $"http://{storage.Host}" };
        using var client = new RegistryClient(front.Host, registry.Options());
        var layer = image.Layers[0];
        await using var blob = await client.OpenBlobAsync(repo, layer.Digest, layer.Size);
        var m = new MemoryStream();
        await blob.CopyToAsync(m);
        Assert.True(blob.Verified);
        Assert.Equal(layer.Bytes, m.ToArray());

        var redirected = Assert.Single(front.Seen(), r => r.Path.Contains("/blobs/") && r.Status == 307);
        Assert.StartsWith("Bearer ", redirected.Authorization);
        var fetched = Assert.Single(storage.Seen());
        Assert.Equal(200, fetched.Status);
        Assert.Null(fetched.Authorization);
    }
}
