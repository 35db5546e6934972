using System.Diagnostics;
using System.Text.Json;
using Xunit;

namespace Berth.Registry.Tests.Cli;

/// <summary>
/// out/berth run as a user would, with a home, runtime dir, store and registries.conf of its own
/// (nothing of the machine's auth.json or registries.conf leaks in), removed on dispose.
/// </summary>
public sealed class BerthCli : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-cli-").FullName;
    public string Home => Path.Combine(Dir, "home");
    public string RuntimeDir => Path.Combine(Dir, "run");
    public string Store => Path.Combine(Dir, "store");
    public string RegistriesConf => Path.Combine(Dir, "registries.conf");
    /// <summary>Where `berth login` writes and skopeo reads: $XDG_RUNTIME_DIR/containers/auth.json.</summary>
    public string AuthFile => Path.Combine(RuntimeDir, "containers", "auth.json");

    public BerthCli(string registriesConf = "")
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(RuntimeDir);
        File.WriteAllText(RegistriesConf, registriesConf);
    }

    /// <summary>`berth ARGS` with this client's environment.</summary>
    public Result Run(params string[] args) => Exec(Commands.Binary, args);

    /// <summary>`berth image SUB --store STORE ARGS`.</summary>
    public Result Image(string sub, params string[] args) => Run(["image", sub, "--store", Store, .. args]);

    /// <summary>Another program (skopeo) with the same environment, so it finds the same auth.json.</summary>
    public Result Exec(string file, params string[] args) => Commands.ExecWithEnv(Environment, file, args);

    /// <summary>Started, not waited for (a pull to kill the registry under).</summary>
    public Process Start(string stdout, string stderr, params string[] args)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >\"$BERTH_OUT\" 2>\"$BERTH_ERR\"");
        psi.ArgumentList.Add(Commands.Binary);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["BERTH_OUT"] = stdout;
        psi.Environment["BERTH_ERR"] = stderr;
        Isolate(psi);
        return Process.Start(psi)!;
    }

    /// <summary>This client's own home, runtime dir and registries.conf; no auth file from the test's environment.</summary>
    Dictionary<string, string?> Environment => new()
    {
        ["HOME"] = Home,
        ["XDG_RUNTIME_DIR"] = RuntimeDir,
        ["XDG_CONFIG_HOME"] = Path.Combine(Home, ".config"),
        ["CONTAINERS_REGISTRIES_CONF"] = RegistriesConf,
        ["REGISTRY_AUTH_FILE"] = null,
        ["DOCKER_CONFIG"] = null,
    };

    void Isolate(ProcessStartInfo psi)
    {
        foreach (var (k, v) in Environment)
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
    }

    public static JsonElement Json(string text)
    {
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>The one line of an error: exit non-zero, one line on stderr naming <paramref name="parts"/>.</summary>
    public static void OneLineError(Result r, params string[] parts)
    {
        Assert.True(r.ExitCode != 0, $"expected a failure\nstdout: {r.Stdout}\nstderr: {r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("berth: ", StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, $"expected one error line, got:\n{r.Stderr}");
        foreach (var p in parts) Assert.Contains(p, lines[0]);
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
