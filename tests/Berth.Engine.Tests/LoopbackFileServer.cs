using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Berth.Engine.Tests;

/// <summary>An HTTP/1.0 server on 127.0.0.1 that answers every request with one body, until disposed: what ADD of a URL downloads in the tests.</summary>
public sealed class LoopbackFileServer : IDisposable
{
    readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public LoopbackFileServer(byte[] body)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(); }
                catch (Exception) { return; }
                using (client)
                {
                    var stream = client.GetStream();
                    var buf = new byte[4096];
                    var request = new StringBuilder();
                    // The request up to its blank line.
                    while (!request.ToString().Contains("\r\n\r\n"))
                    {
                        int n = await stream.ReadAsync(buf);
                        if (n == 0) break;
                        request.Append(Encoding.ASCII.GetString(buf, 0, n));
                    }
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
                    await stream.WriteAsync(body);
                }
            }
        });
    }

    public int Port { get; }

    public void Dispose() => _listener.Stop();
}
