using System.Text;

namespace Berth.Clients.Tests;

/// <summary>
/// The OCI runtime the engines are given: out/berth-runtime, or $BERTH_CLIENT_RUNTIME (/usr/sbin/runc for the baseline
/// that proves the harness). The engine is handed a recorder named like the binary (podman decides some
/// behaviour by the runtime's name): a shell script that keeps, for every call, the arguments, the config.json
/// of the bundle, the process.json of exec, the resources of update, the exit code and the runtime's log file,
/// then runs the binary with the same arguments, stdin and descriptors. BERTH_CLIENT_RECORD=0 hands the engine
/// the binary itself. Records go to tests/results/clients/&lt;engine&gt;-&lt;runtime&gt;/ (or $BERTH_CLIENT_CAPTURE).
/// </summary>
public sealed class RuntimeUnderTest
{
    public static string Binary { get; } =
        Environment.GetEnvironmentVariable("BERTH_CLIENT_RUNTIME") is { Length: > 0 } r ? r : Commands.Runtime;

    /// <summary>"berth" or "runc": the name the engines see.</summary>
    public static string Name => System.IO.Path.GetFileName(Binary);

    static bool Record => Environment.GetEnvironmentVariable("BERTH_CLIENT_RECORD") != "0";

    /// <summary>What the engine is given as its runtime.</summary>
    public string Path { get; }

    /// <summary>One directory per runtime call, named by the time of the call (ns) and the recorder's pid.</summary>
    public string Captures { get; }

    /// <summary>Where the records end up: <see cref="Captures"/> itself, or (for a user's runtime) where <see cref="Keep"/> copies them.</summary>
    public string Results { get; }

    /// <summary>The binary the recorder runs: <see cref="Binary"/>, or a copy the engine's user can reach.</summary>
    public string Real { get; }

    /// <param name="engine">names the capture directory</param>
    /// <param name="dir">the fixture's directory (0755): the recorder goes there</param>
    /// <param name="owner">
    /// the uid the runtime runs as (rootless podman), or null for root. Its runtime is a copy of the binary in
    /// <paramref name="dir"/> and its records are kept there, then copied out by <see cref="Keep"/>: the
    /// checkout may sit where that user cannot reach (under /root). Berth re-executes itself from a memfd
    /// copy of /proc/self/exe, so where the file lies changes nothing it does.
    /// </param>
    public RuntimeUnderTest(string engine, string dir, int? owner = null)
    {
        Results = CaptureRoot(engine);
        Directory.CreateDirectory(Results);
        var bin = System.IO.Path.Combine(dir, "runtime");
        Directory.CreateDirectory(bin);
        File.SetUnixFileMode(bin, (UnixFileMode)0x1ed);
        Real = Binary;
        Captures = Results;
        if (owner is int uid)
        {
            var copy = System.IO.Path.Combine(bin, "real");
            Directory.CreateDirectory(copy);
            File.SetUnixFileMode(copy, (UnixFileMode)0x1ed);
            Real = System.IO.Path.Combine(copy, Name);
            File.Copy(Binary, Real);
            File.SetUnixFileMode(Real, (UnixFileMode)0x1ed);
            Captures = System.IO.Path.Combine(dir, "captures");
            Directory.CreateDirectory(Captures);
            Tool.MustRun("chown", $"{uid}", Captures);
        }
        if (!Record)
        {
            Path = Real;
            return;
        }
        Path = System.IO.Path.Combine(bin, Name);
        File.WriteAllText(Path, Recorder.Replace("@REAL@", Real).Replace("@CAPTURES@", Captures));
        File.SetUnixFileMode(Path, (UnixFileMode)0x1ed);
    }

    /// <summary>Copies records kept in the fixture's directory to <see cref="Results"/> (before that directory goes).</summary>
    public void Keep()
    {
        if (Captures == Results || !Directory.Exists(Captures)) return;
        Tool.Run("cp", "-r", "--no-preserve=ownership", Captures + "/.", Results);
    }

