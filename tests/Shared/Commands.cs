using System.Diagnostics;
using Xunit;

namespace Berth.Tests;

public sealed record Result(int ExitCode, string Stdout, string Stderr)
{
    public Result Ok()
    {
        Assert.True(ExitCode == 0, $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        return this;
    }

    public Result Fails(string messagePart)
    {
        Assert.True(ExitCode != 0, $"expected a failure, got exit 0\nstdout: {Stdout}");
        Assert.Contains(messagePart, Stderr);
        return this;
    }

    /// <summary>
    /// A failure as every error reads: exit 1, nothing on stdout, one stderr line "berth: …" that
    /// names <paramref name="path"/> and each of <paramref name="parts"/> — no stack trace, no
    /// .NET exception text, no "internal error".
    /// </summary>
    public Result FailsNaming(string path, params string[] parts)
    {
        Assert.True(ExitCode == 1, $"expected exit 1, got {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}");
        var lines = Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got:\n{Stderr}");
        var line = lines[0];
        Assert.StartsWith("berth: ", line);
        Assert.Contains(path, line);
        foreach (var part in parts) Assert.Contains(part, line);
        foreach (var bad in new[] { "internal error", "Exception", "Access to the path", "Could not find" })
            Assert.DoesNotContain(bad, line);
        Assert.Equal("", Stdout);
        return this;
    }
}

/// <summary>The binary under test and how the integration tests run it (and other tools).</summary>
public static class Commands
{
    /// <summary>out/berth above the test assembly, or $BERTH. Never an in-process runtime: /proc/self/exe here is dotnet.</summary>
    public static string Binary { get; } = FindBinary("BERTH", "berth");

    /// <summary>out/berth-runtime (the OCI runtime alone, what engines are given), or $BERTH_RUNTIME.</summary>
    public static string Runtime { get; } = FindBinary("BERTH_RUNTIME", "berth-runtime");

    static string FindBinary(string variable, string name)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } env) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "out", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException($"out/{name} not found: run `make build` first");
    }

    /// <summary>
    /// Runs a command to completion with stdout/stderr in files, not pipes: a created
    /// container inherits them and would hold a pipe open long after berth has exited.
    /// </summary>
    public static Result Exec(string file, params string[] args) => ExecWithEnv(null, file, args);

    /// <summary><see cref="Exec"/> with variables added to (or replacing) the test's environment; a null value removes one.</summary>
    public static Result ExecWithEnv(IReadOnlyDictionary<string, string?>? env, string file, params string[] args)
    {
        var outFile = Path.GetTempFileName();
        var errFile = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("/bin/sh");
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >\"$BERTH_OUT\" 2>\"$BERTH_ERR\"");
            psi.ArgumentList.Add(file);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["BERTH_OUT"] = outFile;
            psi.Environment["BERTH_ERR"] = errFile;
            foreach (var (k, v) in env ?? new Dictionary<string, string?>())
                if (v is null) psi.Environment.Remove(k);
                else psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            if (!p.WaitForExit(120_000))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 120 s");
            }
            return new Result(p.ExitCode, File.ReadAllText(outFile), File.ReadAllText(errFile));
        }
        finally
        {
            File.Delete(outFile);
            File.Delete(errFile);
        }
    }
}
