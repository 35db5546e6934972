using System.Text.Json;
using Berth.Serve.Tests.Fixtures;
using Xunit;

namespace Berth.Serve.Tests;

public class ScanJobTests(ServeWorld world) : IClassFixture<ServeWorld>
{
    static readonly Dictionary<string, string> Admin = new() { ["BERTH_SERVE_TOKEN"] = "admin-token" };

    static List<(string Id, string Package, string Severity)> Matches(JsonElement job) =>
        job.GetProperty("findings").GetProperty("matches").EnumerateArray()
            .Select(m => (m.GetProperty("id").GetString()!, m.GetProperty("package").GetString()!, m.GetProperty("severity").GetString()!)).OrderBy(x => x.Item1).ToList();

    [Fact]
    public async Task A_scan_job_is_queued_then_done_with_the_sbom_and_the_known_vulnerabilities()
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin);
        using var c = serve.Client("admin-token");
        var id = await Api.Scan(c, world.Image);
        var job = await Api.WaitFinished(c, id, serve.Log);
        Assert.True(job.GetProperty("status").GetString() == "done", job.ToString());
        Assert.Equal(world.Digest, job.GetProperty("digest").GetString());
        Assert.False(job.GetProperty("cached").GetBoolean());
        Assert.Equal(new[] { (VulnerableImage.High, "lodash", "high"), (VulnerableImage.Critical, "minimist", "critical") }, Matches(job));
        var findings = job.GetProperty("findings");
        Assert.Equal(world.Digest, findings.GetProperty("digest").GetString());
        // The SBOM is CycloneDX with both packages; no VEX was posted, so nothing is suppressed.
        var sbom = findings.GetProperty("sbom");
        Assert.Equal("CycloneDX", sbom.GetProperty("bomFormat").GetString());
        var purls = sbom.GetProperty("components").EnumerateArray().Select(x => x.GetProperty("purl").GetString()).ToList();
        Assert.Contains("pkg:npm/minimist@1.2.5", purls);
        Assert.Contains("pkg:npm/lodash@4.17.20", purls);
        Assert.All(findings.GetProperty("matches").EnumerateArray(), m =>
        {
            Assert.Equal(JsonValueKind.Null, m.GetProperty("vex").ValueKind);
            Assert.False(m.GetProperty("suppressed").GetBoolean());
        });
    }

    [Fact]
    public async Task A_digest_scanned_against_the_same_database_is_served_from_storage()
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin);
        using var c = serve.Client("admin-token");
        var first = await Api.WaitFinished(c, await Api.Scan(c, world.Image));
        var second = await Api.WaitFinished(c, await Api.Scan(c, world.Image));
        Assert.False(first.GetProperty("cached").GetBoolean());
        Assert.True(second.GetProperty("cached").GetBoolean(), second.ToString());
        Assert.Equal(Matches(first), Matches(second));
        var metrics = await c.GetStringAsync("/metrics");
        Assert.Contains("berth_serve_scans_total{status=\"done\"} 1\n", metrics);
        Assert.Contains("berth_serve_scans_total{status=\"cached\"} 1\n", metrics);
        Assert.Contains("berth_serve_scan_duration_seconds_count 2\n", metrics);
        Assert.Contains("berth_serve_queue_depth 0\n", metrics);
    }

    [Fact]
    public async Task A_new_database_version_scans_the_digest_again()
    {
        using var data = ServeWorld.Data();
        var osv = Directory.CreateTempSubdirectory("berth-serve-osv-one-").FullName;
        try
        {
            var advisories = Path.Combine(AppContext.BaseDirectory, "Data", "osv");
            Commands.Exec(Commands.Binary, "db", "import", "--db", osv, Path.Combine(advisories, $"{VulnerableImage.Critical}.json")).Ok();
            var args = world.Args(data.Path, "--workers", "1").Select(a => a == world.Osv.Dir ? osv : a).ToArray();
            using var serve = new ServeProcess(args, Admin);
            using var c = serve.Client("admin-token");
            var first = await Api.WaitFinished(c, await Api.Scan(c, world.Image));
            Assert.Equal(new[] { (VulnerableImage.Critical, "minimist", "critical") }, Matches(first));
            // An import of another advisory is a new database version: the stored findings no longer answer.
            Commands.Exec(Commands.Binary, "db", "import", "--db", osv, Path.Combine(advisories, $"{VulnerableImage.High}.json")).Ok();
            var second = await Api.WaitFinished(c, await Api.Scan(c, world.Image));
            Assert.False(second.GetProperty("cached").GetBoolean(), second.ToString());
            Assert.Equal(new[] { (VulnerableImage.High, "lodash", "high"), (VulnerableImage.Critical, "minimist", "critical") }, Matches(second));
        }
        finally
        {
            Directory.Delete(osv, recursive: true);
        }
    }

    [Fact]
    public async Task A_scan_of_an_image_that_is_not_there_fails_with_the_registry_error()
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1"), Admin);
        using var c = serve.Client("admin-token");
        var job = await Api.WaitFinished(c, await Api.Scan(c, $"{world.Registry.Host}/app/absent:1"));
        Assert.Equal("failed", job.GetProperty("status").GetString());
        Assert.Contains("app/absent", job.GetProperty("error").GetString());
        Assert.Contains("berth_serve_scans_total{status=\"failed\"} 1\n", await c.GetStringAsync("/metrics"));
    }

    [Theory]
    [InlineData("{}", "\"image\"")]
    [InlineData("not json", "not JSON")]
    [InlineData("{\"image\":\"oci:/etc\"}", "image:")]
    [InlineData("{\"image\":\"dir:/etc\"}", "image:")]
    public async Task A_bad_scan_request_is_a_400_naming_the_problem_and_queues_nothing(string body, string says)
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "0"), Admin);
        using var c = serve.Client("admin-token");
        var (status, error) = await Api.PostJson(c, "/scan", body);
        Assert.Equal(400, status);
        Assert.Contains(says, error.RootElement.GetProperty("error").GetString());
        Assert.Contains("berth_serve_queue_depth 0\n", await c.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task The_audit_of_an_image_shows_its_scans_findings_and_who_asked()
    {
        using var data = ServeWorld.Data();
        var tokens = Path.Combine(data.Path, "tokens");
        File.WriteAllText(tokens, "# scanners\ntoken:ci-secret ci-pipeline scan\n");
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "1", "--tokens", tokens));
        using var c = serve.Client("ci-secret");
        await Api.WaitFinished(c, await Api.Scan(c, world.Image));
        foreach (var key in new[] { world.Image, world.Digest })
        {
            var (status, audit) = await Api.Get(c, "/audit/" + key);
            Assert.Equal(200, status);
            var root = audit.RootElement;
            Assert.Equal(new[] { world.Digest }, root.GetProperty("digests").EnumerateArray().Select(d => d.GetString()));
            Assert.Equal("ci-pipeline", root.GetProperty("scans")[0].GetProperty("requestedBy").GetString());
            Assert.Contains(root.GetProperty("findings")[0].GetProperty("matches").EnumerateArray(), m => m.GetProperty("id").GetString() == VulnerableImage.Critical);
            var actions = root.GetProperty("audit").EnumerateArray().Select(e => (e.GetProperty("by").GetString()!, e.GetProperty("action").GetString()!, e.GetProperty("outcome").GetString()!)).ToList();
            Assert.Equal(new[] { ("ci-pipeline", "scan-request", "queued"), ("ci-pipeline", "scan", "done") }, actions);
        }
        Assert.Equal(404, (await Api.Get(c, $"/audit/{world.Registry.Host}/never/scanned:1")).Status);
    }

    [Fact]
    public async Task The_openapi_document_lists_every_route_with_its_role()
    {
        using var data = ServeWorld.Data();
        using var serve = new ServeProcess(world.Args(data.Path, "--workers", "0"), Admin);
        using var c = new HttpClient { BaseAddress = new Uri(serve.Url) };
        using var doc = JsonDocument.Parse(await c.GetStringAsync("/openapi.json"));
        Assert.Equal("3.0.3", doc.RootElement.GetProperty("openapi").GetString());
        var paths = doc.RootElement.GetProperty("paths");
        Assert.Equal("scan", paths.GetProperty("/scan").GetProperty("post").GetProperty("x-berth-role").GetString());
        Assert.True(paths.GetProperty("/scan/{id}").TryGetProperty("get", out _));
        foreach (var p in new[] { "/healthz", "/readyz", "/metrics", "/openapi.json" }) Assert.True(paths.TryGetProperty(p, out _), p);
        var (ready, body) = await Api.Get(c, "/readyz");
        Assert.Equal(200, ready);
        Assert.Contains(body.RootElement.GetProperty("components").EnumerateArray(), x => x.GetProperty("name").GetString() == "vulnerability-database" && x.GetProperty("ready").GetBoolean());
    }
}
