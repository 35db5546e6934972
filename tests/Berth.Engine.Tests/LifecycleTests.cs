using Xunit;

namespace Berth.Engine.Tests;

/// <summary>The rest of a container's life and the two faces: stdin and terminals, networks none/host, restart, rename, pause, cp, anonymous volumes, `berth runtime`.</summary>
public sealed class LifecycleTests : IDisposable
{
    readonly EngineSandbox _e = new();
    const string Image = EngineSandbox.Image;

    public void Dispose() => _e.Dispose();

    string Sh(string command) => Commands.Exec("/bin/sh", "-c", command).Ok().Stdout;

    string Berth => $"{EngineSandbox.Berth} {string.Join(' ', _e.Global)}";

    [Fact]
    public void Run_i_passes_stdin_and_run_t_gives_a_terminal()
    {
        Assert.Equal("from stdin\n", Sh($"echo 'from stdin' | {Berth} run -i --rm {Image} cat"));
        var tty = Commands.Exec("script", "-qec", $"{Berth} run -it --rm {Image} sh -c 'tty; exit 7'", "/dev/null");
        Assert.Contains("/dev/pts/", tty.Stdout);
        Assert.Equal(7, tty.ExitCode);
    }

    [Fact]
    public void Network_none_has_loopback_up_and_host_shares_the_hosts_namespace()
    {
        var none = _e.Run("run", "--rm", "--hostname", "inner", "--add-host", "db:10.1.2.3", "--dns", "10.9.9.9", Image, "sh", "-c",
            "ip addr show lo; cat /etc/hostname /etc/hosts /etc/resolv.conf; ls /sys/class/net").Ok().Stdout;
        Assert.Contains("LOOPBACK,UP", none);
        Assert.Contains("inner\n", none);
        Assert.Contains("10.1.2.3\tdb", none);
        Assert.Contains("nameserver 10.9.9.9", none);
        Assert.Equal("lo", none.Trim().Split('\n')[^1]);
        var hostNs = Commands.Exec("readlink", "/proc/self/ns/net").Ok().Stdout.Trim();
        var host = _e.Run("run", "--rm", "--network", "host", Image, "readlink", "/proc/self/ns/net").Ok().Stdout.Trim();
        Assert.Equal(hostNs, host);
        var bridge = _e.Run("run", "--rm", "--network", "bridge", Image, "true");
        Assert.Equal(125, bridge.ExitCode);
        Assert.Empty(_e.ContainerDirs());
    }

    [Fact]
    public void A_signal_to_the_foreground_CLI_is_passed_to_the_container()
    {
        using var cli = _e.Start("run", "--rm", "--name", "proxied", Image, "sh", "-c", "trap 'exit 9' TERM; while true; do sleep 0.1; done");
        EngineSandbox.Eventually(() => _e.Run("ps", "--format", "{{.Names}}").Stdout.Contains("proxied"), "the container to run");
        Commands.Exec("kill", "-TERM", cli.Id.ToString()).Ok();
        Assert.True(cli.WaitForExit(15_000), "the CLI did not exit");
        Assert.Equal(9, cli.ExitCode);
        EngineSandbox.Eventually(() => _e.ContainerDirs().Length == 0, "the --rm container to go");
    }

    [Fact]
    public void Run_d_rm_removes_the_container_when_it_exits()
    {
        var id = _e.Run("run", "-d", "--rm", Image, "true").Ok().Stdout.Trim();
        EngineSandbox.Eventually(() => !_e.Run("ps", "-a", "-q", "--no-trunc").Stdout.Contains(id), "the container to be removed");
        EngineSandbox.Eventually(() => _e.ContainerDirs().Length == 0 && _e.Mounts().Count == 0, "its directory and mount to go");
    }

