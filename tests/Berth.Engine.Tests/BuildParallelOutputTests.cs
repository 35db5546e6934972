using Xunit;

namespace Berth.Engine.Tests;

/// <summary>Output of stages that may run at once: each line of a non-target stage carries its name, as buildah --jobs prints it.</summary>
public sealed class BuildParallelOutputTests : IDisposable
{
    readonly EngineSandbox _e = new();

    public void Dispose() => _e.Dispose();

    [Fact]
    public void Lines_of_independent_stages_are_prefixed_with_their_stage_name_and_the_targets_are_not()
    {
        var ctx = Path.Combine(_e.Dir, "ctx");
        Directory.CreateDirectory(ctx);
        File.WriteAllText(Path.Combine(ctx, "Containerfile"), """
            FROM test/busybox AS left
            RUN echo one; echo two > /l
            FROM test/busybox AS right
            RUN printf 'three\nfour' ; echo x > /r
            FROM test/busybox
            COPY --from=left /l /l
            COPY --from=right /r /r
            RUN echo target-line
            """);
        var r = _e.Run("build", "--jobs", "2", "-t", "test/par", ctx).Ok();
        var lines = r.Stdout.Split('\n');
        Assert.Contains("[left] one", lines);
        Assert.Contains("[right] three", lines);
        Assert.Contains("[right] four", lines);
        Assert.Contains("target-line", lines);
        Assert.DoesNotContain(lines, l => l.EndsWith("] target-line", StringComparison.Ordinal));
        // One job: nothing runs at once, nothing is prefixed.
        var one = _e.Run("build", "--jobs", "1", "--no-cache", "-t", "test/par1", ctx).Ok().Stdout.Split('\n');
        Assert.Contains("one", one);
        Assert.DoesNotContain("[left] one", one);
    }
}
