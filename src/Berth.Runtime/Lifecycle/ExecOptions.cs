namespace Berth.Runtime.Lifecycle;

/// <summary>`berth exec`'s options, runc's flag for flag.</summary>
public sealed record ExecOptions(string Id)
{
    /// <summary>--process FILE: a runtime-spec process object; otherwise built from Args and the flags over the container's own process.</summary>
    public string? ProcessFile { get; init; }
    public IReadOnlyList<string> Args { get; init; } = Array.Empty<string>();
    public bool Detach { get; init; }
    public string? PidFile { get; init; }
    public string? Cwd { get; init; }
    public IReadOnlyList<string> Env { get; init; } = Array.Empty<string>();
    /// <summary>--user: "UID[:GID]" or names from the container's /etc/passwd and /etc/group.</summary>
    public string? User { get; init; }
    public IReadOnlyList<string> AdditionalGids { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Caps { get; init; } = Array.Empty<string>();
    public bool NoNewPrivs { get; init; }
    public string? Apparmor { get; init; }
    public string? ProcessLabel { get; init; }
    public int PreserveFds { get; init; }
    public bool Tty { get; init; }
    public string? ConsoleSocket { get; init; }
}
