using System.Diagnostics;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>Bad input leaves nothing; a CLI killed at any moment leaves a store that ps, rm -f and prune make whole; concurrent CLIs share one store.</summary>
public sealed class FaultTests : IDisposable
{
    readonly EngineSandbox _e = new();
    const string Image = EngineSandbox.Image;

    public void Dispose() => _e.Dispose();

    void AssertNothingLeft(IEnumerable<string>? ids = null)
    {
        Assert.Empty(_e.ContainerDirs());
        Assert.Empty(Directory.Exists(Path.Combine(_e.Store, "exits")) ? Directory.GetFiles(Path.Combine(_e.Store, "exits")) : Array.Empty<string>());
        foreach (var id in ids ?? Array.Empty<string>()) Assert.Empty(Cgroups(id));
        Assert.Empty(_e.Mounts());
        Assert.Equal("", _e.RuntimeList());
        // A foreground run's conmon runs its exit command a second late (--exit-delay): it goes then.
        EngineSandbox.Eventually(() => _e.Conmons().Count == 0, "every conmon to exit");
    }

    /// <summary>The container's cgroup directories (berth-ID, under the CLI's own cgroup) in every hierarchy.</summary>
    static List<string> Cgroups(string id)
    {
        var found = new List<string>();
        foreach (var line in File.ReadAllLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            var hierarchy = parts[1].Length == 0 ? "unified" : parts[1].Replace("name=", "");
            var dir = Path.Combine("/sys/fs/cgroup", hierarchy) + parts[2];
            if (Directory.Exists(Path.Combine(dir, "berth-" + id))) found.Add(Path.Combine(dir, "berth-" + id));
        }
        return found;
    }

    [Theory]
    [InlineData("bad -v", "-v", "bad::x")]
    [InlineData("bind source missing", "-v", "/no/such/dir:/x")]
    [InlineData("bad name", "--name", "-bad/name")]
    [InlineData("unknown capability", "--cap-add", "CAP_NOPE")]
    [InlineData("bad security-opt", "--security-opt", "apparmor=x")]
    [InlineData("bad port", "-p", "99999:80")]
    [InlineData("bad ulimit", "--ulimit", "nofile=x")]
    [InlineData("unknown user", "-u", "ghost")]
    [InlineData("bad workdir", "-w", "relative")]
    [InlineData("missing seccomp file", "--security-opt", "seccomp=/no/such.json")]
    public void Bad_input_exits_125_with_one_line_and_leaves_nothing(string what, string flag, string value)
    {
        var r = _e.Run("run", "--rm", flag, value, Image, "true");
        Assert.True(r.ExitCode == 125, $"{what}: exit {r.ExitCode}\n{r.Stderr}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"{what}: {r.Stderr}");
        Assert.StartsWith("berth: run: ", lines[0]);
        Assert.DoesNotContain("internal error", lines[0]);
        AssertNothingLeft();
    }

    [Fact]
    public void An_unknown_image_and_a_taken_name_exit_125_and_leave_nothing_new()
    {
        var unknown = _e.Run("run", "--rm", "--pull", "never", "no/such-image", "true");
        Assert.Equal(125, unknown.ExitCode);
        Assert.Contains("no/such-image", unknown.Stderr);
        AssertNothingLeft();
        _e.Run("create", "--name", "taken", Image, "true").Ok();
        var dup = _e.Run("run", "--name", "taken", Image, "true");
        Assert.Equal(125, dup.ExitCode);
        Assert.Contains("already in use", dup.Stderr);
        Assert.Single(_e.ContainerDirs());
    }

    [Fact]
    public void Ps_still_sees_a_container_after_the_CLI_that_ran_it_was_killed()
    {
        using var cli = _e.Start("run", "--name", "orphaned", Image, "sleep", "600");
        EngineSandbox.Eventually(() => _e.Run("ps", "--format", "{{.Names}} {{.State}}").Stdout.Contains("orphaned running"), "the container to run");
        cli.Kill();
        cli.WaitForExit();
        Assert.Contains("orphaned running", _e.Run("ps", "--format", "{{.Names}} {{.State}}").Ok().Stdout);
        _e.Run("rm", "-f", "orphaned").Ok();
        AssertNothingLeft();
    }

    [Fact]
    public void Twenty_run_d_in_parallel_all_start_with_unique_names()
    {
        var tasks = Enumerable.Range(0, 20).Select(i => Task.Run(() => _e.Run("run", "-d", "--name", $"par{i}", Image, "sleep", "120"))).ToArray();
        Task.WaitAll(tasks);
        foreach (var t in tasks) t.Result.Ok();
        Assert.Equal(20, tasks.Select(t => t.Result.Stdout.Trim()).Distinct().Count());
        var running = _e.Run("ps", "-q").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, running.Length);
        var ids = tasks.Select(t => t.Result.Stdout.Trim()).ToList();
        Assert.NotEmpty(Cgroups(ids[0])); // the check below is not vacuous
        _e.Run("rm", "-f", "-a").Ok();
        AssertNothingLeft(ids);
    }

    [Fact]
    public void A_CLI_killed_at_random_moments_of_run_50_times_leaves_a_store_rm_and_prune_make_whole()
    {
        // Kill points are drawn from this machine's own measured duration of the command.
        var sw = Stopwatch.StartNew();
        _e.Run("run", "--name", "measure", Image, "true").Ok();
        var duration = sw.Elapsed.TotalMilliseconds;
        _e.Run("rm", "measure").Ok();
        var random = new Random(14);
        for (int i = 0; i < 50; i++)
        {
            using var cli = _e.Start("run", "--name", $"k{i}", Image, "true");
            Thread.Sleep(TimeSpan.FromMilliseconds(random.NextDouble() * duration * 1.2));
            try { cli.Kill(); } catch (InvalidOperationException) { /* it finished first */ }
            cli.WaitForExit();
        }
        _e.Run("ps", "-a").Ok();
        var all = _e.Run("ps", "-a", "-q", "--no-trunc").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(all);
        if (all.Length > 0) _e.Run(new[] { "rm", "-f" }.Concat(all.Take(all.Length / 2)).ToArray());
        _e.Run("container", "prune").Ok();
        // Whatever prune keeps is created or running (a run killed after its create): rm -f takes it.
        _e.Run("rm", "-f", "-a").Ok();
        EngineSandbox.Eventually(() => _e.Conmons().Count == 0, "conmons to exit");
        AssertNothingLeft(all);
        Assert.Equal("", _e.Run("ps", "-a", "-q").Ok().Stdout);
        // The store still works.
        Assert.Equal("ok\n", _e.Run("run", "--rm", Image, "echo", "ok").Ok().Stdout);
    }
}
