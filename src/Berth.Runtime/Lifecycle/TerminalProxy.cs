using System.Runtime.InteropServices;
using Berth.Linux;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `run` or `exec` with a terminal and no console socket: Berth holds the pty master itself
/// and joins it to the user's terminal — raw mode while it runs (restored on exit and on
/// error), keystrokes in, output out, window size changes forwarded.
/// </summary>
public sealed class TerminalProxy : IDisposable
{
    readonly SafeFd _master;
    readonly byte[]? _saved;
    readonly PosixSignalRegistration? _winch;
    readonly Thread _output;

    public TerminalProxy(SafeFd master)
    {
        _master = master;
        if (Terminal.IsTerminal(0))
        {
            if (Terminal.TryGetSize(0, out var size)) Terminal.SetSize(master, size);
            _saved = Terminal.MakeRaw(0);
            _winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, ctx =>
            {
                ctx.Cancel = true;
                if (Terminal.TryGetSize(0, out var s)) Terminal.SetSize(_master, s);
            });
        }
        var input = new Thread(() => Copy(0, master.Number)) { IsBackground = true, Name = "tty-in" };
        _output = new Thread(() => Copy(master.Number, 1)) { IsBackground = true, Name = "tty-out" };
        input.Start();
        _output.Start();
    }

    /// <summary>Copies until end of file or an error (EIO on the master once every slave is closed).</summary>
    static void Copy(int from, int to)
    {
        var buffer = new byte[8192];
        using var src = new SafeFd(from, ownsHandle: false);
        using var dst = new SafeFd(to, ownsHandle: false);
        try
        {
            int n;
            while ((n = Files.Read(src, buffer)) > 0) Files.WriteAll(dst, buffer.AsSpan(0, n));
        }
        catch (LinuxException)
        {
        }
    }

    /// <summary>Lets the last output through after the process has exited.</summary>
    public void Drain() => _output.Join(2000);

    public void Dispose()
    {
        _winch?.Dispose();
        if (_saved is not null) Terminal.Restore(0, _saved);
        _master.Dispose();
    }
}
