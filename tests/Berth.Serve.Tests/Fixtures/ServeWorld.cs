using System.Net;
using System.Net.Sockets;
using Berth.Registry.Tests.Fixtures;

namespace Berth.Serve.Tests.Fixtures;

/// <summary>One registry with the vulnerable image pushed, and the OSV database, shared by a test class.</summary>
public sealed class ServeWorld : IDisposable
{
    public PlainRegistry Registry { get; } = new();
    public OsvDb Osv { get; } = new();
    public string Image => $"{Registry.Host}/app/vulnerable:1";
    public string Digest { get; }

    public ServeWorld()
    {
        try { Digest = VulnerableImage.Push(Registry.Host, "app/vulnerable", "1"); }
        catch { Dispose(); throw; }
    }

    /// <summary>A --data dir for one test, removed by the caller's using.</summary>
    public static TempDir Data() => new();

    /// <summary>The arguments every test's service gets: loopback, an own data dir, the fixture database, plain-HTTP registries.</summary>
    public string[] Args(string data, params string[] more)
    {
        // The promotion policy the service loads at start: nothing required (these tests are about scans).
        var policy = Path.Combine(data, "policy.yaml");
        if (!File.Exists(policy)) File.WriteAllText(policy, "require:\n  signature: false\n");
        return ["--listen", "127.0.0.1:0", "--data", data, "--policy", Path.Combine(data, "policy.yaml"), "--db", Osv.Dir, "--tls-verify=false", "--insecure-pull-policy", .. more];
    }

    public void Dispose()
    {
        Registry.Dispose();
        Osv.Dispose();
    }
}

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("berth-serve-data-").FullName;
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (DirectoryNotFoundException) { } }
}

/// <summary>
/// A TCP proxy to a registry that holds every connection unanswered until <see cref="Open"/>: a scan
/// pulling through it stays `running` for as long as the test wants, with no timing involved.
/// </summary>
public sealed class GateProxy : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    readonly int _upstream;
    readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
    readonly CancellationTokenSource _stop = new();
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    public GateProxy(int upstreamPort)
    {
        _upstream = upstreamPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(LoopAsync);
    }

    public void Open() => _open.TrySetResult();

    async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using var c = client;
                try
                {
                    await _open.Task.WaitAsync(_stop.Token);
                    using var up = new TcpClient();
                    await up.ConnectAsync(IPAddress.Loopback, _upstream);
                    var a = c.GetStream().CopyToAsync(up.GetStream(), _stop.Token);
                    var b = up.GetStream().CopyToAsync(c.GetStream(), _stop.Token);
                    await Task.WhenAny(a, b);
                }
                catch (Exception) { }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
