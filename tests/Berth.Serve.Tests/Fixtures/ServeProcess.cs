using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Berth.Serve.Tests.Fixtures;

/// <summary>
/// out/berth-serve started as a user would start `berth serve`, on 127.0.0.1:0 (it logs the port it
/// got), with a --data of its own; stopped by pid (SIGTERM, or SIGKILL for a crash); the data dir is
/// the caller's, so a restart finds the same jobs.
/// </summary>
public sealed class ServeProcess : IDisposable
{
    public static string Binary { get; } = Find("BERTH_SERVE", "berth-serve");

    readonly Process _process;
    readonly StringBuilder _log = new();
    readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Url { get; }
    public int Pid => _process.Id;
    public string Log { get { lock (_log) return _log.ToString(); } }

    public ServeProcess(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("BERTH_SERVE_TOKEN");
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) { _listening.TrySetException(new InvalidOperationException($"berth-serve exited before listening:\n{Log}")); return; }
            lock (_log) _log.AppendLine(e.Data);
            const string marker = "listening on ";
            if (e.Data.IndexOf(marker, StringComparison.Ordinal) is var i and >= 0)
                _listening.TrySetResult(e.Data[(i + marker.Length)..].Split(' ')[0]);
        };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        if (!_listening.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            Kill();
            throw new TimeoutException($"berth-serve did not listen within 60 s:\n{Log}");
        }
        Url = _listening.Task.Result.Replace("0.0.0.0", "127.0.0.1");
    }

    /// <summary>Runs to exit (a start-up error): the exit code and what it printed.</summary>
    public static (int Exit, string Stderr) RunToExit(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("BERTH_SERVE_TOKEN");
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException("berth-serve did not exit"); }
        return (p.ExitCode, err.Result);
    }

    public HttpClient Client(string? token, HttpMessageHandler? handler = null)
    {
        var c = handler is null ? new HttpClient() : new HttpClient(handler);
        c.BaseAddress = new Uri(Url);
        c.Timeout = TimeSpan.FromSeconds(60);
        if (token is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>SIGKILL: the service dies mid-work, as in a crash.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(20_000); }
        }
        catch (InvalidOperationException) { }
    }

    /// <summary>SIGTERM: a clean stop; returns the exit code.</summary>
    public int Stop()
    {
        if (!_process.HasExited)
        {
            Posix.Kill(_process.Id, 15);
            if (!_process.WaitForExit(30_000)) { Kill(); throw new TimeoutException($"berth-serve did not stop on SIGTERM:\n{Log}"); }
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }

    static string Find(string variable, string name)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } env) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "out", name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException($"out/{name} not found: run `make build` first");
    }
}

static class Posix
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);
}

/// <summary>The service's JSON API as the tests use it.</summary>
public static class Api
{
    public static async Task<(int Status, JsonDocument Body)> PostJson(HttpClient c, string path, string json)
    {
        using var resp = await c.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var text = await resp.Content.ReadAsStringAsync();
        return ((int)resp.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text));
    }

    public static async Task<(int Status, JsonDocument Body)> Get(HttpClient c, string path)
    {
        using var resp = await c.GetAsync(path);
        var text = await resp.Content.ReadAsStringAsync();
        return ((int)resp.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text));
    }

    public static async Task<string> Scan(HttpClient c, string image)
    {
        var (status, body) = await PostJson(c, "/scan", JsonSerializerSafe.Object("image", image));
        if (status != 202) throw new InvalidOperationException($"POST /scan: {status} {body.RootElement}");
        return body.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Polls GET /scan/{id} until the job is done or failed (bounded: 120 s).</summary>
    public static async Task<JsonElement> WaitFinished(HttpClient c, string id, string? log = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var (status, body) = await Get(c, $"/scan/{id}");
            if (status != 200) throw new InvalidOperationException($"GET /scan/{id}: {status} {body.RootElement}");
            var s = body.RootElement.GetProperty("status").GetString();
            if (s is "done" or "failed") return body.RootElement.Clone();
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"scan {id} still {s} after 120 s\n{log}");
            await Task.Delay(100);
        }
    }

    /// <summary>Polls until the job has <paramref name="wanted"/> status (bounded: 60 s).</summary>
    public static async Task WaitStatus(HttpClient c, string id, string wanted)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var (_, body) = await Get(c, $"/scan/{id}");
            if (body.RootElement.GetProperty("status").GetString() == wanted) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"scan {id} never {wanted}: {body.RootElement}");
            await Task.Delay(50);
        }
    }
}

static class JsonSerializerSafe
{
    public static string Object(string name, string value)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) { w.WriteStartObject(); w.WriteString(name, value); w.WriteEndObject(); }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
