using System.Text.RegularExpressions;
using Berth.Serve.Tests.Fixtures;
using Xunit;

namespace Berth.Serve.Tests.EndToEnd;

/// <summary>
/// The service in a Berth container, as deploy/serve/ documents it: the root made by rootfs.sh
/// imported (`berth build` of the Containerfile is not on main yet: image.sh falls back to the same
/// root imported), run as user 65532 with a read-only root, no capabilities and no new privileges;
/// /healthz answers, and the process inside has exactly those credentials.
/// </summary>
public sealed class ContainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-serve-ctr-").FullName;
    string Store => Path.Combine(_dir, "store");
    const string Name = "berth-serve-e2e";

    static string Repo()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "deploy", "serve", "rootfs.sh"))) return d.FullName;
        throw new InvalidOperationException("deploy/serve not found above the test assembly");
    }

    [Fact]
    public async Task The_service_runs_hardened_in_a_berth_container_and_answers_healthz()
    {
        var rootfs = Path.Combine(_dir, "rootfs.tar");
        Commands.Exec("/bin/bash", Path.Combine(Repo(), "deploy", "serve", "rootfs.sh"), ServeProcess.Binary, rootfs).Ok();
        Commands.Exec(Commands.Binary, "--store", Store, "image", "import", rootfs, "localhost/berth-serve:e2e").Ok();
        var data = Path.Combine(_dir, "data");
        var policy = Path.Combine(_dir, "policy");
        Directory.CreateDirectory(data);
        Directory.CreateDirectory(policy);
        File.WriteAllText(Path.Combine(policy, "policy.yaml"), "require: {max_severity: critical}\n");
        Commands.Exec("chown", "65532:65532", data).Ok();
        Commands.Exec("chmod", "0755", _dir, policy).Ok();

        Commands.ExecWithEnv(new Dictionary<string, string?> { ["BERTH_SERVE_TOKEN"] = "ctr-token" }, Commands.Binary, "--store", Store, "run", "-d", "--name", Name,
            "--user", "65532:65532", "--read-only", "--cap-drop", "all", "--security-opt", "no-new-privileges", "--network", "host", "--tmpfs", "/tmp",
            "-e", "BERTH_SERVE_TOKEN=ctr-token", "-v", $"{data}:/data", "-v", $"{policy}:/etc/berth-serve:ro", "localhost/berth-serve:e2e",
            "/usr/local/bin/berth-serve", "--listen", "127.0.0.1:0", "--data", "/data", "--policy", "/etc/berth-serve/policy.yaml", "--db", "/data/db").Ok();

        // The port it chose is in its log: wait for that line (bounded, 60 s).
        string? url = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string logs = "";
        while (url is null && DateTime.UtcNow < deadline)
        {
            logs = Commands.Exec(Commands.Binary, "--store", Store, "logs", Name) is var r ? r.Stdout + r.Stderr : "";
            url = Regex.Match(logs, @"listening on (http://127\.0\.0\.1:\d+)") is { Success: true } m ? m.Groups[1].Value : null;
            if (url is null) await Task.Delay(100);
        }
        Assert.True(url is not null, $"no 'listening on' in the container's log:\n{logs}");
        using var http = new HttpClient { BaseAddress = new Uri(url!) };
        Assert.Contains("\"ok\"", await http.GetStringAsync("/healthz"));

        var pid = Commands.Exec("pgrep", "-f", $"berth-serve --listen 127.0.0.1:0 --data /data").Ok().Stdout.Split('\n')[0].Trim();
        var status = File.ReadAllText($"/proc/{pid}/status");
        Assert.Matches(@"Uid:\t65532\t65532\t65532\t65532", status);
        Assert.Contains("CapEff:\t0000000000000000", status);
        Assert.Contains("CapBnd:\t0000000000000000", status);
        Assert.Contains("NoNewPrivs:\t1", status);
        Assert.Matches(@"\s/ / ro[,\s]", File.ReadAllText($"/proc/{pid}/mountinfo"));
    }

    public void Dispose()
    {
        Commands.Exec(Commands.Binary, "--store", Store, "rm", "-f", Name);
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
