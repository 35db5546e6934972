using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Berth.Registry.Tests.Fixtures;

/// <summary>
/// A registry token server (distribution's token.md), as Docker Hub's auth service is: GET
/// /token?service=&amp;scope= with Basic credentials or none, answering {"token","access_token",
/// "expires_in","issued_at"}. Tokens are JWTs signed RS256 with the key of <see cref="Pki.TokenCert"/>,
/// which the registry trusts through auth.token.rootcertbundle; the certificate rides in the x5c
/// header, as docker-registry 2.8 verifies it. The user gets pull, push and delete; anonymous
/// callers get pull on repositories under "public/" only.
/// </summary>
public sealed class TokenServer : IDisposable
{
    public const string Service = "berth-test-registry";
    public const string Issuer = "berth-test-token-issuer";

    readonly HttpListener _listener = new();
    readonly RSA _key;
    readonly string _x5c;
    readonly string _user, _password;
    readonly Task _loop;
    int _requests;

    public int Port { get; }
    public string Realm => $"http://127.0.0.1:{Port}/token";
    /// <summary>Token requests answered (with a token or a refusal).</summary>
    public int Requests => _requests;
    /// <summary>Every scope asked for, in order (for tests of the scopes a client asks).</summary>
    public List<string> Scopes { get; } = new();
    public int ExpiresIn { get; set; } = 300;
    /// <summary>Mint this many of the next tokens already expired (past the registry's 60 s leeway) while announcing expires_in as usual: a token that stops working early.</summary>
    public int ExpiredTokens { get; set; }
    /// <summary>The refresh token the OAuth2 POST flow takes for the user (docker's identity token).</summary>
    public string RefreshToken => "refresh-" + _password;

    public TokenServer(Pki pki, string user, string password)
    {
        _user = user;
        _password = password;
        _key = RSA.Create();
        _key.ImportFromPem(File.ReadAllText(pki.TokenKey));
        using var cert = X509Certificate2.CreateFromPem(File.ReadAllText(pki.TokenCert));
        _x5c = Convert.ToBase64String(cert.RawData);
        Port = Ports.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Loop);
    }

    async Task Loop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            try { Handle(ctx); }
            catch (Exception) { ctx.Response.StatusCode = 500; }
            finally { ctx.Response.Close(); }
        }
    }

    void Handle(HttpListenerContext ctx)
    {
        Interlocked.Increment(ref _requests);
        var q = ctx.Request.QueryString;
        string? user = null;
        if (ctx.Request.HttpMethod == "POST")
        {
            // OAuth2 (distribution's oauth.md): grant_type=refresh_token with the identity token.
            var form = System.Web.HttpUtility.ParseQueryString(new StreamReader(ctx.Request.InputStream).ReadToEnd());
            if (form["grant_type"] != "refresh_token" || form["refresh_token"] != RefreshToken)
            {
                ctx.Response.StatusCode = 401;
                Write(ctx, """{"error":"invalid_grant"}""");
                return;
            }
            q = new System.Collections.Specialized.NameValueCollection { ["service"] = form["service"] };
            foreach (var sc in (form["scope"] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)) q.Add("scope", sc);
            user = _user;
        }
        if (ctx.Request.Headers["Authorization"] is { } auth && auth.StartsWith("Basic "))
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(auth[6..]));
            var colon = text.IndexOf(':');
            if (text[..colon] != _user || text[(colon + 1)..] != _password)
            {
                ctx.Response.StatusCode = 401;
                Write(ctx, """{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}""");
                return;
            }
            user = _user;
        }
        if (q["service"] != Service)
        {
            ctx.Response.StatusCode = 400;
            Write(ctx, """{"errors":[{"code":"UNSUPPORTED","message":"unknown service"}]}""");
            return;
        }
        var access = new List<(string Type, string Name, string[] Actions)>();
        foreach (var scope in q.GetValues("scope") ?? [])
        {
            lock (Scopes) Scopes.Add(scope);
            foreach (var one in scope.Split(' '))
            {
                var parts = one.Split(':');
                if (parts.Length < 3) continue;
                var name = string.Join(':', parts[1..^1]);
                var wanted = parts[^1].Split(',');
                var granted = user is not null ? wanted : name.StartsWith("public/") ? wanted.Where(a => a == "pull").ToArray() : [];
                access.Add((parts[0], name, granted));
            }
        }
        var token = Mint(user ?? "", access);
        Write(ctx, JsonSerializerless(token));
    }

    string JsonSerializerless(string token) =>
        $"{{\"token\":\"{token}\",\"access_token\":\"{token}\",\"expires_in\":{ExpiresIn},\"issued_at\":\"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\"}}";

    /// <summary>A token for <paramref name="access"/>, as the registry accepts it (also for a test's own requests).</summary>
    public string Mint(string subject, IEnumerable<(string Type, string Name, string[] Actions)> access)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("typ", "JWT");
            w.WriteString("alg", "RS256");
            w.WriteStartArray("x5c");
            w.WriteStringValue(_x5c);
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (ExpiredTokens > 0)
        {
            ExpiredTokens--;
            now -= 3600;
        }
        var claims = Serialize(w =>
        {
            w.WriteStartObject();
            w.WriteString("iss", Issuer);
            w.WriteString("sub", subject);
            w.WriteString("aud", Service);
            w.WriteNumber("exp", now + ExpiresIn);
            w.WriteNumber("nbf", now - 10);
            w.WriteNumber("iat", now);
            w.WriteString("jti", Guid.NewGuid().ToString("N"));
            w.WriteStartArray("access");
            foreach (var (type, name, actions) in access)
            {
                w.WriteStartObject();
                w.WriteString("type", type);
                w.WriteString("name", name);
                w.WriteStartArray("actions");
                foreach (var a in actions) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var signingInput = B64(header) + "." + B64(claims);
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + B64(signature);
    }

    static byte[] Serialize(Action<Utf8JsonWriter> write)
    {
        var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) write(w);
        return buffer.ToArray();
    }

    static void Write(HttpListenerContext ctx, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength64 = bytes.Length;
        ctx.Response.OutputStream.Write(bytes);
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(5000); } catch (AggregateException) { }
        _key.Dispose();
    }
}
