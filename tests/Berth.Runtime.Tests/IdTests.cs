using System.Diagnostics;
using Berth.Linux;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>One id rule for every command, and a sweep of abandoned creates that touches only what is its own.</summary>
public class IdTests
{
    static readonly string Longest = new('a', ContainerId.MaxLength);

    public static TheoryData<string> BadIds => new()
    {
        ".hidden", ".", "..", ".new-1-x", "a/b", "../x", "a,b", "a b", "é", "a\tb", "*", "x?", new string('b', ContainerId.MaxLength + 1),
    };

    [Theory]
    [MemberData(nameof(BadIds))]
    public void An_id_outside_the_rule_is_refused_by_every_command_and_leaves_nothing(string id)
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "true" });
        var commands = new[]
        {
            new[] { "create", "--bundle", bundle, id }, new[] { "run", "--bundle", bundle, id }, new[] { "state", id },
            new[] { "start", id }, new[] { "kill", id, "KILL" }, new[] { "delete", id }, new[] { "delete", "--force", id },
            new[] { "exec", id, "true" }, new[] { "pause", id }, new[] { "resume", id }, new[] { "ps", id },
            new[] { "update", "--pids-limit", "10", id }, new[] { "events", "--stats", id },
        };
        foreach (var args in commands)
        {
            var r = s.Berth(args).Fails("invalid container id");
            Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Empty(Directory.Exists(s.Root) ? Directory.GetFileSystemEntries(s.Root) : Array.Empty<string>());
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("x.")]
    [InlineData("a..b")]
    [InlineData("A_b+c-9")]
    public void Ids_the_rule_allows_run_and_are_listed(string id)
    {
        using var s = new Sandbox();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        Assert.Contains(id, s.Berth("list", "-q").Ok().Stdout.Split('\n'));
        Assert.Equal("running", s.Status(id));
        s.Berth("delete", "--force", id).Ok();
        Assert.DoesNotContain(id, s.Berth("list", "-q").Ok().Stdout.Split('\n'));
    }

    [Fact]
    public void The_longest_id_works_through_the_whole_lifecycle()
    {
        using var s = new Sandbox();
        s.Berth("create", "--bundle", s.Bundle(new[] { "sleep", "60" }), Longest).Ok();
        Assert.Equal("created", s.Status(Longest));
        s.Berth("start", Longest).Ok();
        Assert.Equal("ok\n", s.Berth("exec", Longest, "echo", "ok").Ok().Stdout);
        Assert.Contains(Longest, s.Berth("list", "-q").Ok().Stdout.Split('\n'));
        s.Berth("delete", "--force", Longest).Ok();
        Assert.DoesNotContain(Directory.GetDirectories(s.Root), d => !d.EndsWith("/.cache"));
        Assert.All(HostCgroups.DirsFor(Longest), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
    }

    /// <summary>A pid that no process has: a child that has exited and been reaped.</summary>
    static int DeadPid()
    {
        using var p = Process.Start("true")!;
        p.WaitForExit();
        Assert.False(Directory.Exists($"/proc/{p.Id}"));
        return p.Id;
    }

    [Fact]
    public void Delete_force_sweeps_only_the_abandoned_create_of_exactly_its_id_whose_launcher_is_dead()
    {
        using var s = new Sandbox();
        const string id = "X";
        // A real container whose id extends "X": its state directory must survive.
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), "X-1").Ok();
        int dead = DeadPid(), live = Environment.ProcessId;
        string Temp(int pid, string forId) => Path.Combine(s.Root, $".new-{pid}-{forId}");
        var abandoned = Temp(dead, id);
        var others = new[]
        {
            Temp(dead, "X-1"),   // another id's, by prefix
            Temp(dead, "XY"),
            Temp(live, id),      // its launcher is alive
            Path.Combine(s.Root, $".new-{id}-{dead}"), // not a name Berth makes
        };
        foreach (var d in others.Append(abandoned))
        {
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "state.json"), "{}");
        }
        var locked = Temp(DeadPid(), id);
        Directory.CreateDirectory(locked);
        using (var lockFd = Files.Open(locked, O.RDONLY | O.DIRECTORY))
        {
            // Dead pid but a live lock holder (a launcher in another pid namespace): not swept.
            Files.Flock(lockFd, exclusive: true);
            s.Berth("delete", "--force", id).Ok();
            Assert.True(Directory.Exists(locked));
        }
        Assert.False(Directory.Exists(abandoned));
        Assert.All(others, d => Assert.True(Directory.Exists(d), $"{d} was swept"));
        Assert.Equal("running", s.Status("X-1"));
        foreach (var d in others.Append(locked)) Directory.Delete(d, recursive: true);
    }

    [Fact]
    public void Delete_force_removes_old_style_exe_views_left_by_dead_launchers()
    {
        using var s = new Sandbox();
        s.Berth("run", "--bundle", s.Bundle(new[] { "true" }), Sandbox.NewId()).Ok();
        var deadView = Path.Combine(s.Root, $".exe-{DeadPid()}-12345");
        var liveView = Path.Combine(s.Root, $".exe-{Environment.ProcessId}-12345");
        foreach (var v in new[] { deadView, liveView })
        {
            File.WriteAllText(v, "");
            File.SetUnixFileMode(v, 0);
        }
        // One left mounted, as a launcher killed between bind and detach left it.
        Sandbox.Exec("mount", "--bind", "/bin/true", deadView).Ok();
        try
        {
            s.Berth("delete", "--force", Sandbox.NewId()).Ok();
            Assert.False(File.Exists(deadView));
            Assert.DoesNotContain(deadView, File.ReadAllText("/proc/self/mountinfo"));
            Assert.True(File.Exists(liveView));
        }
        finally
        {
            Sandbox.Exec("umount", "-l", deadView);
            File.Delete(liveView);
        }
    }

    [Fact]
    public void Create_makes_no_file_in_the_state_root_but_the_containers_directory()
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        s.Berth("create", "--bundle", s.Bundle(new[] { "true" }), id).Ok();
        Assert.Equal(new[] { id }, Directory.GetFileSystemEntries(s.Root).Select(Path.GetFileName).ToArray());
        // The read-only view of the binary init runs from is a detached mount: in no mount table.
        Assert.DoesNotContain(s.Root, File.ReadAllText("/proc/self/mountinfo"));
        s.Berth("delete", id).Ok();
        Assert.Empty(Directory.GetFileSystemEntries(s.Root));
    }
}
