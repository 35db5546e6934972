using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>Terminals through a console socket (as conmon and containerd's shim use them) and in the foreground.</summary>
public class TerminalTests
{
    /// <summary>Runs a command under `script`, which gives it a real pty as its terminal, feeding <paramref name="input"/>.</summary>
    static Result UnderPty(string command, string input)
    {
        var psi = new ProcessStartInfo("script", new[] { "-qec", command, "/dev/null" })
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var seen = new System.Text.StringBuilder();
        var prompt = new ManualResetEventSlim();
        // Read as it comes, and type only once the shell inside has printed its prompt ("/ # "):
        // berth puts the terminal in raw mode first, which would drop input typed earlier.
        var stdout = Task.Run(() =>
        {
            var buffer = new char[256];
            int n;
            while ((n = p.StandardOutput.Read(buffer, 0, buffer.Length)) > 0)
                lock (seen)
                {
                    seen.Append(buffer, 0, n);
                    if (seen.ToString().Contains("# ")) prompt.Set();
                }
            prompt.Set();
        });
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(prompt.Wait(30_000), "the shell in the container never printed its prompt");
        p.StandardInput.Write(input);
        p.StandardInput.Flush();
        Assert.True(p.WaitForExit(30_000), "script did not finish");
        stdout.Wait();
        lock (seen) return new Result(p.ExitCode, seen.ToString(), stderr.Result);
    }

    static Action<JsonObject> Terminal(params string[] args) => c =>
    {
        c["process"]!["terminal"] = true;
        c["process"]!["args"] = new JsonArray(args.Select(a => (JsonNode)a!).ToArray());
    };

    [Fact]
    public void Run_with_a_terminal_gives_the_user_a_shell_and_restores_the_terminal()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh" }, Terminal("sh"));
        var r = UnderPty($"{Sandbox.Binary} --root {s.Root} run --bundle {bundle} {Sandbox.NewId()}; echo rc=$?; stty -a", "echo hello-$((6*7)); tty; exit 3\n");
        Assert.Contains("hello-42", r.Stdout);
        Assert.Contains("/dev/pts/0", r.Stdout);
        Assert.Contains("rc=3", r.Stdout);
        // After berth: cooked mode again (raw mode would show -icanon -echo).
        var stty = r.Stdout[r.Stdout.IndexOf("rc=3")..];
        Assert.Matches(@"(^|\s)icanon(\s|$)", stty);
        Assert.Matches(@"(^|\s)echo(\s|$)", stty);
    }

    [Fact]
    public void Exec_tty_gives_a_terminal_in_a_running_container()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        var r = UnderPty($"{Sandbox.Binary} --root {s.Root} exec --tty {id} sh; echo rc=$?", "tty; echo in-$((40+2)); exit 4\n");
        Assert.Contains("/dev/pts/0", r.Stdout);
        Assert.Contains("in-42", r.Stdout);
        Assert.Contains("rc=4", r.Stdout);
    }

    [Fact]
    public void The_console_socket_receives_the_master_with_the_configured_size_and_dev_console_is_the_terminal()
    {
        using var s = new Sandbox();
        var socket = Path.Combine(s.Work, "console.sock");
        var output = Path.Combine(s.Work, "console.out");
        using var receiver = Process.Start(new ProcessStartInfo(NativeTools.Console,
            new[] { socket, output, "stat -c %t:%T /dev/console $(tty); exit 0\n" }) { RedirectStandardOutput = true })!;
        Assert.Equal("listening", receiver.StandardOutput.ReadLine());
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "sh" }, c =>
        {
            Terminal("sh")(c);
            c["process"]!["consoleSize"] = new JsonObject { ["height"] = 33, ["width"] = 111 };
        });
        s.Berth("create", "--console-socket", socket, "--bundle", bundle, id).Ok();
        s.Berth("start", id).Ok();
        Assert.True(receiver.WaitForExit(20_000), "the console receiver did not finish");
        Assert.StartsWith("33 111 /dev/pts/", File.ReadAllText(output + ".ws"));
        var lines = File.ReadAllText(output).Split('\n').Select(l => l.Trim()).Where(l => l.Contains(':') && l.All(ch => char.IsAsciiHexDigit(ch) || ch == ':')).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(lines[0], lines[1]); // /dev/console is the same device as the process's tty
    }

    [Fact]
    public void A_terminal_without_a_console_socket_cannot_be_detached_and_a_socket_needs_a_terminal()
    {
        using var s = new Sandbox();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sh" }, Terminal("sh"), name: "a"), Sandbox.NewId()).Fails("needs --console-socket");
        s.Berth("create", "--console-socket", "/nonexistent.sock", "--bundle", s.Bundle(new[] { "true" }, name: "b"), Sandbox.NewId())
            .Fails("--console-socket is only for a process with a terminal");
    }

    /// <summary>CVE-2025-52565 class: an image's /dev/console symlink cannot aim the console bind mount.</summary>
    [Fact]
    public void A_dev_console_symlink_in_the_rootfs_is_refused()
    {
        using var s = new Sandbox();
        var victim = Path.Combine(s.Work, "victim");
        File.WriteAllText(victim, "host file");
        var socket = Path.Combine(s.Work, "c.sock");
        using var receiver = Process.Start(new ProcessStartInfo(NativeTools.Console, new[] { socket, Path.Combine(s.Work, "out"), "exit\n" }) { RedirectStandardOutput = true })!;
        Assert.Equal("listening", receiver.StandardOutput.ReadLine());
        // /dev comes from the image here, with console pointing at the victim.
        var bundle = s.Bundle(new[] { "sh" }, c =>
        {
            Terminal("sh")(c);
            c["mounts"] = new JsonArray(c["mounts"]!.AsArray().Where(m => (string)m!["destination"]! is not ("/dev" or "/dev/shm" or "/dev/mqueue")).Select(m => m!.DeepClone()).ToArray());
        });
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "dev", "pts"));
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "dev", "console"), victim);
        File.CreateSymbolicLink(Path.Combine(bundle, "rootfs", "dev", "ptmx"), "pts/ptmx");
        var id = Sandbox.NewId();
        s.Berth("create", "--console-socket", socket, "--bundle", bundle, id).Fails("/dev/console is a symlink");
        Assert.Equal("host file", File.ReadAllText(victim));
        Assert.DoesNotContain(victim, File.ReadAllText("/proc/self/mountinfo"));
        receiver.Kill();
    }

    [Fact]
    public void Notify_socket_messages_from_inside_reach_the_callers_socket()
    {
        using var s = new Sandbox();
        var path = Path.Combine(s.Work, "notify.sock");
        using var sock = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        sock.Bind(new UnixDomainSocketEndPoint(path));
        var bundle = s.Bundle(new[] { "sh", "-c", "echo $NOTIFY_SOCKET; probe notify READY=1" });
        NativeTools.InstallProbe(bundle);
        var r = Sandbox.Exec("/usr/bin/env", $"NOTIFY_SOCKET={path}", Sandbox.Binary, "--root", s.Root, "run", "--bundle", bundle, Sandbox.NewId()).Ok();
        Assert.Equal("/run/notify/notify.sock\nsent\n", r.Stdout);
        var buffer = new byte[64];
        sock.ReceiveTimeout = 5000;
        int n = sock.Receive(buffer);
        Assert.Equal("READY=1", System.Text.Encoding.UTF8.GetString(buffer, 0, n));
    }
}
