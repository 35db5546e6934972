using Berth.Images.Registry;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>A registry that wants a client certificate: the *.cert/*.key pair of certs.d (or --cert-dir) is presented.</summary>
public sealed class MutualTlsTests(MutualTlsRegistry registry) : IClassFixture<MutualTlsRegistry>
{
    [Fact]
    public async Task The_client_pair_of_the_cert_dir_is_presented_and_without_it_the_handshake_fails()
    {
        using var client = registry.Client();
        var image = new TestImage(layers: 1, seed: 70);
        await image.PushAsync(client, "mtls/app", "v1");
        Assert.Equal(image.Digest, (await client.GetManifestAsync("mtls/app", "v1")).Digest);

        var caOnly = Path.Combine(registry.Dir, "ca-only");
        Directory.CreateDirectory(caOnly);
        File.Copy(registry.CaCert!, Path.Combine(caOnly, "ca.crt"));
        using var without = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, CertDir = caOnly, Retry = RetryPolicy.None });
        var e = await Assert.ThrowsAsync<RegistryException>(() => without.PingAsync());
        Assert.StartsWith($"{registry.Host}: pinging the registry:", e.Message);

        // containers' certs.d under the user's config home, named HOST:PORT.
        var home = Path.Combine(registry.Dir, "home-mtls");
        registry.Pki!.CertsDir(Path.Combine(home, ".config", "containers", "certs.d"), registry.Host, withClientCert: true);
        using var byCertsD = new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment with { Home = home }, Retry = RetryPolicy.None });
        Assert.Equal(image.Digest, (await byCertsD.GetManifestAsync("mtls/app", "v1")).Digest);
    }

    [Fact]
    public void A_client_certificate_without_its_key_is_an_error_naming_the_file()
    {
        var dir = Path.Combine(registry.Dir, "half-pair");
        Directory.CreateDirectory(dir);
        File.Copy(registry.Pki!.ClientCert, Path.Combine(dir, "client.cert"), overwrite: true);
        var e = Assert.Throws<RegistryException>(() => new RegistryClient(registry.Host, new RegistryOptions { Environment = registry.Environment, CertDir = dir }));
        Assert.Contains("missing key client.key for client certificate client.cert", e.Message);
    }
}
