using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;

namespace Berth.Images.Registry;

/// <summary>
/// One registry, spoken to as the OCI distribution spec v1.1 says: manifests, blobs, uploads,
/// tags, referrers, deletes (the operations are in the RegistryClient.*.cs files). This part is
/// the request pipeline every operation goes through: the first request pings /v2/ to learn the
/// scheme (HTTPS, or HTTP for an insecure registry that has no TLS) and the auth challenge;
/// every request then carries the credentials the challenge asks for (Basic, or a Bearer token
/// for its scope), follows redirects itself (Authorization only to the registry's own host), and
/// is retried as <see cref="RetryPolicy"/> says.
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    /// <summary>The registry as references name it ("docker.io", "127.0.0.1:5000").</summary>
    public string Registry { get; }

    /// <summary>The host requests go to (docker.io's API is registry-1.docker.io).</summary>
    public string Endpoint { get; }

    /// <summary>TLS is not verified and HTTP is allowed (--tls-verify=false, or registries.conf's insecure).</summary>
    public bool Insecure { get; }

    /// <summary>Requests sent, tokens fetched, blob resumes (for tests and --debug).</summary>
    public RegistryCounters Counters { get; } = new();

    readonly RegistryOptions _options;
    readonly HttpClient _http;
    readonly SemaphoreSlim _transfers;
    readonly SemaphoreSlim _pingLock = new(1, 1);
    readonly TokenCache _tokens = new();
    Uri? _base;
    volatile AuthChallenge? _challenge;

    /// <param name="insecure">The caller's own reason to skip verification (a registries.conf mirror's insecure); options.TlsVerify=true overrides it.</param>
    public RegistryClient(string registry, RegistryOptions options, bool insecure = false)
    {
        Registry = registry;
        Endpoint = registry == Reference.DockerHub ? "registry-1.docker.io" : registry;
        _options = options;
        Insecure = options.TlsVerify switch
        {
            false => true,
            true => false,
            null => insecure || options.Conf.IsInsecure(registry),
        };
        var tls = TlsSettings.For(registry, verify: !Insecure, options.Environment, options.CertDir);
        var handler = new SocketsHttpHandler
        {
            // Redirects are followed by SendAsync: Authorization must not follow a blob to its storage host.
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(90),
            MaxConnectionsPerServer = Math.Max(2, options.MaxConcurrentTransfers + 2),
        };
        tls.Apply(handler);
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(options.UserAgent);
        _transfers = new SemaphoreSlim(Math.Max(1, options.MaxConcurrentTransfers));
    }

    public void Dispose()
    {
        _http.Dispose();
        _transfers.Dispose();
        _pingLock.Dispose();
    }

    /// <summary>The challenge the registry answered /v2/ with (null: it asked for none).</summary>
    public AuthChallenge? Challenge => _challenge;

    /// <summary>https://HOST/ or, for an insecure registry without TLS, http://HOST/ — known after the first request.</summary>
    public Uri? BaseUri => _base;

    internal RegistryOptions Options => _options;

    void Log(string line) => _options.Log?.Invoke($"{Registry}: {line}");

    /// <summary>GET /v2/ (the spec's "end-1"): which scheme answers, and which auth the registry wants.</summary>
    public async Task PingAsync(CancellationToken ct = default)
    {
        if (_base is not null) return;
        await _pingLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_base is not null) return;
            var schemes = Insecure ? new[] { "https", "http" } : new[] { "https" };
            RegistryException? first = null;
            foreach (var scheme in schemes)
            {
                var baseUri = new Uri($"{scheme}://{Endpoint}/");
                try
                {
                    // An insecure registry's HTTPS try is not retried: a plain-HTTP registry fails it at once.
                    var retry = scheme == "https" && Insecure ? RetryPolicy.None : _options.Retry;
                    using var response = await SendRawAsync(() => new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v2/")),
                        "pinging the registry", retry, ct).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.Unauthorized)
                        _challenge = AuthChallenge.From(response);
                    else if (!response.IsSuccessStatusCode)
                    {
                        var body = await ReadSmallAsync(response, ct).ConfigureAwait(false);
                        throw ErrorCodes.ToException(Registry, $"pinging the registry at {baseUri}v2/ (is it an OCI registry?)", response.StatusCode, body);
                    }
                    _base = baseUri;
                    return;
                }
                catch (RegistryException e) when (scheme == "https" && Insecure && e.Status is null)
                {
                    first = e;
                    Log($"HTTPS failed ({e.InnerException?.Message ?? e.Message}); trying HTTP (insecure registry)");
                }
            }
            throw first!;
        }
        finally
        {
            _pingLock.Release();
        }
    }

    /// <summary>A request the pipeline sends: what and why (for errors), the token scopes it needs, and how to make its body again for a retry.</summary>
    internal sealed class Request(HttpMethod method, string target, string what, string operation, params string[] scopes)
    {
        public HttpMethod Method { get; } = method;
        /// <summary>A path under the registry ("/v2/…") or an absolute URI (a Location).</summary>
        public string Target { get; } = target;
        public string What { get; } = what;
        public string Operation { get; } = operation;
        public string[] Scopes { get; } = scopes;
        public Func<HttpContent>? Content { get; init; }
        public Action<HttpRequestMessage>? Headers { get; init; }
        /// <summary>Retried on resets and 5xx: false for upload steps, whose retry is the whole upload again.</summary>
        public bool Retry { get; init; } = true;
    }

    static string PullScope(string repository) => $"repository:{repository}:pull";
    static string PushScope(string repository) => $"repository:{repository}:pull,push";

    internal Uri Resolve(string target) => Uri.TryCreate(target, UriKind.Absolute, out var abs) && abs.Scheme is "http" or "https"
        ? abs
        : new Uri(_base!, target);

    static bool SameAuthority(Uri a, Uri b) =>
        a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    /// <summary>Sends <paramref name="r"/> through auth, redirects and retries; the caller owns the response (headers read, body not).</summary>
    internal async Task<HttpResponseMessage> SendAsync(Request r, CancellationToken ct)
    {
        await PingAsync(ct).ConfigureAwait(false);
        var uri = Resolve(r.Target);
        var method = r.Method;
        var content = r.Content;
        var clock = Stopwatch.StartNew();
        int attempt = 0, redirects = 0;
        bool reauthorized = false;
        var creds = CredentialsFor(r.Scopes);
        while (true)
        {
            attempt++;
            HttpResponseMessage response;
            try
            {
                using var message = new HttpRequestMessage(method, uri);
                if (content is not null) message.Content = content();
                r.Headers?.Invoke(message);
                if (SameAuthority(uri, _base!)) await AuthorizeAsync(message, r.Scopes, creds, ct).ConfigureAwait(false);
                response = await SendOnceAsync(message, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                if (r.Retry && await WaitToRetryAsync(attempt, clock, null, $"{r.Operation}: {Describe(e)}", ct).ConfigureAwait(false)) continue;
                throw new RegistryException($"{r.What}: {r.Operation}: {Describe(e)}", inner: e);
            }

            var status = response.StatusCode;
            if (status == HttpStatusCode.Unauthorized && !reauthorized && SameAuthority(uri, _base!) && AuthChallenge.From(response) is { } challenge)
            {
                // A new challenge (a first one for a registry that let /v2/ through, or a token that no longer works): learn it and try once more.
                reauthorized = true;
                if (_challenge is { } old && old.IsBearer) _tokens.Invalidate(old, r.Scopes, creds);
                _challenge = challenge;
                response.Dispose();
                attempt--;
                continue;
            }
            if ((int)status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                response.Dispose();
                if (++redirects > 10) throw new RegistryException($"{r.What}: {r.Operation}: more than 10 redirects");
                var next = new Uri(uri, location);
                if (next.Scheme is not ("http" or "https")) throw new RegistryException($"{r.What}: {r.Operation}: redirected to {Quote.Of(next.Scheme)}, not HTTP");
                if (uri.Scheme == "https" && next.Scheme == "http" && !Insecure)
                    throw new RegistryException($"{r.What}: {r.Operation}: redirected from HTTPS to plain HTTP ({next.GetLeftPart(UriPartial.Authority)})");
                Log($"{r.Operation}: redirected to {next.GetLeftPart(UriPartial.Path)}");
                if (status == HttpStatusCode.SeeOther || ((int)status is 301 or 302 && method == HttpMethod.Post))
                {
                    method = HttpMethod.Get;
                    content = null;
                }
                uri = next;
                attempt--;
                continue;
            }
            if (RetryPolicy.IsRetryable(status) && r.Retry
                && CanRetry(attempt, clock, _options.Retry.RetryAfter(response.Headers.RetryAfter), _options.Retry) is { } wait)
            {
                // The last answer is kept when no try is left: it is the registry's own error to report.
                response.Dispose();
                await WaitAsync(wait, attempt, $"{r.Operation}: {(int)status} {status}", _options.Retry, ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    /// <summary>One exchange, headers only, within the response timeout.</summary>
    async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage message, CancellationToken ct)
    {
        Counters.AddRequest();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.ResponseTimeout);
        try
        {
            return await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer within {_options.ResponseTimeout.TotalSeconds:0} s", e);
        }
    }

    /// <summary>A request outside the registry's auth (the ping, a token server): retries only.</summary>
    internal async Task<HttpResponseMessage> SendRawAsync(Func<HttpRequestMessage> make, string operation, RetryPolicy retry, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        int attempt = 0;
        while (true)
        {
            attempt++;
            HttpResponseMessage response;
            try
            {
                using var message = make();
                response = await SendOnceAsync(message, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e, ct))
            {
                if (await WaitToRetryAsync(attempt, clock, null, $"{operation}: {Describe(e)}", ct, retry).ConfigureAwait(false)) continue;
                throw new RegistryException($"{Registry}: {operation}: {Describe(e)}", inner: e);
            }
            if (RetryPolicy.IsRetryable(response.StatusCode) && CanRetry(attempt, clock, retry.RetryAfter(response.Headers.RetryAfter), retry) is { } wait)
            {
                response.Dispose();
                await WaitAsync(wait, attempt, $"{operation}: {(int)response.StatusCode}", retry, ct).ConfigureAwait(false);
                continue;
            }
            return response;
        }
    }

    Task<HttpResponseMessage> SendTokenRequestAsync(Func<HttpRequestMessage> make, string operation, CancellationToken ct) =>
        SendRawAsync(make, operation, _options.Retry, ct);

    /// <summary>Waits before another try when the policy allows one; false when it does not.</summary>
    async Task<bool> WaitToRetryAsync(int attempt, Stopwatch clock, TimeSpan? retryAfter, string why, CancellationToken ct, RetryPolicy? policy = null)
    {
        policy ??= _options.Retry;
        if (CanRetry(attempt, clock, retryAfter, policy) is not { } wait) return false;
        await WaitAsync(wait, attempt, why, policy, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>The wait before another try, or null when the policy has no try left (attempts, or total time with the wait).</summary>
    static TimeSpan? CanRetry(int attempt, Stopwatch clock, TimeSpan? retryAfter, RetryPolicy policy)
    {
        if (attempt >= policy.MaxAttempts) return null;
        var wait = retryAfter ?? policy.Backoff(attempt);
        return clock.Elapsed + wait > policy.MaxTotal ? null : wait;
    }

    async Task WaitAsync(TimeSpan wait, int attempt, string why, RetryPolicy policy, CancellationToken ct)
    {
        Counters.AddRetry();
        Log($"{why}; retrying in {wait.TotalSeconds:0.0} s (try {attempt + 1} of {policy.MaxAttempts})");
        await Task.Delay(wait, ct).ConfigureAwait(false);
    }

    static bool IsTransient(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is HttpRequestException or IOException or TimeoutException;

    /// <summary>A transport failure in words, with what to do about a certificate the system does not trust.</summary>
    internal string Describe(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is AuthenticationException)
                return $"TLS: {x.Message.TrimEnd('.')} (a registry with a private CA wants its ca.crt in /etc/containers/certs.d/{Registry}/ or --cert-dir; --tls-verify=false skips the check)";
        var inner = e;
        while (inner.InnerException is not null && inner is HttpRequestException) inner = inner.InnerException;
        return inner.Message.TrimEnd('.');
    }

    RegistryCredentials? CredentialsFor(string[] scopes)
    {
        var repository = scopes.Length > 0 && scopes[0].Split(':') is [_, var name, ..] ? name : "";
        return _options.Credentials.Get(Registry, repository);
    }

    async Task AuthorizeAsync(HttpRequestMessage message, string[] scopes, RegistryCredentials? creds, CancellationToken ct)
    {
        var challenge = _challenge;
        if (challenge is null) return;
        if (challenge.IsBasic)
        {
            if (creds is not null) message.Headers.Authorization = new AuthenticationHeaderValue("Basic", creds.BasicHeader());
            return;
        }
        if (challenge.IsBearer)
        {
            var before = _tokens.Fetches;
            var token = await _tokens.GetAsync(challenge, scopes, creds, SendTokenRequestAsync, Registry, ct).ConfigureAwait(false);
            Counters.AddTokenFetches(_tokens.Fetches - before);
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    /// <summary>Reads at most <paramref name="max"/> bytes of a body (an error document, a small JSON answer).</summary>
    internal static async Task<byte[]> ReadSmallAsync(HttpResponseMessage response, CancellationToken ct, int max = 64 << 10)
    {
        await using var s = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new byte[max];
        int total = 0, n;
        while (total < max && (n = await s.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false)) > 0) total += n;
        return buffer[..total];
    }

    /// <summary>The registry's answer as the one-line error, its body read for the spec error.</summary>
    internal static async Task<RegistryException> FailureAsync(HttpResponseMessage response, string what, string operation, CancellationToken ct)
    {
        byte[] body = [];
        try
        {
            body = await ReadSmallAsync(response, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
        }
        return ErrorCodes.ToException(what, operation, response.StatusCode, body);
    }
}

/// <summary>What a client has done, counted: requests (every try), retries, token fetches, blob resumes.</summary>
public sealed class RegistryCounters
{
    int _requests, _retries, _tokens, _resumes;
    public int Requests => _requests;
    public int Retries => _retries;
    public int TokenFetches => _tokens;
    public int Resumes => _resumes;
    internal void AddRequest() => Interlocked.Increment(ref _requests);
    internal void AddRetry() => Interlocked.Increment(ref _retries);
    internal void AddTokenFetches(int n) => Interlocked.Add(ref _tokens, n);
    internal void AddResume() => Interlocked.Increment(ref _resumes);
}
