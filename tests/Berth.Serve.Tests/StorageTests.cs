using System.Text;
using Berth.Serve.Tests.Fixtures;
using Xunit;

namespace Berth.Serve.Tests;

/// <summary>The two databases: SQLite under --data (the default) and PostgreSQL (--database), findings encrypted at rest in both.</summary>
public class StorageTests(ServeWorld world) : IClassFixture<ServeWorld>
{
    static readonly Dictionary<string, string> Admin = new() { ["BERTH_SERVE_TOKEN"] = "admin-token" };

    static bool Contains(byte[] haystack, string needle) => haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;

    [Fact]
    public async Task Sqlite_findings_are_encrypted_at_rest_with_a_generated_0600_key()
    {
        using var data = ServeWorld.Data();
        using (var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin))
        {
            using var c = serve.Client("admin-token");
            var job = await Api.WaitFinished(c, await Api.Scan(c, world.Image), serve.Log);
            Assert.Equal("done", job.GetProperty("status").GetString());
            Assert.Equal(0, serve.Stop());
        }
        var key = Path.Combine(data.Path, "findings.key");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        // Every byte the database wrote (main file and WAL): no advisory id, no package, no SBOM text.
        var raw = Directory.GetFiles(data.Path, "berth-serve.db*").SelectMany(File.ReadAllBytes).ToArray();
        Assert.True(raw.Length > 0);
        Assert.True(Contains(raw, world.Digest), "the rows are there, keyed by digest");
        foreach (var plaintext in new[] { VulnerableImage.Critical, "minimist", "CycloneDX" }) Assert.False(Contains(raw, plaintext), plaintext);
    }

    [Fact]
    public async Task Findings_under_another_key_are_refused_not_served()
    {
        using var data = ServeWorld.Data();
        string id;
        using (var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin))
        {
            using var c = serve.Client("admin-token");
            id = await Api.Scan(c, world.Image);
            await Api.WaitFinished(c, id);
            serve.Stop();
        }
        var other = Path.Combine(data.Path, "other.key");
        File.WriteAllText(other, new string('7', 64));
        using var again = new ServeProcess(world.Args(data.Path, "--workers", "1", "--key-file", other), Admin);
        using var c2 = again.Client("admin-token");
        var (status, body) = await Api.Get(c2, $"/scan/{id}");
        Assert.Equal(500, status);
        Assert.Contains("does not decrypt", body.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Postgres_stores_jobs_and_encrypted_findings_and_keeps_a_queued_job_across_a_restart()
    {
        using var pg = new Postgres();
        using var data = ServeWorld.Data();
        string queued;
        using (var idle = new ServeProcess(world.Args(data.Path, "--workers", "0", "--database", pg.Url), Admin))
        {
            Assert.Contains("storage postgres, schema 1", idle.Log);
            using var c = idle.Client("admin-token");
            queued = await Api.Scan(c, world.Image);
            idle.Kill();
        }
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "2", "--database", pg.Url), Admin);
        using var c2 = serve.Client("admin-token");
        var job = await Api.WaitFinished(c2, queued, serve.Log);
        Assert.True(job.GetProperty("status").GetString() == "done", job.ToString());
        Assert.Contains(job.GetProperty("findings").GetProperty("matches").EnumerateArray(), m => m.GetProperty("id").GetString() == VulnerableImage.Critical);
        var cached = await Api.WaitFinished(c2, await Api.Scan(c2, world.Image));
        Assert.True(cached.GetProperty("cached").GetBoolean());

        Assert.Equal("1", pg.Query("SELECT MAX(version) FROM schema_version").Trim());
        Assert.Equal("2", pg.Query("SELECT COUNT(*) FROM jobs WHERE status = 'done'").Trim());
        var row = pg.Query($"SELECT encode(data, 'hex') FROM findings WHERE digest = '{world.Digest}'").Trim();
        var bytes = Convert.FromHexString(row);
        Assert.StartsWith("bsf1", Encoding.ASCII.GetString(bytes, 0, 4));
        foreach (var plaintext in new[] { VulnerableImage.Critical, "minimist", "CycloneDX" }) Assert.False(Contains(bytes, plaintext), plaintext);
    }
}