    [Fact]
    public void Restart_rename_pause_and_cp_act_on_a_running_container()
    {
        _e.Run("run", "-d", "--name", "life", Image, "sleep", "300").Ok();
        _e.Run("pause", "life").Ok();
        Assert.Equal("paused\n", _e.Run("inspect", "--format", "{{.State.Status}}", "life").Ok().Stdout);
        _e.Run("unpause", "life").Ok();
        _e.Run("rename", "life", "renamed").Ok();
        Assert.Equal(125, _e.Run("inspect", "life").ExitCode);
        var host = Path.Combine(_e.Dir, "hostfile");
        File.WriteAllText(host, "copied in\n");
        _e.Run("cp", host, "renamed:/tmp/hostfile").Ok();
        Assert.Equal("copied in\n", _e.Run("exec", "renamed", "cat", "/tmp/hostfile").Ok().Stdout);
        _e.Run("cp", "renamed:/etc/passwd", Path.Combine(_e.Dir, "passwd")).Ok();
        Assert.Contains("nobody", File.ReadAllText(Path.Combine(_e.Dir, "passwd")));
        Assert.Contains("sleep 300", _e.Run("top", "renamed").Ok().Stdout);
        var pid1 = _e.Run("inspect", "--format", "{{.State.Pid}}", "renamed").Ok().Stdout;
        _e.Run("restart", "-t", "1", "renamed").Ok();
        Assert.Equal("running\n", _e.Run("inspect", "--format", "{{.State.Status}}", "renamed").Ok().Stdout);
        Assert.NotEqual(pid1, _e.Run("inspect", "--format", "{{.State.Pid}}", "renamed").Ok().Stdout);
        Assert.Equal(125, _e.Run("rm", "renamed").ExitCode); // running: needs -f
        _e.Run("rm", "-f", "renamed").Ok();
        Assert.Empty(_e.ContainerDirs());
    }

    [Fact]
    public void An_anonymous_volume_goes_with_rm_v()
    {
        var id = _e.Run("create", "-v", "/scratch", Image, "true").Ok().Stdout.Trim();
        var volumes = _e.Run("volume", "ls", "-q").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(volumes);
        _e.Run("rm", "-v", id).Ok();
        Assert.Equal("", _e.Run("volume", "ls", "-q").Ok().Stdout);
    }

    [Fact]
    public void The_runtime_face_is_berth_runtime_and_berth_runtime_COMMAND()
    {
        Assert.Contains("ociVersionMax", _e.Run("runtime", "features").Ok().Stdout);
        Assert.StartsWith("ID", Commands.Exec(EngineSandbox.Berth, "runtime", "--root", _e.Root, "list").Ok().Stdout);
        Assert.Contains("ociVersionMax", Commands.Exec(EngineSandbox.Berth, "features").Ok().Stdout);
        // The colliding verbs are the engine's in `berth`, the runtime's in `berth-runtime`.
        Assert.Contains("an image is required", _e.Run("run").Stderr);
        Assert.Contains("bundle", Commands.Exec(Commands.Runtime, "--root", _e.Root, "run", "x").Stderr);
    }
}

/// <summary>The flags that shape a process, end to end.</summary>
public sealed class ProcessFlagTests : IDisposable
{
    readonly EngineSandbox _e = new();

    public void Dispose() => _e.Dispose();

    [Fact]
    public void Env_env_file_workdir_entrypoint_and_labels_reach_the_container()
    {
        var envFile = Path.Combine(_e.Dir, "env");
        File.WriteAllText(envFile, "# a comment\nFROM_FILE=yes\n");
        var r = _e.Run("run", "--rm", "-e", "ONE=1", "--env-file", envFile, "-w", "/tmp", "--entrypoint", "/bin/sh", "--label", "team=berth",
            EngineSandbox.Image, "-c", "echo $ONE $FROM_FILE $(pwd)").Ok();
        Assert.Equal("1 yes /tmp\n", r.Stdout);
        _e.Run("create", "--name", "labelled", "--label", "team=berth", "--stop-signal", "SIGINT", "--stop-timeout", "3", EngineSandbox.Image, "true").Ok();
        var json = _e.Run("inspect", "labelled").Ok().Stdout;
        Assert.Contains("\"team\": \"berth\"", json);
        Assert.Contains("\"StopSignal\": \"SIGINT\"", json);
        Assert.Contains("\"StopTimeout\": 3", json);
    }
}
