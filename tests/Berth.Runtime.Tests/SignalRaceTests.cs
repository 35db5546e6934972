using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// A foreground run or exec forwards signals from its first step: one that arrives before the
/// container's process runs is held and delivered once it does, never the launcher's own death.
/// Each test sends the signal at a point it can see the launcher has reached and not yet left
/// (blocked in a hook, blocked in connect): no sleeps, whatever the machine's speed.
/// </summary>
public class SignalRaceTests
{
    /// <summary>
    /// A prestart hook runs in the launcher's create, before the process exists, and signals its
    /// parent, the launcher. Without a pid namespace of its own the process is not a pid 1, so
    /// SIGTERM's default action ends it: 143 says it got there; the launcher dying of it would
    /// leave the container behind.
    /// </summary>
    [Fact]
    public void Run_holds_a_signal_that_arrives_during_create_and_delivers_it_once_the_process_runs()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sleep", "100" }, c =>
        {
            var ns = Sandbox.Namespaces(c);
            ns.Remove(ns.Single(n => (string)n!["type"]! == "pid"));
            c["hooks"] = new JsonObject
            {
                ["prestart"] = new JsonArray(new JsonObject { ["path"] = "/bin/sh", ["args"] = new JsonArray("sh", "-c", "kill -TERM $PPID") }),
            };
        });
        var r = s.Berth("run", "--bundle", bundle, id);
        Assert.True(r.ExitCode == 143, $"exit {r.ExitCode}, stderr: {r.Stderr}");
        Assert.Equal("", r.Stderr);
        // run deleted the container after its process died: the launcher lived to do it.
        s.Berth("state", id).Fails("does not exist");
    }

    /// <summary>
    /// A console socket whose listener's backlog is full holds `exec` in connect(2), where it
    /// cannot yet have spawned anything; SIGTERM is sent then, the backlog drained, and the
    /// signal must end the exec'd process (not a pid 1: the container has its own init), which
    /// the launcher reports as 143 after writing its pid file.
    /// </summary>
    [Fact]
    public void Exec_holds_a_signal_that_arrives_before_the_process_exists_and_delivers_it_once_it_runs()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "100" }), id).Ok();
        var socketPath = Path.Combine(s.Work, "console.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        // Backlog 0: one connection waiting fills it, and the next connect blocks until it is accepted.
        listener.Listen(0);
        using var filler = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        filler.Connect(new UnixDomainSocketEndPoint(socketPath));

        var pidFile = Path.Combine(s.Work, "exec.pid");
        using var exec = s.Start("exec", "--tty", "--console-socket", socketPath, "--pid-file", pidFile, id, "sleep", "100");
        exec.StandardInput.Close();
        int connect = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 203 : 42;
        KillDeleteTests.WaitUntil(() => InSyscall(exec.Id, connect) || exec.HasExited, 60_000);
        // (Its stderr is read only once it has ended: before that, reading it would wait for ever.)
        if (exec.HasExited) Assert.Fail($"exec ended before it connected: {exec.StandardError.ReadToEnd()}");
        Assert.False(File.Exists(pidFile));

        Sandbox.Exec("kill", "-TERM", exec.Id.ToString()).Ok();
        using var first = listener.Accept();
        // The launcher's connection, if it lived: init sends the terminal's master here, and it stays open until exec ends.
        KillDeleteTests.WaitUntil(() => listener.Poll(0, SelectMode.SelectRead) || exec.HasExited, 60_000);
        // Its connection is queued once its connect returns, and stays queued: exec may well have
        // run the process, delivered the signal and ended by now. A launcher the signal killed in
        // connect never queued one.
        if (!listener.Poll(0, SelectMode.SelectRead)) Assert.Fail($"the launcher died of the signal (exit {exec.ExitCode}) before it spawned anything");
        using var console = listener.Accept();
        Assert.True(exec.WaitForExit(60_000), "exec did not end: the signal never reached its process");
        if (exec.ExitCode != 143) Assert.Fail($"exit {exec.ExitCode}, stderr: {exec.StandardError.ReadToEnd()}");
        Assert.True(File.Exists(pidFile), "the launcher died before it spawned the process");
        Assert.Equal("running", s.Status(id));
    }

    /// <summary>Whether the main thread of <paramref name="pid"/> is blocked in system call <paramref name="number"/> (/proc/PID/syscall).</summary>
    static bool InSyscall(int pid, int number)
    {
        try { return File.ReadAllText($"/proc/{pid}/syscall").Split(' ')[0] == number.ToString(); }
        catch (IOException) { return false; }
    }
}
