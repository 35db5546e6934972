using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Berth.Registry.Tests.Fixtures;

public static class Ports
{
    /// <summary>A port free on 127.0.0.1 now (bound and released; the registry binds it a moment later).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Waits until something accepts connections on 127.0.0.1:<paramref name="port"/>, at most <paramref name="timeout"/>.</summary>
    public static void WaitListening(int port, TimeSpan timeout, Func<string>? why = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                if (clock.Elapsed > timeout) throw new TimeoutException($"nothing listens on 127.0.0.1:{port} after {timeout.TotalSeconds:0} s{(why is null ? "" : ": " + why())}");
                Thread.Sleep(50);
            }
        }
    }
}
