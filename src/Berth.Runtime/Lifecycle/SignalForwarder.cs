using System.Runtime.InteropServices;
using Berth.Linux;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// A foreground launcher's signals (run, exec), passed on to the container's process. Armed
/// before anything is spawned, so a signal can never find the launcher without its handlers
/// and kill it instead (the default action of SIGTERM, SIGINT, SIGHUP): what arrives before the
/// process runs is held, and delivered in order once it does, as runc's signal handler does.
/// </summary>
public sealed class SignalForwarder : IDisposable
{
    // Raw numbers: PosixSignal accepts them on Unix. SIGCHLD is ours; SIGKILL/SIGSTOP cannot be caught.
    public static readonly int[] Forwarded = { 1, 2, 3, 10, 12, 14, 15, 28 };

    readonly object _lock = new();
    readonly List<PosixSignalRegistration> _registrations = new();
    readonly List<int> _held = new();
    readonly Log _log;
    SafeFd? _target;
    bool _closed;

    public SignalForwarder(Log log)
    {
        _log = log;
        foreach (var sig in Forwarded)
            _registrations.Add(PosixSignalRegistration.Create((PosixSignal)sig, ctx =>
            {
                ctx.Cancel = true;
                Forward(sig);
            }));
        _log.Debug("signals: forwarding armed");
    }

    void Forward(int sig)
    {
        lock (_lock)
        {
            if (_closed) return;
            if (_target is null)
            {
                _held.Add(sig);
                return;
            }
            Send(_target, sig);
        }
    }

    /// <summary>On the runtime's signal thread: nothing may escape from here.</summary>
    static void Send(SafeFd process, int sig)
    {
        try { Pidfd.SendSignal(process, sig); }
        catch (LinuxException) { }
    }

    /// <summary>
    /// The process runs (it has exec'd): the held signals go to it now, and every later one as it
    /// arrives. The forwarder owns <paramref name="process"/> from here on (a handler must never
    /// signal through a descriptor closed and reused under it); null, the process already exited,
    /// drops them.
    /// </summary>
    public void DeliverTo(SafeFd? process)
    {
        lock (_lock)
        {
            if (_closed || process is null)
            {
                process?.Dispose();
                _closed = true;
                _held.Clear();
                return;
            }
            _target = process;
            if (_held.Count > 0) _log.Debug($"signals: delivering {_held.Count} held until the process ran");
            foreach (var sig in _held) Send(process, sig);
            _held.Clear();
        }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        lock (_lock)
        {
            _closed = true;
            _target?.Dispose();
            _target = null;
            _held.Clear();
        }
    }
}
