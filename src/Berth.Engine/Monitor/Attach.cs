using System.Text;
using Berth.Linux;

namespace Berth.Engine.Monitor;

/// <summary>
/// A client of conmon's attach socket (BUNDLE/attach, SOCK_SEQPACKET): each packet conmon sends
/// starts with the stream it came from (2 stdout, 3 stderr; a terminal is all stdout); what the
/// client writes is the container's stdin. conmon closes the socket when the container is gone.
/// Terminal size goes to the ctl fifo as "1 ROWS COLS\n".
/// </summary>
public sealed class Attach : IDisposable
{
    const byte StdoutPipe = 2, StderrPipe = 3;
    readonly SafeFd _socket;
    readonly string _bundle;

    Attach(SafeFd socket, string bundle)
    {
        _socket = socket;
        _bundle = bundle;
    }

    /// <summary>Connects through the bundle's directory fd: the socket's full path may be longer than sun_path's 108 bytes.</summary>
    public static Attach Connect(string bundle)
    {
        using var dir = Files.Open(bundle, O.PATH | O.DIRECTORY | O.CLOEXEC);
        return new Attach(Sockets.ConnectUnix($"{dir.ProcPath}/attach", Sockets.SOCK_SEQPACKET), bundle);
    }

    public void Resize(WindowSize size)
    {
        try
        {
            using var ctl = Files.Open(Path.Combine(_bundle, "ctl"), O.WRONLY | O.NONBLOCK | O.CLOEXEC);
            Files.WriteAll(ctl, Encoding.ASCII.GetBytes($"1 {size.Rows} {size.Cols}\n"), "ctl");
        }
        catch (LinuxException) { /* conmon gone or no terminal: nothing to resize */ }
    }

    /// <summary>
    /// Copies the container's output to fds 1 and 2 until conmon closes the socket; with
    /// <paramref name="stdin"/>, fd 0 to the container on a background thread (its end shuts the
    /// socket for writing, which conmon passes on as the container's stdin closing).
    /// </summary>
    public void Pump(bool stdin)
    {
        if (stdin)
        {
            var t = new Thread(() =>
            {
                using var input = new SafeFd(0, ownsHandle: false);
                var buf = new byte[8192];
                try
                {
                    int n;
                    while ((n = Files.Read(input, buf)) > 0) Files.WriteAll(_socket, buf.AsSpan(0, n), "attach socket");
                }
                catch (LinuxException) { /* the container is gone */ }
                Sockets.Shutdown(_socket, write: true);
            }) { IsBackground = true };
            t.Start();
        }
        using var stdout = new SafeFd(1, ownsHandle: false);
        using var stderr = new SafeFd(2, ownsHandle: false);
        var packet = new byte[8193];
        while (true)
        {
            int n;
            try { n = Files.Read(_socket, packet); }
            catch (LinuxException e) when (e.Errno == Errno.ECONNRESET) { break; }
            if (n <= 0) break;
            if (n < 2) continue;
            try { Files.WriteAll(packet[0] == StderrPipe ? stderr : stdout, packet.AsSpan(1, n - 1), "output"); }
            catch (LinuxException e) when (e.Errno == Errno.EPIPE) { /* our reader left; the container goes on */ }
        }
    }

    public void Dispose() => _socket.Dispose();
}
