using System.Security.Cryptography.X509Certificates;
using Berth.Registry.Tests.Fixtures;
using Berth.Serve.Tests.Fixtures;
using Xunit;

namespace Berth.Serve.Tests;

public class AuthTests(ServeWorld world) : IClassFixture<ServeWorld>
{
    static string Tokens(string dir, string text)
    {
        var path = Path.Combine(dir, "tokens");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task No_token_is_401_an_unknown_one_is_401_and_a_role_without_scan_is_403()
    {
        using var data = ServeWorld.Data();
        var tokens = Tokens(data.Path, "token:scan-secret ci scan\ntoken:vex-secret triager vex\n");
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "0", "--tokens", tokens));
        const string body = """{"image":"127.0.0.1:1/a:1"}""";
        using var anonymous = serve.Client(null);
        using var unknown = serve.Client("guess");
        using var triager = serve.Client("vex-secret");
        using var ci = serve.Client("scan-secret");
        using (var resp = await anonymous.PostAsync("/scan", new StringContent(body)))
        {
            Assert.Equal(401, (int)resp.StatusCode);
            Assert.Equal("Bearer", resp.Headers.WwwAuthenticate.ToString());
        }
        Assert.Equal(401, (await Api.PostJson(unknown, "/scan", body)).Status);
        var (forbidden, error) = await Api.PostJson(triager, "/scan", body);
        Assert.Equal(403, forbidden);
        Assert.Contains("triager lacks the scan role", error.RootElement.GetProperty("error").GetString());
        Assert.Equal(202, (await Api.PostJson(ci, "/scan", body)).Status);
        // The probes are open: a kubelet has no token.
        Assert.Equal(200, (await Api.Get(anonymous, "/healthz")).Status);
    }

    [Fact]
    public async Task The_environment_token_is_an_admin()
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "0"), new Dictionary<string, string> { ["BERTH_SERVE_TOKEN"] = "env-secret" });
        using var c = serve.Client("env-secret");
        Assert.Equal(202, (await Api.PostJson(c, "/scan", """{"image":"127.0.0.1:1/a:1"}""")).Status);
    }

    [Fact]
    public void A_service_with_no_principals_refuses_to_start()
    {
        using var data = ServeWorld.Data();
        var (exit, stderr) = ServeProcess.RunToExit(world.Args(data.Path));
        Assert.Equal(1, exit);
        Assert.Contains("berth: serve: no principals", stderr);
    }

    [Fact]
    public void A_tokens_file_with_an_unknown_role_is_refused_naming_the_line()
    {
        using var data = ServeWorld.Data();
        var tokens = Tokens(data.Path, "token:a ci scan\ntoken:b ops root\n");
        var (exit, stderr) = ServeProcess.RunToExit(world.Args(data.Path, "--tokens", tokens));
        Assert.Equal(1, exit);
        Assert.Contains($"{tokens}:2: unknown role \"root\"", stderr);
    }

    [Fact]
    public async Task A_client_certificate_from_the_client_ca_is_mapped_to_its_role_and_others_are_refused()
    {
        using var data = ServeWorld.Data();
        using var pki = new Pki();
        var tokens = Tokens(data.Path, "cert:CN=berth-test-client scanner-bot scan\n");
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "0", "--tokens", tokens,
            "--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CaCert));
        Assert.StartsWith("https://", serve.Url);
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(pki.CaCert));
        HttpClientHandler Handler(X509Certificate2? client)
        {
            var h = new HttpClientHandler();
            if (client is not null) h.ClientCertificates.Add(client);
            h.ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return cert is not null && chain.Build(cert);
            };
            return h;
        }
        var clientCert = X509Certificate2.CreateFromPemFile(pki.ClientCert, pki.ClientKey);
        using var withCert = serve.Client(null, Handler(X509CertificateLoader.LoadPkcs12(clientCert.Export(X509ContentType.Pkcs12), null)));
        var (status, body) = await Api.PostJson(withCert, "/scan", """{"image":"127.0.0.1:1/a:1"}""");
        Assert.Equal(202, status);
        var id = body.RootElement.GetProperty("id").GetString();
        Assert.Equal("scanner-bot", (await Api.Get(withCert, $"/scan/{id}")).Body.RootElement.GetProperty("requestedBy").GetString());
        using var without = serve.Client(null, Handler(null));
        Assert.Equal(401, (await Api.PostJson(without, "/scan", """{"image":"127.0.0.1:1/a:1"}""")).Status);
        // A certificate the client CA did not sign is refused in the handshake (or, at the latest, has no principal).
        using var other = new Pki();
        var stranger = X509Certificate2.CreateFromPemFile(other.ClientCert, other.ClientKey);
        using var strangerClient = serve.Client(null, Handler(X509CertificateLoader.LoadPkcs12(stranger.Export(X509ContentType.Pkcs12), null)));
        var refused = await Record.ExceptionAsync(async () =>
        {
            var (s, _) = await Api.PostJson(strangerClient, "/scan", """{"image":"127.0.0.1:1/a:1"}""");
            Assert.Equal(401, s);
        });
        Assert.True(refused is null or HttpRequestException, refused?.ToString());
    }
}
