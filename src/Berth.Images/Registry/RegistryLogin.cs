using System.Net;
using System.Net.Http.Headers;

namespace Berth.Images.Registry;

/// <summary>
/// `login` and `logout` as podman does them: the credentials are tried against the registry first
/// (a Bearer registry must give a token for them, a Basic one must let /v2/ through), and only then
/// written to the auth file; logout removes the entry from every file that has it.
/// </summary>
public static class RegistryLogin
{
    /// <param name="key">HOST[:PORT], or HOST/NAMESPACE[/REPO] for credentials of part of a registry.</param>
    public static async Task LoginAsync(string key, RegistryCredentials credentials, AuthFiles files, RegistryOptions options, CancellationToken ct = default)
    {
        var host = NormalizeHost(key);
        var repository = key.Contains('/') ? key[(key.IndexOf('/') + 1)..] : "";
        using var client = new RegistryClient(host, new RegistryOptions
        {
            Environment = options.Environment, Conf = options.Conf, TlsVerify = options.TlsVerify, CertDir = options.CertDir,
            Retry = options.Retry, ResponseTimeout = options.ResponseTimeout, UserAgent = options.UserAgent, Log = options.Log,
            Credentials = new FixedCredentials(credentials),
        });
        await client.VerifyCredentialsAsync(credentials, repository, ct).ConfigureAwait(false);
        files.Store(key == host ? host : $"{host}/{repository}", credentials);
    }

    /// <returns>false when no file had credentials for <paramref name="key"/>.</returns>
    public static bool Logout(string key, AuthFiles files) => files.Remove(key.Contains('/') ? $"{NormalizeHost(key)}/{key[(key.IndexOf('/') + 1)..]}" : NormalizeHost(key));

    /// <summary>"https://host/v2/" or "docker.io/" as the host, as podman accepts them.</summary>
    public static string NormalizeHost(string key)
    {
        var host = key;
        if (host.StartsWith("https://")) host = host[8..];
        else if (host.StartsWith("http://")) host = host[7..];
        host = host.Split('/', 2)[0];
        if (host is "index.docker.io" or "registry-1.docker.io") host = Reference.DockerHub;
        if (host.Length == 0) throw new RegistryException($"login: {Quote.Of(key)} names no registry");
        return host;
    }
}

public sealed partial class RegistryClient
{
    /// <summary>Proves <paramref name="credentials"/> work here: a token for them (Bearer), or /v2/ with them (Basic).</summary>
    internal async Task VerifyCredentialsAsync(RegistryCredentials credentials, string repository, CancellationToken ct)
    {
        await PingAsync(ct).ConfigureAwait(false);
        var challenge = _challenge;
        if (challenge is null) return; // The registry asks for nothing: any credentials "work", as podman reports.
        var scopes = repository.Length > 0 ? new[] { PullScope(repository) } : Array.Empty<string>();
        if (challenge.IsBearer)
        {
            await _tokens.GetAsync(challenge, scopes, credentials, SendTokenRequestAsync, Registry, ct).ConfigureAwait(false);
            return;
        }
        using var response = await SendRawAsync(() =>
        {
            var m = new HttpRequestMessage(HttpMethod.Get, new Uri(_base!, "v2/"));
            m.Headers.Authorization = new AuthenticationHeaderValue("Basic", credentials.BasicHeader());
            return m;
        }, "logging in", _options.Retry, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
            throw new RegistryException($"{Registry}: logging in: invalid username/password", ErrorCodes.Unauthorized, response.StatusCode);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, Registry, "logging in", ct).ConfigureAwait(false);
    }
}
