using System.Text;
using System.Text.Json;
using Berth.Linux;

namespace Berth.Runtime;

/// <summary>
/// runc's logging contract: --log FILE receives every message (json: one {"level","msg","time"}
/// object per line, as go-runc parses it); without --log, warnings go to stderr. Errors always
/// reach stderr as well.
/// </summary>
public sealed class Log : IDisposable
{
    readonly SafeFd? _file;
    readonly string? _path;
    readonly bool _json;
    public bool DebugEnabled { get; }

    public Log(string? path, bool json, bool debug)
    {
        _json = json;
        DebugEnabled = debug;
        if (path is null) return;
        _path = path;
        // O_APPEND: one write per line lands whole at the end, whoever else writes the file (runc's log is the shim's too).
        try { _file = Files.Open(path, O.WRONLY | O.APPEND | O.CREAT | O.NOCTTY, 0x1a4 /* 0644 */); }
        catch (LinuxException e) { throw new RuntimeException($"--log: {e.Message}", e); }
    }

    public static Log Quiet { get; } = new(null, false, false);

    static readonly long Started = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Debug line with the milliseconds since this process started logging (for --debug timing).</summary>
    public void Debug(string msg)
    {
        if (DebugEnabled)
            Write("debug", $"[{System.Diagnostics.Stopwatch.GetElapsedTime(Started).TotalMilliseconds:F1}ms] {msg}", toStderr: _file is null);
    }

    public void Warn(string msg) => Write("warning", msg, toStderr: _file is null);

    /// <summary>An error: always on stderr ("berth: msg"), and in the log file if there is one.</summary>
    public void Error(string msg)
    {
        Stderr($"berth: {msg}");
        if (_file is not null) Write("error", msg, toStderr: false);
    }

    void Write(string level, string msg, bool toStderr)
    {
        var time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        if (toStderr) Stderr($"berth: {level}: {msg}");
        if (_file is null) return;
        string line;
        if (_json)
        {
            line = Encoding.UTF8.GetString(Oci.Json.JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("level", level);
                w.WriteString("msg", msg);
                w.WriteString("time", time);
                w.WriteEndObject();
            })) + "\n";
        }
        else
        {
            line = $"time=\"{time}\" level={level} msg=\"{msg.Replace("\"", "\\\"")}\"\n";
        }
        // One write per line so concurrent writers (runc's log is shared with the shim) never interleave.
        try
        {
            Files.WriteAll(_file, Encoding.UTF8.GetBytes(line), _path);
        }
        catch (LinuxException e)
        {
            // A log that cannot be written (a full disk) never fails the command: the message goes to stderr instead.
            if (level != "error") Stderr($"berth: {level}: {msg} (--log: {e.Message})");
        }
    }

    public void Dispose() => _file?.Dispose();

    static readonly SafeFd StderrFd = new(2, ownsHandle: false);

    /// <summary>One line to fd 2 in one write(2), without System.Console's set-up.</summary>
    public static void Stderr(string line)
    {
        try { Files.WriteAll(StderrFd, Encoding.UTF8.GetBytes(line + "\n"), "stderr"); }
        catch (LinuxException) { }
    }
}