    static string CaptureRoot(string engine)
    {
        var name = $"{engine}-{Name}";
        if (Environment.GetEnvironmentVariable("BERTH_CLIENT_CAPTURE") is { Length: > 0 } c) return System.IO.Path.Combine(c, name);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "Berth.sln")))
                return System.IO.Path.Combine(d.FullName, "tests", "results", "clients", name);
        return System.IO.Path.Combine(System.IO.Path.GetTempPath(), "berth-client-captures", name);
    }

    /// <summary>Nanoseconds since the epoch, the clock the recorder names its directories by.</summary>
    public static long Now() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;

    /// <summary>The runtime calls since <paramref name="since"/> that failed (or all of them), for a failure message.</summary>
    public string Describe(long since, bool failedOnly = true)
    {
        if (!Directory.Exists(Captures)) return "(no runtime calls recorded)";
        var calls = Directory.GetDirectories(Captures)
            .Select(d => (Dir: d, Time: long.TryParse(System.IO.Path.GetFileName(d).Split('-')[0], out var t) ? t : 0))
            .Where(c => c.Time >= since).OrderBy(c => c.Time).ToList();
        var sb = new StringBuilder();
        sb.Append($"runtime {Real}: {calls.Count} call(s) since the test began, recorded in {Results}\n");
        foreach (var (dir, _) in calls)
        {
            var rc = ReadOr(System.IO.Path.Combine(dir, "rc"), "?").Trim();
            if (failedOnly && rc == "0") continue;
            var args = ReadOr(System.IO.Path.Combine(dir, "args"), "").Replace('\n', ' ').Trim();
            sb.Append($"  [{System.IO.Path.GetFileName(dir)}] exit {rc}: {args}\n");
            var log = ReadOr(System.IO.Path.Combine(dir, "log"), "");
            foreach (var line in log.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(4)) sb.Append($"    log: {line}\n");
        }
        return sb.ToString();
    }

    static string ReadOr(string path, string fallback)
    {
        try { return File.ReadAllText(path); } catch (IOException) { return fallback; } catch (UnauthorizedAccessException) { return fallback; }
    }

    // POSIX sh; only cp/cat/date/mkdir beside the runtime. `update --resources -` reads stdin: kept, then replayed.
    const string Recorder = """
        #!/bin/sh
        # Berth's client tests: records what the engine asked of the runtime, then runs it with the same arguments.
        real='@REAL@'
        dir='@CAPTURES@'/$(date +%s%N)-$$
        # A record that cannot be written must not change the call.
        mkdir -p "$dir" 2>/dev/null && printf '%s\n' "$@" > "$dir/args" || exec "$real" "$@"
        bundle= log= process= resources= prev=
        for a in "$@"; do
          case $prev in
            --bundle|-b) bundle=$a ;;
            --log) log=$a ;;
            --process|-p) process=$a ;;
            --resources|-r) resources=$a ;;
          esac
          case $a in
            --bundle=*) bundle=${a#*=} ;;
            --log=*) log=${a#*=} ;;
            --process=*) process=${a#*=} ;;
            --resources=*) resources=${a#*=} ;;
          esac
          prev=$a
        done
        [ -n "$bundle" ] && cp "$bundle/config.json" "$dir/config.json" 2>/dev/null
        [ -n "$process" ] && cp "$process" "$dir/process.json" 2>/dev/null
        if [ "$resources" = - ]; then
          cat > "$dir/resources.json"
          "$real" "$@" < "$dir/resources.json"
        else
          [ -n "$resources" ] && cp "$resources" "$dir/resources.json" 2>/dev/null
          "$real" "$@"
        fi
        rc=$?
        echo "$rc" > "$dir/rc"
        [ -n "$log" ] && cp "$log" "$dir/log" 2>/dev/null
        exit "$rc"

        """;
}
