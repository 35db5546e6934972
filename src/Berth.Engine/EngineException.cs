namespace Berth.Engine;

/// <summary>
/// The engine's errors: bad input, a missing image or container, a monitor or runtime failure.
/// <see cref="ExitCode"/> is docker's: 125 for the engine's own errors, 126 for a command that
/// cannot be run, 127 for one that is not found.
/// </summary>
public sealed class EngineException : Exception
{
    public int ExitCode { get; }

    public EngineException(string message, int exitCode = 125, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;
}
