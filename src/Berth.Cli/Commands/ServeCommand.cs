using Berth.Linux;

namespace Berth.Cli.Commands;

/// <summary>
/// `berth serve`: execs berth-serve, the service's own executable beside this one (DESIGN.md,
/// Berth.Serve), so the HTTP server, databases and workers add nothing to the runtime's binary.
/// </summary>
public static class ServeCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var self = Environment.ProcessPath ?? "/proc/self/exe";
        var server = Path.Combine(Path.GetDirectoryName(self) ?? ".", "berth-serve");
        if (!File.Exists(server)) throw new UsageException($"serve: {server}: not found (make build installs berth-serve beside berth)");
        Processes.ExecReplace(server, new[] { server }.Concat(args).ToList(), Processes.Environment());
        return 1; // ExecReplace returns only by throwing.
    }
}
