using System.Text;
using Berth.Linux;

namespace Berth.Engine.Monitor;

/// <summary>
/// The OCI runtime's command line (runc's), as the engine calls it beside conmon: start, kill,
/// delete, pause, resume, state. Its stderr is kept for the error message.
/// </summary>
public sealed class RuntimeClient
{
    public string Path { get; }
    public string Root { get; }

    public RuntimeClient(string path, string root)
    {
        Path = path;
        Root = root;
    }

    /// <summary>--root=R before the command, as podman's runtime flags go.</summary>
    public IReadOnlyList<string> GlobalArgs => new[] { $"--root={Root}" };

    public (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var (outR, outW) = Files.Pipe();
        var (errR, errW) = Files.Pipe();
        using var devNull = Files.Open("/dev/null", O.RDONLY | O.CLOEXEC);
        int pid;
        using (outW)
        using (errW)
            pid = Processes.Spawn(Path, new[] { Path }.Concat(GlobalArgs).Concat(args).ToList(), Processes.Environment(),
                new[] { new ChildFd(devNull, 0), new ChildFd(outW, 1), new ChildFd(errW, 2) });
        // Output is small (state, errors); the runtime's stdout is read first, its stderr after:
        // a runtime filling one pipe while we wait on the other does not happen at these sizes.
        string stdout, stderr;
        using (outR) stdout = Encoding.UTF8.GetString(Files.ReadToEnd(outR));
        using (errR) stderr = Encoding.UTF8.GetString(Files.ReadToEnd(errR));
        var status = Processes.Wait(pid)!.Value.Status;
        return (status.ShellCode, stdout, stderr.Trim());
    }

    public void Check(string what, params string[] args)
    {
        var (code, _, err) = Run(args);
        if (code != 0) throw new EngineException($"{what}: {System.IO.Path.GetFileName(Path)} {args[0]}: {(err.Length > 0 ? err.ReplaceLineEndings(" ") : $"exit {code}")}");
    }

    public void Start(string id) => Check("start", "start", id);

    public void Kill(string id, int signal) => Check("kill", "kill", id, signal.ToString());

    /// <summary>delete --force, quiet when the runtime has no such container (idempotent cleanup).</summary>
    public void ForceDelete(string id) => Run("delete", "--force", id);
}
