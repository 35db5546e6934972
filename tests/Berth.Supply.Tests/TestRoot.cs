using System.Diagnostics;

namespace Berth.Supply.Tests;

/// <summary>A root file system tree made by a test, removed after it.</summary>
public sealed class TestRoot : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("berth-supply-test-").FullName;

    public string Write(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative.TrimStart('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Symlink(string relative, string target)
    {
        var full = System.IO.Path.Combine(Path, relative.TrimStart('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.CreateSymbolicLink(full, target);
    }

    public void Debian12() => Write("etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n");

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    /// <summary>Runs a program to completion: (exit code, stdout, stderr).</summary>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, string? cwd = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (cwd is not null) psi.WorkingDirectory = cwd;
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>tests/Berth.Supply.Tests/node, where install-deps puts ajv, the CycloneDX schemas and cdxgen.</summary>
    public static string NodeDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "tests", "Berth.Supply.Tests", "node");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException("tests/Berth.Supply.Tests/node not found above the test assembly");
    }
}
