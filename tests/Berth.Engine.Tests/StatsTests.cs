using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`berth stats`: a running container's memory against its limit and its pids, once or a table a second until it stops.</summary>
public sealed class StatsTests : IDisposable
{
    readonly EngineSandbox _e = new();

    public void Dispose() => _e.Dispose();

    [Fact]
    public void Stats_shows_memory_against_the_limit_and_pids_once_or_until_the_container_stops()
    {
        _e.Run("run", "-d", "--name", "s1", "--memory", "64m", EngineSandbox.Image, "sh", "-c", "sleep 300 & sleep 300").Ok();
        var once = _e.Run("stats", "--no-stream", "s1").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("CONTAINER ID", once[0]);
        var row = Assert.Single(once.Skip(1));
        Assert.Contains("s1", row);
        Assert.Contains("/ 64.0MiB", row);
        // sh's background sleep and the sleep it execs last: 2 (1 if stats ran before the fork).
        Assert.InRange(int.Parse(row.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]), 1, 2);

        // Streaming: a table a second while it runs, and the command ends once it has stopped.
        var outFile = Path.Combine(_e.Dir, "stats.out");
        using var stream = _e.Start("stats", "s1");
        EngineSandbox.Eventually(() => !stream.HasExited && Directory.Exists($"/proc/{stream.Id}"), "stats to start");
        _e.Run("stop", "-t", "1", "s1").Ok();
        Assert.True(stream.WaitForExit(30_000), "stats did not end after its container stopped");
        Assert.Equal(0, stream.ExitCode);
    }
}
