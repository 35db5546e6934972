using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Registry.Tests.Fixtures;

/// <summary>A request the proxy saw, for assertions.</summary>
public sealed record ProxiedRequest(string Method, string Path, int Status, string? Authorization, string? Range, string? Location = null);

/// <summary>
/// An HTTP/1.1 proxy in the test process in front of a registry on 127.0.0.1 (one request per
/// connection, Host kept so the registry's Location headers point back here). It can break things
/// the way networks and registries do: cut a blob's body after some bytes, flip a byte of it,
/// answer 429 with Retry-After, answer 503, redirect blob GETs to another host, or answer a path
/// itself. It counts what it forwarded: requests, blob body bytes, blob GETs in flight at once.
/// </summary>
public sealed class FaultProxy : IDisposable
{
    readonly TcpListener _listener;
    readonly int _upstreamPort;
    readonly HttpClient _upstream;
    readonly CancellationTokenSource _stop = new();
    readonly Task _loop;
    long _blobBytes;
    int _active, _maxActive;

    public int Port { get; }
    /// <summary>The name clients use for it: "127.0.0.1:PORT", or another name for the same loopback ("localhost:PORT") to play a second host.</summary>
    public string Host { get; }
    public List<ProxiedRequest> Requests { get; } = new();

    /// <summary>Cut the body of the next <see cref="Cuts"/> blob GETs after this many bytes (then close the connection).</summary>
    public long? CutBlobAfter { get; set; }
    public int Cuts { get; set; } = 1;
    /// <summary>Flip the byte at this offset of every blob GET's body.</summary>
    public long? FlipByteAt { get; set; }
    /// <summary>Answer this many of the next requests whose path contains <see cref="StatusFaultPath"/> with <see cref="StatusFault"/>.</summary>
    public int StatusFaults { get; set; }
    public HttpStatusCode StatusFault { get; set; } = HttpStatusCode.TooManyRequests;
    public string StatusFaultPath { get; set; } = "/v2/";
    public int? RetryAfterSeconds { get; set; } = 1;
    /// <summary>Close this many of the next connections whose request path contains <see cref="StatusFaultPath"/> without an answer (a reset).</summary>
    public int Resets { get; set; }
    /// <summary>Wait this long between 64 KiB chunks of blob bodies (so parallel transfers overlap).</summary>
    public int BlobChunkDelayMs { get; set; }
    /// <summary>Answer blob GETs with 307 to this origin ("http://localhost:PORT"), the path kept.</summary>
    public string? RedirectBlobsTo { get; set; }
    /// <summary>An Authorization header the proxy itself sends upstream (a blob-storage host that has its own access to the blobs).</summary>
    public Func<string, string?>? UpstreamAuthorization { get; set; }
    /// <summary>Answer a request itself: (status, headers, body), or null to forward it.</summary>
    public Func<string, string, (int Status, Dictionary<string, string> Headers, byte[] Body)?>? Override { get; set; }

    /// <summary>Blob GET body bytes sent to clients.</summary>
    public long BlobBytesSent => Interlocked.Read(ref _blobBytes);
    /// <summary>The most blob GETs that were in flight at once.</summary>
    public int MaxConcurrentBlobGets => _maxActive;

