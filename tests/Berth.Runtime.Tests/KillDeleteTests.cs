using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

public class KillDeleteTests
{
    [Theory]
    [InlineData("KILL")]
    [InlineData("SIGKILL")]
    [InlineData("9")]
    public void Kill_takes_names_with_or_without_SIG_and_numbers(string signal)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        s.Berth("kill", id, signal).Ok();
        s.WaitForStatus(id, "stopped");
    }

    [Fact]
    public void Kill_of_a_created_container_stops_it()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        s.Berth("kill", id, "KILL").Ok();
        s.WaitForStatus(id, "stopped");
    }

    [Fact]
    public void Kill_of_a_stopped_container_says_it_is_not_running_and_unknown_signals_are_refused()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--keep", "--bundle", s.Bundle(new[] { "true" }), id).Ok();
        s.Berth("kill", id, "KILL").Fails("container not running");
        s.Berth("kill", id, "SIGBOGUS").Fails("unknown signal");
        s.Berth("kill", Sandbox.NewId(), "KILL").Fails("does not exist");
    }

    [Fact]
    public void Kill_all_signals_every_process_in_the_cgroup()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        // No pid namespace: killing init alone would leave the background sleep running.
        var bundle = s.Bundle(new[] { "sh", "-c", "sleep 60 & sleep 60" }, c =>
        {
            var keep = Sandbox.Namespaces(c).Where(n => (string)n!["type"]! != "pid").Select(n => n!.DeepClone()).ToArray();
            c["linux"]!["namespaces"] = new JsonArray(keep);
        });
        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        var cgroup = HostCgroups.DirsFor(id).First(d => d.Contains("/pids/"));
        WaitUntil(() => File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")).Length >= 2);
        s.Berth("kill", "--all", id, "KILL").Ok();
        WaitUntil(() => File.ReadAllLines(Path.Combine(cgroup, "cgroup.procs")).Length == 0);
        s.WaitForStatus(id, "stopped");
    }

    [Fact]
    public void Delete_refuses_a_running_container_without_force()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        int pid = (int)s.State(id)["pid"]!;
        s.Berth("delete", id).Fails($"cannot delete container {id} that is not stopped: running");
        Assert.Equal("running", s.Status(id));
        s.Berth("delete", "--force", id).Ok();
        s.Berth("state", id).Fails("does not exist");
        WaitUntil(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z"));
    }

    [Fact]
    public void Delete_of_a_created_container_kills_its_init()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        int pid = (int)s.State(id)["pid"]!;
        s.Berth("delete", id).Ok();
        WaitUntil(() => !Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Contains(") Z"));
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    [Fact]
    public void Delete_force_of_a_missing_container_succeeds_and_without_force_fails()
    {
        using var s = new Sandbox();
        s.Berth("delete", "--force", Sandbox.NewId()).Ok();
        s.Berth("delete", Sandbox.NewId()).Fails("does not exist");
    }

    [Fact]
    public void Delete_removes_a_state_directory_that_a_crashed_create_left_without_state()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        Directory.CreateDirectory(Path.Combine(s.Root, id));
        s.Berth("delete", id).Ok();
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }

    internal static void WaitUntil(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) Assert.Fail("condition not met in time");
            Thread.Sleep(20);
        }
    }
}
