using Berth.Images.Registry;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>The Bearer token flow against docker-registry's auth.token, with the test's token server.</summary>
public sealed class TokenAuthTests(TokenRegistry registry) : IClassFixture<TokenRegistry>
{
    static string Repo(string name) => $"private/{name}-{Guid.NewGuid():N}"[..40].TrimEnd('-');

    [Fact]
    public async Task A_push_and_pull_get_tokens_for_their_scopes_and_reuse_them_until_expiry()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 3, seed: 30);
        var repo = Repo("flow");
        await image.PushAsync(client, repo, "v1");
        Assert.True(client.Challenge!.IsBearer);
        Assert.Equal(registry.Tokens!.Realm, client.Challenge.Realm);
        Assert.Equal(TokenServer.Service, client.Challenge.Service);
        var m = await client.GetManifestAsync(repo, "v1");
        foreach (var b in image.Blobs) await client.GetBlobBytesAsync(repo, new() { Digest = b.Digest.ToString(), Size = b.Size });
        Assert.Equal(image.Digest, m.Digest);
        // One token for pull,push, one for pull: not one per request.
        Assert.Equal(2, client.Counters.TokenFetches);
        Assert.Contains($"repository:{repo}:pull,push", registry.Tokens.Scopes);
        Assert.Contains($"repository:{repo}:pull", registry.Tokens.Scopes);
    }

    [Fact]
    public async Task A_chunked_upload_follows_absolute_Locations()
    {
        using var proxy = new FaultProxy(registry.Port);
        using var client = new RegistryClient(proxy.Host, registry.Options());
        var blob = new TestImage(layers: 1, layerBytes: 150_000, seed: 35).Layers[0];
        var repo = Repo("absolute");
        Assert.Equal(BlobPushOutcome.Uploaded, await client.PushBlobAsync(repo, blob.Digest, blob.Size, () => new MemoryStream(blob.Bytes), new BlobPushOptions { ChunkSize = 64 << 10 }));
        var steps = proxy.Seen().Where(r => r.Method is "POST" or "PATCH" && r.Status == 202).ToArray();
        Assert.Equal(4, steps.Length);
        Assert.All(steps, r => Assert.StartsWith($"http://{proxy.Host}/v2/{repo}/blobs/uploads/", r.Location));
        Assert.Equal(blob.Size, await client.HeadBlobAsync(repo, blob.Digest));
    }

    [Fact]
    public async Task A_delete_asks_for_the_delete_action()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 36);
        var repo = Repo("delete");
        await image.PushAsync(client, repo, "v1");
        Assert.Equal(image.Digest, await client.DeleteManifestAsync(repo, "v1"));
        Assert.Contains($"repository:{repo}:delete", registry.Tokens!.Scopes);
        Assert.Null(await client.HeadManifestAsync(repo, image.Digest.ToString()));
    }

    [Fact]
    public async Task A_mount_asks_for_pull_on_the_source_repository_too()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 31);
        var a = Repo("mount-src");
        var b = Repo("mount-dst");
        await image.PushAsync(client, a, "v1");
        var blob = image.Layers[0];
        Assert.Equal(BlobPushOutcome.Mounted, await client.PushBlobAsync(b, blob.Digest, blob.Size, () => new MemoryStream(blob.Bytes), new BlobPushOptions { MountFrom = a }));
        Assert.Contains($"repository:{a}:pull", registry.Tokens!.Scopes);
    }

    [Fact]
    public async Task Anonymous_access_is_denied_with_one_clear_line_and_public_repositories_pull_anonymously()
    {
        using var authed = registry.Client();
        var image = new TestImage(layers: 1, seed: 32);
        var repo = Repo("denied");
        await image.PushAsync(authed, repo, "v1");
        await image.PushAsync(authed, "public/hello", "v1");

        using var anonymous = registry.Client(anonymous: true);
        var e = await Assert.ThrowsAsync<RegistryException>(() => anonymous.GetManifestAsync(repo, "v1"));
        Assert.Equal(ErrorCodes.Unauthorized, e.Code);
        Assert.StartsWith($"{registry.Host}/{repo}:v1: reading manifest: UNAUTHORIZED", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var pub = await anonymous.GetManifestAsync("public/hello", "v1");
        Assert.Equal(image.Digest, pub.Digest);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_by_the_token_server_and_login_fails_before_writing()
    {
        var files = AuthFiles.Default(registry.Environment with { XdgRuntimeDir = Path.Combine(registry.Dir, "run-token") });
        var options = new RegistryOptions { Environment = registry.Environment, TlsVerify = false, Retry = RetryPolicy.None };
        var e = await Assert.ThrowsAsync<RegistryException>(() => RegistryLogin.LoginAsync(registry.Host, new RegistryCredentials(registry.Username, "bad"), files, options));
        Assert.Contains("invalid username/password", e.Message);
        Assert.Equal(ErrorCodes.Unauthorized, e.Code);
        Assert.False(File.Exists(files.Primary));
        await RegistryLogin.LoginAsync(registry.Host, registry.Credentials, files, options);
        Assert.True(File.Exists(files.Primary));
    }

    [Fact]
    public async Task A_token_the_registry_no_longer_takes_is_fetched_again_once()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 33);
        var repo = Repo("expired");
        await image.PushAsync(client, repo, "v1");
        using var reader = registry.Client();
        registry.Tokens!.ExpiredTokens = 1;
        Assert.Equal(image.Digest, (await reader.GetManifestAsync(repo, "v1")).Digest);
        Assert.Equal(2, reader.Counters.TokenFetches);
    }

    [Fact]
    public async Task An_identity_token_is_exchanged_with_the_OAuth2_refresh_flow()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 34);
        var repo = Repo("oauth");
        await image.PushAsync(client, repo, "v1");
        var options = registry.Options(anonymous: true);
        using var oauth = new RegistryClient(registry.Host, new RegistryOptions
        {
            Environment = options.Environment, TlsVerify = false, Retry = options.Retry,
            Credentials = new FixedCredentials(new RegistryCredentials(RegistryCredentials.IdentityTokenUser, registry.Tokens!.RefreshToken)),
        });
        Assert.Equal(image.Digest, (await oauth.GetManifestAsync(repo, "v1")).Digest);
    }
}
