using System.Net;
using System.Security.Cryptography.X509Certificates;
using Berth.Linux;
using Berth.Serve.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Berth.Serve.Http;

/// <summary>
/// Kestrel through WebApplication.CreateSlimBuilder (the AOT-supported host), every route a plain
/// RequestDelegate (no reflection binding). TLS from PEM files; with --client-ca, client certificates
/// are asked for and chain-verified against that CA only (the system roots do not vouch for callers).
/// </summary>
public static class ServiceHost
{
    public static WebApplication Build(ServeContext ctx, Routes routes, Authenticator auth)
    {
        var o = ctx.Options;
        var (address, port) = ParseListen(o.Listen);
        X509Certificate2? serverCert = null, clientCa = null;
        if (o.TlsCert is not null || o.TlsKey is not null)
        {
            if (o.TlsCert is null || o.TlsKey is null) throw new ServeException(0, "--tls-cert and --tls-key go together");
            serverCert = LoadPem(o.TlsCert, o.TlsKey);
        }
        if (o.ClientCa is not null)
        {
            if (serverCert is null) throw new ServeException(0, "--client-ca needs --tls-cert and --tls-key (mTLS is TLS)");
            clientCa = X509Certificate2.CreateFromPem(FileSystem.ReadText(o.ClientCa));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>() });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = Request.MaxBody;
            k.Listen(address, port, listen =>
            {
                if (serverCert is null) return;
                listen.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = serverCert,
                    ClientCertificateMode = clientCa is null ? ClientCertificateMode.NoCertificate : ClientCertificateMode.AllowCertificate,
                    ClientCertificateValidation = clientCa is null ? null : (cert, _, _) => VerifyClient(cert, clientCa),
                });
            });
        });
        var app = builder.Build();

        foreach (var route in routes.All)
        {
            var r = route;
            app.MapMethods(r.Path, new[] { r.Method }, (RequestDelegate)(http => HandleAsync(http, r, auth, ctx)));
        }
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var bound = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer s
                ? s.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() : null;
            // Tests and scripts read this line for the port of --listen ADDR:0.
            ctx.Log($"berth-serve: listening on {bound ?? o.Listen} (storage {ctx.Store.Kind}, schema {ctx.Store.SchemaVersion}, {ctx.Scans.Workers} workers)");
        });
        return app;
    }

    static async Task HandleAsync(HttpContext http, Route route, Authenticator auth, ServeContext ctx)
    {
        try
        {
            var caller = Caller.Anonymous;
            if (route.Role is { } role)
            {
                caller = auth.Authenticate(http) ?? throw new ServeException(401, "a bearer token or a client certificate the tokens file names is required");
                if (!caller.Has(role)) throw new ServeException(403, $"{caller.Subject} lacks the {Roles.Name(role)} role");
            }
            await route.Handler(new Request(http, caller));
        }
        catch (ServeException e) when (!http.Response.HasStarted)
        {
            if (e.Status == 401) http.Response.Headers.WWWAuthenticate = "Bearer";
            await Request.WriteError(http, e.Status == 0 ? 500 : e.Status, e.Message);
        }
        catch (Exception e) when (!http.Response.HasStarted && e is not OperationCanceledException)
        {
            ctx.Log($"berth-serve: {http.Request.Method} {http.Request.Path}: {e.GetType().Name}: {e.Message}");
            await Request.WriteError(http, 500, "internal error (see the service's log)");
        }
        ctx.Metrics.Requests.Inc(http.Response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    static bool VerifyClient(X509Certificate2 cert, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // clientAuth
        return chain.Build(cert);
    }

    static X509Certificate2 LoadPem(string certPath, string keyPath)
    {
        using var pem = X509Certificate2.CreateFromPem(FileSystem.ReadText(certPath), FileSystem.ReadText(keyPath));
        // An ephemeral PEM key cannot serve TLS on every platform: round-trip through PKCS#12, as Kestrel's own loader does.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>ADDR:PORT, [IPv6]:PORT or localhost:PORT; port 0 picks a free one (logged).</summary>
    public static (IPAddress, int) ParseListen(string listen)
    {
        var colon = listen.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(listen[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw new ServeException(0, $"--listen: \"{listen}\" is not ADDR:PORT");
        var host = listen[..colon].Trim('[', ']');
        if (host == "localhost") return (IPAddress.Loopback, port);
        if (!IPAddress.TryParse(host, out var ip)) throw new ServeException(0, $"--listen: \"{host}\" is not an IP address");
        return (ip, port);
    }
}
