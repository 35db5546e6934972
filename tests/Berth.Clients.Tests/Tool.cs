using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Berth.Clients.Tests;

/// <summary>One command an engine's client ran, and what it printed.</summary>
public sealed record Outcome(string Command, int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() =>
        $"$ {Command}\nexit {ExitCode}\nstdout: {Tool.Quote(Stdout)}\nstderr: {Tool.Quote(Stderr)}";
}

/// <summary>How these tests run the engines' clients and daemons: bounded in time, output in files.</summary>
public static class Tool
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Runs a command to completion, killed (whole tree) after <paramref name="timeout"/>. Output goes to files,
    /// not pipes: a container the command leaves running inherits them and would hold a pipe open.
    /// </summary>
    public static Outcome Run(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null,
        TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var argv = args.ToArray();
        var command = string.Join(' ', new[] { file }.Concat(argv).Select(ShellWord));
        var outFile = Path.GetTempFileName();
        var errFile = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/bin/sh") { WorkingDirectory = workingDirectory ?? "/" };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >\"$BERTH_TEST_OUT\" 2>\"$BERTH_TEST_ERR\"");
            psi.ArgumentList.Add(file);
            foreach (var a in argv) psi.ArgumentList.Add(a);
            psi.Environment["BERTH_TEST_OUT"] = outFile;
            psi.Environment["BERTH_TEST_ERR"] = errFile;
            if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            var limit = timeout ?? DefaultTimeout;
            if (!p.WaitForExit(limit))
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
                return new Outcome(command, 124, File.ReadAllText(outFile), File.ReadAllText(errFile) + $"\n[killed: no exit in {limit.TotalSeconds} s]");
            }
            return new Outcome(command, p.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
    }

    public static Outcome Run(string file, params string[] args) => Run(file, (IEnumerable<string>)args);

    /// <summary>The command must succeed; for setup and teardown steps, not for what a test checks.</summary>
    public static Outcome MustRun(string file, params string[] args)
    {
        var r = Run(file, args);
        if (r.ExitCode != 0) throw new InvalidOperationException($"setup step failed:\n{r}");
        return r;
    }

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (condition()) return true;
            if (sw.Elapsed > timeout) return false;
            Thread.Sleep(50);
        }
    }

    public static string Quote(string s) => s.Length == 0 ? "\"\"" : "\"" + s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\"", "\\\"") + "\"";

    static string ShellWord(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,@%+".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    static extern int SysKill(int pid, int signal);

    public const int SIGKILL = 9, SIGTERM = 15;

    /// <summary>Sends a signal by pid; false when the process is gone.</summary>
    public static bool Signal(int pid, int signal) => SysKill(pid, signal) == 0;

    /// <summary>Alive: exists and is neither a zombie nor dead (/proc/pid/stat state).</summary>
    public static bool Alive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }

    /// <summary>SIGTERM, then SIGKILL once <paramref name="grace"/> has passed; true when the process is gone.</summary>
    public static bool Stop(int pid, TimeSpan grace)
    {
        if (!Alive(pid)) return true;
        Signal(pid, SIGTERM);
        if (WaitUntil(() => !Alive(pid), grace)) return true;
        Signal(pid, SIGKILL);
        return WaitUntil(() => !Alive(pid), TimeSpan.FromSeconds(10));
    }
}
