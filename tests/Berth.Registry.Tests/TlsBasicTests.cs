using System.Net;
using Berth.Images.Registry;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>HTTPS with a CA made by openssl, and htpasswd Basic auth; login and logout into auth.json.</summary>
public sealed class TlsBasicTests(TlsBasicRegistry registry) : IClassFixture<TlsBasicRegistry>
{
    static string Repo(string name) => $"tls/{name}-{Guid.NewGuid():N}"[..36].TrimEnd('-');

    [Fact]
    public async Task Push_and_pull_over_TLS_trust_the_CA_of_the_cert_dir()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 2, seed: 20);
        var repo = Repo("push");
        await image.PushAsync(client, repo, "v1");
        Assert.Equal("https", client.BaseUri!.Scheme);
        Assert.Equal("Basic", client.Challenge!.Scheme);
        var m = await client.GetManifestAsync(repo, "v1");
        Assert.Equal(image.Digest, m.Digest);
        Assert.Equal(image.Layers[1].Bytes, await client.GetBlobBytesAsync(repo, new() { Digest = image.Layers[1].Digest.ToString(), Size = image.Layers[1].Size }));
    }

    [Fact]
    public async Task The_CA_is_found_in_the_users_certs_d_for_the_host()
    {
        var env = registry.Environment with { Home = Path.Combine(registry.Dir, "home-certsd") };
        registry.Pki!.CertsDir(Path.Combine(env.Home!, ".config", "containers", "certs.d"), registry.Host);
        using var client = new RegistryClient(registry.Host, new RegistryOptions
        {
            Environment = env, Credentials = new FixedCredentials(registry.Credentials), Retry = RetryPolicy.None,
        });
        await client.PingAsync();
        Assert.Equal("https", client.BaseUri!.Scheme);
    }

    [Fact]
    public async Task A_CA_the_system_does_not_trust_fails_with_the_way_out_and_tls_verify_false_skips_the_check()
    {
        using var untrusted = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, Retry = RetryPolicy.None });
        var e = await Assert.ThrowsAsync<RegistryException>(() => untrusted.PingAsync());
        Assert.Contains("TLS", e.Message);
        Assert.Contains($"certs.d/{registry.Host}", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        using var insecure = new RegistryClient(registry.Host, new RegistryOptions
        {
            Environment = registry.Environment, TlsVerify = false, Credentials = new FixedCredentials(registry.Credentials), Retry = RetryPolicy.None,
        });
        await insecure.PingAsync();
        Assert.Equal("https", insecure.BaseUri!.Scheme); // insecure still prefers HTTPS when the registry has it
    }

    [Fact]
    public async Task Registries_conf_insecure_turns_verification_off_but_an_explicit_tls_verify_wins()
    {
        var conf = RegistriesConf.Parse($"[[registry]]\nlocation = \"{registry.Host}\"\ninsecure = true\n", "test.conf");
        using var byConf = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, Conf = conf, Retry = RetryPolicy.None });
        Assert.True(byConf.Insecure);
        await byConf.PingAsync();
        using var verified = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, Conf = conf, TlsVerify = true, Retry = RetryPolicy.None });
        Assert.False(verified.Insecure);
        await Assert.ThrowsAsync<RegistryException>(() => verified.PingAsync());
    }

    [Fact]
    public async Task Without_credentials_or_with_a_wrong_password_the_error_is_UNAUTHORIZED()
    {
        using var anonymous = registry.Client(anonymous: true);
        var e = await Assert.ThrowsAsync<RegistryException>(() => anonymous.GetManifestAsync("tls/none", "latest"));
        Assert.Equal(ErrorCodes.Unauthorized, e.Code);
        Assert.Contains("berth login", e.Message);
        using var wrong = new RegistryClient(registry.Host, registry.Options() is var o ? new RegistryOptions
        {
            Environment = o.Environment, CertDir = o.CertDir, Credentials = new FixedCredentials(new RegistryCredentials(registry.Username, "wrong")),
        } : null!);
        var w = await Assert.ThrowsAsync<RegistryException>(() => wrong.GetManifestAsync("tls/none", "latest"));
        Assert.Equal(HttpStatusCode.Unauthorized, w.Status);
    }

    [Fact]
    public async Task Login_verifies_the_password_first_and_writes_auth_json_as_podman_then_logout_removes_it()
    {
        var files = AuthFiles.Default(registry.Environment);
        var authJson = Path.Combine(registry.Environment.XdgRuntimeDir!, "containers", "auth.json");
        Assert.Equal(authJson, files.Primary);
        var options = new RegistryOptions { Environment = registry.Environment, CertDir = registry.CertDir, Retry = RetryPolicy.None };

        var bad = await Assert.ThrowsAsync<RegistryException>(() =>
            RegistryLogin.LoginAsync(registry.Host, new RegistryCredentials(registry.Username, "nope"), files, options));
        Assert.Contains("invalid username/password", bad.Message);
        Assert.False(File.Exists(authJson));

        await RegistryLogin.LoginAsync(registry.Host, registry.Credentials, files, options);
        var text = File.ReadAllText(authJson);
        Assert.Contains($"\"{registry.Host}\"", text);
        Assert.Contains(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{registry.Username}:{registry.Password}")), text);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(authJson));

        // A client with no credentials of its own now finds them in auth.json.
        using var client = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, CertDir = registry.CertDir, Credentials = files });
        var image = new TestImage(layers: 1, seed: 21);
        await image.PushAsync(client, Repo("login"), "v1");

        Assert.True(RegistryLogin.Logout(registry.Host, files));
        Assert.DoesNotContain(registry.Host, File.ReadAllText(authJson));
        Assert.False(RegistryLogin.Logout(registry.Host, files));
    }

    [Fact]
    public async Task Podman_reads_the_auth_json_Berth_wrote()
    {
        var env = registry.Environment with { XdgRuntimeDir = Path.Combine(registry.Dir, "run-podman") };
        Directory.CreateDirectory(env.XdgRuntimeDir!);
        var files = AuthFiles.Default(env);
        await RegistryLogin.LoginAsync(registry.Host, registry.Credentials, files,
            new RegistryOptions { Environment = env, CertDir = registry.CertDir, Retry = RetryPolicy.None });
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 22);
        var repo = Repo("skopeo-auth");
        await image.PushAsync(client, repo, "v1");
        // skopeo (containers/image) with --authfile: the file Berth wrote is the only credential it has.
        var r = Commands.Exec("skopeo", "inspect", "--raw", $"--authfile={files.Primary}", $"--cert-dir={registry.CertDir}", $"docker://{registry.Host}/{repo}:v1");
        r.Ok();
        Assert.Equal(System.Text.Encoding.UTF8.GetString(image.Manifest), r.Stdout.Trim());
    }
}
