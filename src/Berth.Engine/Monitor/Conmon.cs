using System.Text;
using System.Text.Json;
using Berth.Linux;

namespace Berth.Engine.Monitor;

/// <summary>What conmon needs to create one container, as podman passes it (libpod/oci_conmon_common.go).</summary>
public sealed record ConmonRequest(
    string Id, string Name, string Bundle, string PidFile, string ConmonPidFile, string LogPath, string ExitDir, string PersistDir,
    bool Terminal, bool Stdin, IReadOnlyList<string> ExitCommand, int ExitDelaySeconds = 0);

/// <summary>
/// Debian's conmon as the per-container monitor, driven as podman drives it: it runs `RUNTIME
/// create`, holds the container's stdio (a pty with -t), writes the k8s-file log, keeps the
/// attach socket (BUNDLE/attach with --full-attach) and the ctl fifo, writes the exit code to
/// EXIT_DIR/ID and "oom" to PERSIST_DIR, runs the exit command, and outlives the CLI.
/// Protocol: conmon blocks on _OCI_STARTPIPE until the parent writes a byte, double-forks (the
/// first child exits at once), then reports on _OCI_SYNCPIPE one JSON line, {"data": PID} or
/// {"data": -1, "message": "the runtime's stderr"}.
/// </summary>
public static class Conmon
{
    public const string DefaultPath = "/usr/bin/conmon";

    public static List<string> Args(ConmonRequest r, RuntimeClient runtime)
    {
        var args = new List<string>
        {
            "--api-version", "1",
            "-c", r.Id, "-u", r.Id,
            "-r", runtime.Path,
            "-b", r.Bundle,
            "-p", r.PidFile,
            "-n", r.Name,
            "--exit-dir", r.ExitDir,
            "--persist-dir", r.PersistDir,
            // The attach socket in the bundle itself, whatever its length (conmon binds it through /proc/self/fd).
            "--full-attach",
            "-l", $"k8s-file:{r.LogPath}",
            "--log-level", "error",
            "--conmon-pidfile", r.ConmonPidFile,
            "--no-new-keyring",
        };
        foreach (var a in runtime.GlobalArgs) args.AddRange(new[] { "--runtime-arg", a });
        if (r.Terminal) args.Add("-t");
        else if (r.Stdin) args.Add("-i");
        if (r.ExitCommand.Count > 0)
        {
            args.AddRange(new[] { "--exit-command", r.ExitCommand[0] });
            foreach (var a in r.ExitCommand.Skip(1)) args.AddRange(new[] { "--exit-command-arg", a });
            if (r.ExitDelaySeconds > 0) args.AddRange(new[] { "--exit-delay", r.ExitDelaySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }
        return args;
    }

    /// <summary>Starts conmon and returns the container's pid once the runtime has created it; the runtime's own message otherwise.</summary>
    public static int Create(ConmonRequest r, RuntimeClient runtime, string conmonPath = DefaultPath)
    {
        var (syncR, syncW) = Files.Pipe();
        var (startR, startW) = Files.Pipe();
        using var devNull = Files.Open("/dev/null", O.RDWR | O.CLOEXEC);
        int pid;
        using (syncR)
        {
            using (syncW)
            using (startR)
            {
                var env = Processes.Environment().Where(e => !e.StartsWith("_OCI_") && !e.StartsWith("NOTIFY_SOCKET=")).ToList();
                env.Add("_OCI_SYNCPIPE=3");
                env.Add("_OCI_STARTPIPE=4");
                pid = Processes.Spawn(conmonPath, new[] { conmonPath }.Concat(Args(r, runtime)).ToList(), env, new[]
                {
                    new ChildFd(devNull, 0), new ChildFd(devNull, 1), new ChildFd(devNull, 2),
                    new ChildFd(syncW, 3), new ChildFd(startR, 4),
                });
            }
            using (startW)
            {
                try { Files.WriteAll(startW, new byte[] { 0 }, "conmon start pipe"); }
                catch (LinuxException e) when (e.Errno == Errno.EPIPE) { /* conmon died already: its status says why */ }
            }
            // The first conmon exits once it has forked the monitor.
            var status = Processes.Wait(pid)!.Value.Status;
            if (status.ShellCode != 0) throw new EngineException($"conmon exited with {status.ShellCode} before creating the container");
            var line = ReadLine(syncR);
            if (line.Length == 0) throw new EngineException("conmon closed its sync pipe without a word (see the system log)");
            int data;
            string? message;
            try
            {
                using var doc = JsonDocument.Parse(line);
                data = doc.RootElement.GetProperty("data").GetInt32();
                message = doc.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new EngineException($"conmon: unreadable sync message \"{line}\"");
            }
            if (data < 0) throw RuntimeError(message ?? $"the runtime failed (status {data})");
            return data;
        }
    }

    static string ReadLine(SafeFd fd)
    {
        var buffer = new List<byte>();
        Span<byte> b = stackalloc byte[512];
        while (true)
        {
            int n = Files.Read(fd, b);
            if (n <= 0) break;
            buffer.AddRange(b[..n].ToArray());
            if (buffer.Contains((byte)'\n')) break;
        }
        return Encoding.UTF8.GetString(buffer.ToArray()).Split('\n')[0].Trim();
    }

    /// <summary>docker's exit codes for a command that cannot run: 127 not found, 126 not executable.</summary>
    public static EngineException RuntimeError(string message)
    {
        var text = message.Trim().ReplaceLineEndings(" ");
        // The runtime's line is "berth-runtime: …" (or runc's "…"): the CLI adds its own prefix.
        foreach (var prefix in new[] { "berth-runtime: ", "berth: " })
            if (text.StartsWith(prefix, StringComparison.Ordinal)) text = text[prefix.Length..];
        int code = 125;
        if (text.Contains("not found") || text.Contains("ENOENT") || text.Contains("no such file")) code = 127;
        else if (text.Contains("EACCES") || text.Contains("permission denied") || text.Contains("Permission denied") || text.Contains("not executable")) code = 126;
        return new EngineException(text, code);
    }
}
