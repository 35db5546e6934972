using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>
/// Signals through a pidfd: once open, the descriptor names that one process even if its pid
/// is reused, so "check start time, then signal" has no window.
/// </summary>
public static class Pidfd
{
    /// <summary>Opens a pidfd for <paramref name="pid"/> if it is still the process that started at <paramref name="startTime"/>; null if gone.</summary>
    public static SafeFd? OpenIfAlive(int pid, ulong startTime)
    {
        if (Open(pid) is not { } handle) return null;
        // Checked after opening: a start time that still matches means the pidfd names the
        // process we recorded, not one that took its pid since.
        if (!ProcStat.IsAlive(pid, startTime))
        {
            handle.Dispose();
            return null;
        }
        return handle;
    }

    public static SafeFd? Open(int pid)
    {
        long fd = Libc.syscall(Sys.PidfdOpen, pid, 0, 0, 0, 0, 0);
        if (fd >= 0) return new SafeFd((int)fd);
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.ESRCH) return null;
        throw new LinuxException(e, "pidfd_open", pid.ToString());
    }

    /// <summary>False if the process has already exited.</summary>
    public static bool SendSignal(SafeFd pidfd, int signal)
    {
        if (Libc.syscall(Sys.PidfdSendSignal, pidfd.Number, signal, 0, 0, 0, 0) == 0) return true;
        int e = Marshal.GetLastPInvokeError();
        if (e == Errno.ESRCH) return false;
        throw new LinuxException(e, "pidfd_send_signal", Signals.Name(signal));
    }

    /// <summary>Waits until the process exits (the pidfd turns readable), up to <paramref name="timeoutMs"/>.</summary>
    /// <summary>Signals each pid that still exists, through a pidfd (no race with reuse once opened); returns how many got it.</summary>
    public static int SignalEach(IEnumerable<int> pids, int signal)
    {
        int sent = 0;
        foreach (var pid in pids)
            if (Open(pid) is { } fd)
                using (fd) sent += SendSignal(fd, signal) ? 1 : 0;
        return sent;
    }

    public static bool WaitExit(SafeFd pidfd, int timeoutMs) => Files.Poll(pidfd, Files.POLLIN, timeoutMs, out _);
}
