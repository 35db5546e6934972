namespace Berth.Runtime.Lifecycle;

/// <summary>What `create` and `run` take from the command line.</summary>
public sealed record CreateOptions(string Id, string Bundle)
{
    public string? PidFile { get; init; }
    public bool NoPivot { get; init; }
    public int PreserveFds { get; init; }
    public bool NoNewKeyring { get; init; }
    public string? ConsoleSocket { get; init; }
    /// <summary>--rootless, resolved (<see cref="Rootless"/>).</summary>
    public bool Rootless { get; init; }
}
