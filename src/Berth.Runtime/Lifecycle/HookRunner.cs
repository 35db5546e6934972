using System.Text;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// runtime-spec hooks (config.md, "POSIX-platform Hooks"): each hook gets the container's
/// state on stdin, its own args and env, and is killed when its timeout passes. Callers decide
/// what a failure means — create-phase hooks abort, poststart and poststop only warn.
/// </summary>
public static class HookRunner
{
    /// <summary>The state document a hook reads on stdin.</summary>
    public static byte[] StateFor(string id, string status, int pid, string bundle, Dictionary<string, string>? annotations) =>
        JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("ociVersion", SpecVersion.Current);
            w.WriteString("id", id);
            w.WriteString("status", status);
            if (pid > 0) w.WriteNumber("pid", pid);
            w.WriteString("bundle", bundle);
            w.Opt("annotations", annotations);
            w.WriteEndObject();
        });

    /// <summary>What a hook without env gets: the runtime's own environment (PATH included), as runc's and crun's hooks do.</summary>
    public static List<string> RuntimeEnvironment() => Processes.Environment().Order(StringComparer.Ordinal).ToList();

    /// <summary>Runs every hook of a phase in order; the first failure throws, naming the phase and hook.</summary>
    public static void RunAll(IReadOnlyList<Hook>? hooks, string phase, byte[] state)
    {
        if (hooks is null) return;
        for (int i = 0; i < hooks.Count; i++)
        {
            var error = Run(hooks[i], state);
            if (error is not null) throw new RuntimeException($"hooks.{phase}[{i}] ({hooks[i].Path}): {error}");
        }
    }

    /// <summary>Runs every hook of a phase; failures are warnings and the rest still run (poststart, poststop).</summary>
    public static void RunAllWarning(IReadOnlyList<Hook>? hooks, string phase, byte[] state, Log log)
    {
        if (hooks is null) return;
        for (int i = 0; i < hooks.Count; i++)
            if (Run(hooks[i], state) is { } error) log.Warn($"hooks.{phase}[{i}] ({hooks[i].Path}): {error}");
    }

    /// <summary>One hook: null on success, else what went wrong (exit status, signal, timeout) with its output.</summary>
    public static string? Run(Hook hook, byte[] state)
    {
        var args = hook.Args is { Count: > 0 } a ? a : new List<string> { hook.Path! };
        var (inRead, inWrite) = Files.Pipe();
        var (outRead, outWrite) = Files.Pipe();
        int pid;
        try
        {
            using (inRead)
            using (outWrite)
            {
                pid = Processes.Spawn(hook.Path!, args, hook.Env ?? RuntimeEnvironment(),
                    new[] { new ChildFd(inRead, 0), new ChildFd(outWrite, 1), new ChildFd(outWrite, 2) });
            }
        }
        catch (LinuxException e)
        {
            inWrite.Dispose();
            outRead.Dispose();
            return e.Message;
        }

        using var pidfd = Pidfd.Open(pid);
        // The state is far below a pipe's capacity; a hook that does not read it must not block us.
        using (inWrite)
            try { Files.WriteAll(inWrite, state, "hook stdin"); }
            catch (LinuxException) { }

        var output = new MemoryStream();
        var reader = new Thread(() =>
        {
            using (outRead)
            {
                var buffer = new byte[4096];
                int n;
                try { while ((n = Files.Read(outRead, buffer)) > 0) if (output.Length < 65536) output.Write(buffer, 0, n); }
                catch (LinuxException) { }
            }
        }) { IsBackground = true };
        reader.Start();

        // Seconds to milliseconds without overflow: anything past ~24 days waits that long.
        int timeoutMs = hook.Timeout is { } t ? (int)Math.Min(t * 1000L, int.MaxValue) : -1;
        bool exited = pidfd is null || Pidfd.WaitExit(pidfd, timeoutMs);
        if (!exited && pidfd is not null) Pidfd.SendSignal(pidfd, Signals.SIGKILL);
        var status = Processes.Wait(pid)!.Value.Status;
        reader.Join(1000);
        var text = Encoding.UTF8.GetString(output.ToArray()).Trim();
        var detail = text.Length > 0 ? $"; output: {text.ReplaceLineEndings(" ")}" : "";
        if (!exited) return $"timed out after {hook.Timeout} s{detail}";
        if (status.Signal != 0) return $"killed by {Signals.Name(status.Signal)}{detail}";
        if (status.Code != 0) return $"exit status {status.Code}{detail}";
        return null;
    }
}