    public FaultProxy(int upstreamPort, string hostName = "127.0.0.1")
    {
        _upstreamPort = upstreamPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Host = $"{hostName}:{Port}";
        _upstream = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None, UseCookies = false,
        }) { Timeout = TimeSpan.FromSeconds(60) };
        _loop = Task.Run(AcceptLoop);
    }

    public void ResetCounters()
    {
        lock (Requests) Requests.Clear();
        Interlocked.Exchange(ref _blobBytes, 0);
        _maxActive = 0;
    }

    async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try { await Serve(client.GetStream()); }
                    catch (Exception) { }
                }
            });
        }
    }

    static bool IsBlobGet(string method, string path) => method == "GET" && path.Contains("/blobs/sha256:");

    async Task Serve(NetworkStream net)
    {
        // A TLS ClientHello (an insecure client trying HTTPS first) is refused at once, as a plain-HTTP registry does.
        var first = new byte[1];
        if (await net.ReadAsync(first) == 0 || first[0] == 0x16) return;
        var (method, target, headers, body) = await ReadRequest(net, first[0]);
        var path = target;
        string? Header(string name) => headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

        if (Override?.Invoke(method, path) is var (oStatus, oHeaders, oBody))
        {
            Record(method, path, oStatus, Header("Authorization"), Header("Range"));
            await WriteHead(net, oStatus, oHeaders.Append(new("Content-Length", oBody.Length.ToString())));
            if (method != "HEAD") await net.WriteAsync(oBody);
            return;
        }
        if (Resets > 0 && path.Contains(StatusFaultPath))
        {
            Resets--;
            Record(method, path, 0, Header("Authorization"), Header("Range"));
            net.Socket.LingerState = new LingerOption(true, 0); // RST, not FIN
            return;
        }
        if (StatusFaults > 0 && path.Contains(StatusFaultPath))
        {
            StatusFaults--;
            Record(method, path, (int)StatusFault, Header("Authorization"), Header("Range"));
            var h = new List<KeyValuePair<string, string>> { new("Content-Type", "application/json") };
            if (RetryAfterSeconds is { } ra) h.Add(new("Retry-After", ra.ToString()));
            var err = Encoding.UTF8.GetBytes(StatusFault == HttpStatusCode.TooManyRequests
                ? """{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}""" : """{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}""");
            h.Add(new("Content-Length", err.Length.ToString()));
            await WriteHead(net, (int)StatusFault, h);
            await net.WriteAsync(err);
            return;
        }
        if (RedirectBlobsTo is { } to && IsBlobGet(method, path))
        {
            Record(method, path, 307, Header("Authorization"), Header("Range"));
            await WriteHead(net, 307, [new("Location", to + path), new("Content-Length", "0")]);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), $"http://127.0.0.1:{_upstreamPort}{path}");
        if (body is not null) request.Content = new ByteArrayContent(body);
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase)) { request.Headers.Host = value; continue; }
            if (name is "Connection" or "Content-Length" or "Transfer-Encoding" or "Expect" || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, value)) request.Content?.Headers.TryAddWithoutValidation(name, value);
        }
        if (UpstreamAuthorization?.Invoke(path) is { } auth)
        {
            request.Headers.Remove("Authorization");
            request.Headers.TryAddWithoutValidation("Authorization", auth);
        }
        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Record(method, path, (int)response.StatusCode, Header("Authorization"), Header("Range"), response.Headers.Location?.OriginalString);
        var outHeaders = new List<KeyValuePair<string, string>>();
        foreach (var h in response.Headers.Concat(response.Content.Headers))
        {
            if (h.Key is "Transfer-Encoding" or "Connection" or "Content-Length") continue;
            foreach (var v in h.Value) outHeaders.Add(new(h.Key, v));
        }
        var upstreamBody = await response.Content.ReadAsStreamAsync();
        long? length = response.Content.Headers.ContentLength;
        byte[]? buffered = null;
        if (length is null && method != "HEAD")
        {
            buffered = await ReadAll(upstreamBody);
            length = buffered.Length;
        }
        if (length is { } l) outHeaders.Add(new("Content-Length", l.ToString()));
        bool blob = IsBlobGet(method, path) && response.IsSuccessStatusCode;
        if (blob)
        {
            var now = Interlocked.Increment(ref _active);
            int seen;
            while ((seen = _maxActive) < now && Interlocked.CompareExchange(ref _maxActive, now, seen) != seen) { }
        }
        try
        {
            await WriteHead(net, (int)response.StatusCode, outHeaders);
            if (method == "HEAD") return;
            var source = buffered is not null ? new MemoryStream(buffered) : upstreamBody;
            long? cut = null;
            if (blob && CutBlobAfter is { } c && Cuts > 0)
            {
                Cuts--;
                cut = c;
            }
            var chunk = new byte[65536];
            long sent = 0;
            int n;
            while ((n = await source.ReadAsync(chunk)) > 0)
            {
                if (cut is { } limit && sent + n > limit) n = (int)(limit - sent);
                if (blob && FlipByteAt is { } flip && flip >= sent && flip < sent + n) chunk[flip - sent] ^= 0xff;
                if (blob && BlobChunkDelayMs > 0) await Task.Delay(BlobChunkDelayMs);
                await net.WriteAsync(chunk.AsMemory(0, n));
                sent += n;
                if (blob) Interlocked.Add(ref _blobBytes, n);
                if (cut is { } lim && sent >= lim)
                {
                    // Slow enough that the client has read what was sent before the connection goes.
                    await net.FlushAsync();
                    await Task.Delay(50);
                    return;
                }
            }
        }
        finally
        {
            if (blob) Interlocked.Decrement(ref _active);
        }
    }

    void Record(string method, string path, int status, string? authorization, string? range, string? location = null)
    {
        lock (Requests) Requests.Add(new ProxiedRequest(method, path, status, authorization, range, location));
    }

    public ProxiedRequest[] Seen()
    {
        lock (Requests) return Requests.ToArray();
    }

    static async Task<byte[]> ReadAll(Stream s)
    {
        var m = new MemoryStream();
        await s.CopyToAsync(m);
        return m.ToArray();
    }

    static async Task WriteHead(NetworkStream net, int status, IEnumerable<KeyValuePair<string, string>> headers)
    {
        var sb = new StringBuilder($"HTTP/1.1 {status} {(HttpStatusCode)status}\r\n");
        foreach (var (k, v) in headers) sb.Append(k).Append(": ").Append(v).Append("\r\n");
        sb.Append("Connection: close\r\n\r\n");
        await net.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
    }

    /// <summary>Request line, headers, and a Content-Length or chunked body.</summary>
    static async Task<(string Method, string Target, List<KeyValuePair<string, string>> Headers, byte[]? Body)> ReadRequest(NetworkStream net, byte firstByte)
    {
        var head = new MemoryStream();
        head.WriteByte(firstByte);
        var one = new byte[1];
        while (true)
        {
            if (await net.ReadAsync(one) == 0) throw new IOException("closed before the request");
            head.WriteByte(one[0]);
            var b = head.GetBuffer();
            var len = (int)head.Length;
            if (len >= 4 && b[len - 4] == '\r' && b[len - 3] == '\n' && b[len - 2] == '\r' && b[len - 1] == '\n') break;
            if (len > 65536) throw new IOException("headers too long");
        }
        var lines = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n");
        var parts = lines[0].Split(' ');
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            if (line.Length == 0) continue;
            int colon = line.IndexOf(':');
            headers.Add(new(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        string? Get(string n) => headers.FirstOrDefault(h => h.Key.Equals(n, StringComparison.OrdinalIgnoreCase)).Value;
        byte[]? body = null;
        if (Get("Content-Length") is { } cl && long.Parse(cl) is var length && length > 0)
        {
            body = new byte[length];
            int got = 0;
            while (got < length)
            {
                int n = await net.ReadAsync(body.AsMemory(got));
                if (n == 0) throw new IOException("closed in the body");
                got += n;
            }
        }
        else if (Get("Transfer-Encoding")?.Contains("chunked") == true)
        {
            var all = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadLine(net);
                var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0) { await ReadLine(net); break; }
                var chunk = new byte[size];
                int got = 0;
                while (got < size) got += await net.ReadAsync(chunk.AsMemory(got));
                all.Write(chunk);
                await ReadLine(net);
            }
            body = all.ToArray();
        }
        else if (parts[0] is "PUT" or "POST" or "PATCH") body = [];
        return (parts[0], parts[1], headers, body);
    }

    static async Task<string> ReadLine(NetworkStream net)
    {
        var sb = new StringBuilder();
        var one = new byte[1];
        while (await net.ReadAsync(one) > 0)
        {
            if (one[0] == '\n') break;
            if (one[0] != '\r') sb.Append((char)one[0]);
        }
        return sb.ToString();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try { _loop.Wait(5000); } catch (AggregateException) { }
        _upstream.Dispose();
        _stop.Dispose();
    }
}
