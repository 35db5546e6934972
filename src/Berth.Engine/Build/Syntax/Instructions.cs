namespace Berth.Engine.Build.Syntax;

/// <summary>Where an instruction, flag or word is: file, 1-based line and column (what every syntax error names).</summary>
public readonly record struct Location(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A flag of an instruction as written (`--from=build`), its value not yet expanded.</summary>
public sealed record InstructionFlag(string Name, string? Value, Location At);

/// <summary>A here-document (`<<EOF` … `EOF`): its name, content, and whether it expands (an unquoted delimiter).</summary>
public sealed record Heredoc(string Name, string Content, bool Expand, bool StripTabs);

/// <summary>RUN/CMD/ENTRYPOINT/HEALTHCHECK's command: the exec form (a JSON array) or the shell form (a string).</summary>
public sealed record CommandLine(bool IsExec, IReadOnlyList<string> Exec, string Shell)
{
    public static CommandLine OfExec(IReadOnlyList<string> args) => new(true, args, "");
    public static CommandLine OfShell(string text) => new(false, Array.Empty<string>(), text);

    /// <summary>The arguments to run: the exec form as written, the shell form after SHELL's words.</summary>
    public List<string> Args(IReadOnlyList<string> shell) => IsExec ? Exec.ToList() : shell.Append(Shell).ToList();

    public override string ToString() => IsExec ? "[" + string.Join(",", Exec.Select(a => "\"" + a + "\"")) + "]" : Shell;
}

/// <summary>
/// One instruction of a Containerfile, typed; words are as written (expansion happens when the
/// build reaches it, with the stage's ARGs and ENV). <see cref="Text"/> is the original line, for
/// errors and the history's created_by.
/// </summary>
public abstract record Instruction
{
    public required Location At { get; init; }
    public required string Keyword { get; init; }
    public required string Text { get; init; }
    public IReadOnlyList<InstructionFlag> Flags { get; init; } = Array.Empty<InstructionFlag>();

    public string? Flag(string name) => Flags.LastOrDefault(f => f.Name == name)?.Value;
    public IEnumerable<string> FlagValues(string name) => Flags.Where(f => f.Name == name).Select(f => f.Value ?? "");
}

public sealed record FromInstruction(string Image, string? StageName) : Instruction
{
    public string? Platform => Flag("platform");
}

public sealed record RunInstruction(CommandLine Command, IReadOnlyList<Heredoc> Heredocs) : Instruction
{
    public IEnumerable<string> Mounts => FlagValues("mount");
    public string? Network => Flag("network");
}

/// <summary>COPY and ADD (<see cref="IsAdd"/>): sources, destination, here-documents as sources.</summary>
public sealed record CopyInstruction(bool IsAdd, IReadOnlyList<string> Sources, string Destination, IReadOnlyList<Heredoc> Heredocs) : Instruction
{
    public string? From => Flag("from");
    public string? Chown => Flag("chown");
    public string? Chmod => Flag("chmod");
}

/// <summary>ENV and LABEL: KEY=VALUE words (or the old `KEY VALUE` form, one pair), unexpanded.</summary>
public sealed record KeyValueInstruction(IReadOnlyList<KeyValuePair<string, string>> Pairs) : Instruction;

/// <summary>ARG NAME[=DEFAULT]…</summary>
public sealed record ArgInstruction(IReadOnlyList<KeyValuePair<string, string?>> Args) : Instruction;

/// <summary>WORKDIR, USER, STOPSIGNAL, MAINTAINER: one value.</summary>
public sealed record ValueInstruction(string Value) : Instruction;

/// <summary>EXPOSE and VOLUME: a list (VOLUME may be JSON: then its words are taken as they are).</summary>
public sealed record ListInstruction(IReadOnlyList<string> Values, bool IsJson, string Raw) : Instruction;

/// <summary>CMD and ENTRYPOINT.</summary>
public sealed record CommandInstruction(CommandLine Command) : Instruction;

/// <summary>SHELL ["exe", "arg"…] (JSON only).</summary>
public sealed record ShellInstruction(IReadOnlyList<string> Shell) : Instruction;

/// <summary>HEALTHCHECK NONE, or HEALTHCHECK [--interval…] CMD …</summary>
public sealed record HealthcheckInstruction(CommandLine? Command) : Instruction
{
    public string? Interval => Flag("interval");
    public string? Timeout => Flag("timeout");
    public string? StartPeriod => Flag("start-period");
    public string? StartInterval => Flag("start-interval");
    public string? Retries => Flag("retries");
}

/// <summary>ONBUILD INSTRUCTION: kept as text in the image, run when a child stage starts FROM it.</summary>
public sealed record OnbuildInstruction(string Trigger, Instruction Parsed) : Instruction;

/// <summary>A parsed file: its directives (`# syntax=`, `# escape=`) and instructions.</summary>
public sealed record Containerfile(string File, IReadOnlyDictionary<string, string> Directives, char Escape, IReadOnlyList<Instruction> Instructions);
