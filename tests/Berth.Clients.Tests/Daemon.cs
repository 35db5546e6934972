using System.Diagnostics;

namespace Berth.Clients.Tests;

/// <summary>A daemon this test started (dockerd, containerd): its output in a log file, stopped by its pid.</summary>
public sealed class Daemon
{
    readonly Process _process;
    public string Log { get; }
    public int Pid => _process.Id;

    Daemon(Process process, string log)
    {
        _process = process;
        Log = log;
    }

    /// <summary>Starts <paramref name="file"/> with stdin from /dev/null and stdout+stderr appended to <paramref name="log"/>.</summary>
    public static Daemon Start(string file, IEnumerable<string> args, string log)
    {
        var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = "/" };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$BERTH_TEST_LOG\" 2>&1");
        psi.ArgumentList.Add(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["BERTH_TEST_LOG"] = log;
        return new Daemon(Process.Start(psi)!, log);
    }

    public bool Exited => _process.HasExited;

    /// <summary>Waits (bounded) until <paramref name="ready"/> holds; fails with the log's end if the daemon died or never got ready.</summary>
    public void WaitReady(Func<bool> ready, TimeSpan timeout)
    {
        var ok = Tool.WaitUntil(() => _process.HasExited || ready(), timeout);
        if (_process.HasExited) throw new InvalidOperationException($"daemon exited with {_process.ExitCode}:\n{Tail(40)}");
        if (!ok) throw new TimeoutException($"daemon not ready in {timeout.TotalSeconds} s:\n{Tail(40)}");
    }

    /// <summary>SIGTERM by pid (the pid file's pid when there is one, checked against ours), SIGKILL after <paramref name="grace"/>.</summary>
    public void Stop(TimeSpan grace, string? pidFile = null)
    {
        var pid = Pid;
        if (pidFile is not null && File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var fromFile) && fromFile != pid)
            throw new InvalidOperationException($"{pidFile} names pid {fromFile}, the daemon started here is {pid}");
        if (_process.HasExited) return;
        Tool.Signal(pid, Tool.SIGTERM);
        if (_process.WaitForExit(grace)) return;
        Tool.Signal(pid, Tool.SIGKILL);
        _process.WaitForExit(10_000);
    }

    public string Tail(int lines)
    {
        try { return string.Join('\n', File.ReadLines(Log).TakeLast(lines)); }
        catch (IOException) { return "(no log)"; }
    }

    /// <summary>The log's warning and error lines since <paramref name="skipLines"/>.</summary>
    public string Problems(int skipLines, int max = 12)
    {
        try
        {
            var lines = File.ReadLines(Log).Skip(skipLines)
                .Where(l => l.Contains("level=error", StringComparison.Ordinal) || l.Contains("level=warning", StringComparison.Ordinal))
                .TakeLast(max).ToList();
            return lines.Count == 0 ? "" : string.Join('\n', lines);
        }
        catch (IOException) { return ""; }
    }

    public int LineCount()
    {
        try { return File.ReadLines(Log).Count(); } catch (IOException) { return 0; }
    }
}
