using Berth.Serve.Tests.Fixtures;
using Xunit;

namespace Berth.Serve.Tests;

/// <summary>Jobs live in the database: a queued job waits for a restart, a job running at a crash is queued again and retried.</summary>
public class RestartTests(ServeWorld world) : IClassFixture<ServeWorld>
{
    static readonly Dictionary<string, string> Admin = new() { ["BERTH_SERVE_TOKEN"] = "admin-token" };

    [Fact]
    public async Task A_job_queued_before_a_restart_is_scanned_after_it()
    {
        using var data = ServeWorld.Data();
        string id;
        using (var idle = new ServeProcess(world.Args(data.Path, "--workers", "0"), Admin))
        {
            using var c = idle.Client("admin-token");
            id = await Api.Scan(c, world.Image);
            Assert.Contains("berth_serve_queue_depth 1\n", await c.GetStringAsync("/metrics"));
            Assert.Equal(0, idle.Stop());
        }
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin);
        using var c2 = serve.Client("admin-token");
        var job = await Api.WaitFinished(c2, id, serve.Log);
        Assert.Equal("done", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task A_job_running_when_the_service_is_killed_is_retried_after_the_restart()
    {
        using var data = ServeWorld.Data();
        // The pull goes through a proxy that answers nothing until opened: the job is `running` for as long as the test wants.
        using var gate = new GateProxy(world.Registry.Port);
        var image = $"{gate.Host}/app/vulnerable:1";
        string id;
        using (var crashing = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin))
        {
            using var c = crashing.Client("admin-token");
            id = await Api.Scan(c, image);
            await Api.WaitStatus(c, id, "running");
            crashing.Kill();
        }
        gate.Open();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin);
        Assert.Contains("re-queued 1 scan jobs", serve.Log);
        using var c2 = serve.Client("admin-token");
        var job = await Api.WaitFinished(c2, id, serve.Log);
        Assert.True(job.GetProperty("status").GetString() == "done", job.ToString());
        Assert.Equal(world.Digest, job.GetProperty("digest").GetString());
        Assert.Equal(2, job.GetProperty("attempts").GetInt32());
    }
}
