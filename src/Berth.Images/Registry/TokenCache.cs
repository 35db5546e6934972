using System.Net;
using System.Text;
using System.Text.Json;

namespace Berth.Images.Registry;

/// <summary>
/// Bearer tokens of the token flow (distribution's token.md, oauth.md), kept per realm, service,
/// scope set and user until they expire: a GET of the realm with ?service= and one ?scope= per
/// scope, Basic credentials when there are any (anonymous otherwise); an identity token is
/// exchanged by the OAuth2 POST (grant_type=refresh_token). The answer's "token" or "access_token"
/// is the token; "expires_in" (at least 60 s, as the spec says) and "issued_at" its lifetime.
/// </summary>
internal sealed class TokenCache
{
    readonly Dictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new();
    readonly SemaphoreSlim _fetch = new(1, 1);

    public int Fetches { get; private set; }

    static string Key(AuthChallenge c, IReadOnlyList<string> scopes, RegistryCredentials? creds) =>
        $"{c.Realm}\n{c.Service}\n{string.Join(' ', scopes.Order(StringComparer.Ordinal))}\n{creds?.Username}";

    public void Invalidate(AuthChallenge c, IReadOnlyList<string> scopes, RegistryCredentials? creds)
    {
        lock (_tokens) _tokens.Remove(Key(c, scopes, creds));
    }

    public async Task<string> GetAsync(AuthChallenge challenge, IReadOnlyList<string> scopes, RegistryCredentials? creds,
        Func<Func<HttpRequestMessage>, string, CancellationToken, Task<HttpResponseMessage>> send, string registry, CancellationToken ct)
    {
        var key = Key(challenge, scopes, creds);
        lock (_tokens)
            if (_tokens.TryGetValue(key, out var t) && t.Expires > DateTimeOffset.UtcNow) return t.Token;
        await _fetch.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            lock (_tokens)
                if (_tokens.TryGetValue(key, out var t) && t.Expires > DateTimeOffset.UtcNow) return t.Token;
            var (token, expires) = await FetchAsync(challenge, scopes, creds, send, registry, ct).ConfigureAwait(false);
            lock (_tokens) _tokens[key] = (token, expires);
            return token;
        }
        finally
        {
            _fetch.Release();
        }
    }

    async Task<(string, DateTimeOffset)> FetchAsync(AuthChallenge c, IReadOnlyList<string> scopes, RegistryCredentials? creds,
        Func<Func<HttpRequestMessage>, string, CancellationToken, Task<HttpResponseMessage>> send, string registry, CancellationToken ct)
    {
        if (c.Realm is not { Length: > 0 } realm || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("https" or "http"))
            throw new RegistryException($"{registry}: the registry's Bearer challenge has no usable realm ({Quote.Of(c.Realm)})", ErrorCodes.Unauthorized);
        Fetches++;
        Func<HttpRequestMessage> make;
        if (creds is { IsIdentityToken: true })
        {
            var form = new List<KeyValuePair<string, string>>
            {
                new("grant_type", "refresh_token"), new("refresh_token", creds.Secret), new("client_id", "berth"),
            };
            if (c.Service is { } s) form.Add(new("service", s));
            if (scopes.Count > 0) form.Add(new("scope", string.Join(' ', scopes)));
            make = () => new HttpRequestMessage(HttpMethod.Post, realmUri) { Content = new FormUrlEncodedContent(form) };
        }
        else
        {
            var query = new StringBuilder(realmUri.Query.Length > 1 ? realmUri.Query[1..] : "");
            void Add(string k, string v) => query.Append(query.Length > 0 ? "&" : "").Append(k).Append('=').Append(Uri.EscapeDataString(v));
            if (c.Service is { } s) Add("service", s);
            foreach (var scope in scopes) Add("scope", scope);
            if (creds is not null) Add("account", creds.Username);
            var uri = new UriBuilder(realmUri) { Query = query.ToString() }.Uri;
            make = () =>
            {
                var m = new HttpRequestMessage(HttpMethod.Get, uri);
                if (creds is not null) m.Headers.Authorization = new("Basic", creds.BasicHeader());
                return m;
            };
        }
        using var response = await send(make, $"getting a token from {realmUri.GetLeftPart(UriPartial.Path)}", ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            throw new RegistryException($"{registry}: getting a token from {realmUri.GetLeftPart(UriPartial.Path)}: {(creds is null ? "anonymous access refused (log in with `berth login`)" : "invalid username/password")} ({(int)response.StatusCode})",
                ErrorCodes.Unauthorized, response.StatusCode);
        if (!response.IsSuccessStatusCode)
            throw ErrorCodes.ToException(registry, $"getting a token from {realmUri.GetLeftPart(UriPartial.Path)}", response.StatusCode, body);
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            string? Str(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var token = Str("token") is { Length: > 0 } tk ? tk : Str("access_token");
            if (string.IsNullOrEmpty(token)) throw new RegistryException($"{registry}: the token server's answer has no token");
            long expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetInt64(out var x) ? x : 60;
            if (expiresIn < 60) expiresIn = 60;
            var issued = Str("issued_at") is { } ia && DateTimeOffset.TryParse(ia, out var when) ? when : DateTimeOffset.UtcNow;
            if (issued > DateTimeOffset.UtcNow) issued = DateTimeOffset.UtcNow;
            // Renewed a little early: a token that expires in flight fails the request it was for.
            return (token, issued.AddSeconds(expiresIn - Math.Min(10, expiresIn / 10)));
        }
        catch (JsonException ex)
        {
            throw new RegistryException($"{registry}: the token server's answer is not JSON ({ex.Message})");
        }
    }
}
