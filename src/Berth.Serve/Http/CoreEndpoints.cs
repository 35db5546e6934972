using System.Text;
using System.Text.Json;
using Berth.Serve.Auth;
using Berth.Serve.Jobs;
using Berth.Serve.Storage;
using Berth.Supply.Vex;

namespace Berth.Serve.Http;

/// <summary>The core's routes: /scan, /scan/{id}, /audit/{image} and the probes, metrics and document.</summary>
public static class CoreEndpoints
{
    const string ErrorSchema = """{"type":"object","properties":{"error":{"type":"string"}}}""";
    const string JobSchema = """{"type":"object","required":["id","status"],"properties":{"id":{"type":"string"},"image":{"type":"string"},"status":{"type":"string","enum":["queued","running","done","failed"]},"digest":{"type":"string"},"cached":{"type":"boolean"},"error":{"type":"string"},"attempts":{"type":"integer"},"findings":{"type":"object","properties":{"image":{"type":"string"},"digest":{"type":"string"},"database":{"type":"object"},"sbom":{"type":"object","description":"CycloneDX 1.5 JSON"},"matches":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"aliases":{"type":"array","items":{"type":"string"}},"package":{"type":"string"},"version":{"type":"string"},"purl":{"type":"string"},"severity":{"type":"string"},"fixedIn":{"type":"string"},"vex":{"type":"object","nullable":true},"suppressed":{"type":"boolean"}}}}}}}}""";

    public static void Map(Routes routes, ServeContext ctx, Func<IReadOnlyList<Route>> all)
    {
        routes.Map("POST", "/scan", Role.Scan, async r =>
        {
            using var body = await r.ReadJsonAsync();
            var image = Request.RequiredString(body, "image");
            var job = await ctx.Scans.EnqueueAsync(image, r.Caller.Subject);
            await ctx.Store.AppendAuditAsync(new AuditEntry(DateTimeOffset.UtcNow, r.Caller.Subject, r.Caller.RoleFor(Role.Scan), "scan-request", image, "", "queued", $"job {job.Id}"));
            await r.WriteJsonAsync(202, w => { w.WriteStartObject(); w.WriteString("id", job.Id); w.WriteString("status", job.Status); w.WriteEndObject(); });
        }, new("Queue a scan of a registry image; the job's id is returned at once.", """{"type":"object","required":["image"],"properties":{"image":{"type":"string","example":"registry.example/app:1.0"}}}""",
            """{"type":"object","properties":{"id":{"type":"string"},"status":{"type":"string"}}}"""));

        routes.Map("GET", "/scan/{id}", Role.Scan, async r =>
        {
            var job = await ctx.Store.GetJobAsync(r.RouteValue("id")!) ?? throw new ServeException(404, $"scan job {r.RouteValue("id")}: not found");
            byte[]? findings = job is { Status: "done", Digest: { } d, DbVersion: { } v } ? await ctx.Store.GetFindingsAsync(d, v) : null;
            var vex = job.Digest is { } dg ? await StatementsAsync(ctx.Store, dg) : new List<OpenVexStatement>();
            using var doc = findings is null ? null : JsonDocument.Parse(findings);
            await r.WriteJsonAsync(200, w =>
            {
                WriteJob(w, job);
                if (doc is not null)
                {
                    w.WriteStartObject("findings");
                    FindingsDocument.WriteWithVex(w, doc.RootElement, vex);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            });
        }, new("A scan job's status and, when done, its findings: the SBOM and each vulnerability match with its VEX state.", null, JobSchema));

        routes.Map("GET", "/audit/{*image}", Role.Scan, async r =>
        {
            var image = Uri.UnescapeDataString(r.RouteValue("image") ?? "");
            if (image.Length == 0) throw new ServeException(400, "audit: an image reference or digest is required");
            await WriteAuditAsync(r, ctx, image);
        }, new("The triage report of an image (a reference as asked, or a manifest digest): findings with VEX applied, VEX statements, decisions and the audit log (who asked what).",
            null, """{"type":"object","properties":{"image":{"type":"string"},"digests":{"type":"array","items":{"type":"string"}},"scans":{"type":"array"},"findings":{"type":"array"},"vex":{"type":"array"},"decisions":{"type":"array"},"audit":{"type":"array"}}}"""));

        routes.MapPublic("GET", "/healthz", r => r.WriteJsonAsync(200, w => { w.WriteStartObject(); w.WriteString("status", "ok"); w.WriteEndObject(); }),
            new("Liveness: the process serves requests.", null, """{"type":"object","properties":{"status":{"type":"string"}}}"""));

        routes.MapPublic("GET", "/readyz", r =>
        {
            var ready = ctx.Readiness.Ready;
            return r.WriteJsonAsync(ready ? 200 : 503, w =>
            {
                w.WriteStartObject();
                w.WriteString("status", ready ? "ready" : "not ready");
                w.WriteStartArray("components");
                foreach (var (name, ok, detail) in ctx.Readiness.Components)
                {
                    w.WriteStartObject(); w.WriteString("name", name); w.WriteBoolean("ready", ok); w.WriteString("detail", detail); w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }, new("Readiness: storage, workers, the vulnerability database and the promotion policy, each with why it is not ready.", null,
            """{"type":"object","properties":{"status":{"type":"string"},"components":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},"ready":{"type":"boolean"},"detail":{"type":"string"}}}}}}"""));

        routes.MapPublic("GET", "/metrics", async r =>
        {
            r.Http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await r.Http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(ctx.Metrics.Render()));
        }, new("Prometheus text exposition: scans by status, queue depth, scan durations, decisions by outcome.", null, """{"type":"string"}"""));

        routes.MapPublic("GET", "/openapi.json", async r =>
        {
            r.Http.Response.ContentType = "application/json";
            await r.Http.Response.Body.WriteAsync(OpenApiDocument.Write(all(), BerthScanner.Version));
        }, new("This document.", null, """{"type":"object"}"""));
    }

    static void WriteJob(System.Text.Json.Utf8JsonWriter w, ScanJob job)
    {
        w.WriteStartObject();
        w.WriteString("id", job.Id);
        w.WriteString("image", job.Image);
        w.WriteString("status", job.Status);
        if (job.Digest is not null) w.WriteString("digest", job.Digest);
        if (job.Status == "done") w.WriteBoolean("cached", job.Cached);
        if (job.Error is not null) w.WriteString("error", job.Error);
        w.WriteNumber("attempts", job.Attempts);
        w.WriteString("requestedBy", job.Subject);
        w.WriteString("created", job.Created.ToString("O"));
        if (job.Finished is { } f) w.WriteString("finished", f.ToString("O"));
    }

    /// <summary>The VEX statements posted for a digest, parsed; one that no longer parses is skipped (it was checked when posted).</summary>
    public static async Task<List<OpenVexStatement>> StatementsAsync(IServeStore store, string digest)
    {
        var list = new List<OpenVexStatement>();
        foreach (var v in await store.VexAsync(digest))
        {
            try { list.AddRange(OpenVexStatement.Read(v.Statement, $"vex {v.Id}")); }
            catch (Supply.SupplyException) { }
        }
        return list;
    }

    static async Task WriteAuditAsync(Request r, ServeContext ctx, string image)
    {
        var store = ctx.Store;
        // A reference leads to the digests it was scanned as; a digest is its own.
        var jobs = (await store.JobsForAsync(image)).ToList();
        var digests = new SortedSet<string>(StringComparer.Ordinal);
        if (image.StartsWith("sha256:", StringComparison.Ordinal)) digests.Add(image);
        foreach (var j in jobs) if (j.Digest is { } d) digests.Add(d);
        foreach (var a in await store.AuditAsync(image)) if (a.Digest.Length > 0) digests.Add(a.Digest);
        foreach (var d in digests) foreach (var j in await store.JobsForAsync(d)) if (!jobs.Any(x => x.Id == j.Id)) jobs.Add(j);

        // …and a digest to the references it was asked for by (a scan request is logged before its digest is known).
        var keys = new SortedSet<string>(StringComparer.Ordinal) { image };
        keys.UnionWith(digests);
        keys.UnionWith(jobs.Select(j => j.Image));
        var entries = new List<AuditEntry>();
        foreach (var k in keys) entries.AddRange(await store.AuditAsync(k));
        entries = entries.Distinct().OrderBy(e => e.At).ToList();
        var decisions = new List<Decision>(await store.DecisionsAsync(image));
        foreach (var d in digests) decisions.AddRange(await store.DecisionsAsync(d));
        decisions = decisions.DistinctBy(d => d.Id).OrderBy(d => d.At).ToList();
        var vexRecords = new List<VexRecord>();
        var findings = new List<(string Digest, JsonDocument Doc, List<OpenVexStatement> Vex)>();
        foreach (var d in digests)
        {
            vexRecords.AddRange(await store.VexAsync(d));
            if (await store.LatestFindingsAsync(d) is { } f) findings.Add((d, JsonDocument.Parse(f.Findings), await StatementsAsync(store, d)));
        }
        if (jobs.Count == 0 && entries.Count == 0 && decisions.Count == 0 && vexRecords.Count == 0)
            throw new ServeException(404, $"audit: nothing is known about {image}");
        try
        {
            await r.WriteJsonAsync(200, w =>
            {
                w.WriteStartObject();
                w.WriteString("image", image);
                w.WriteStartArray("digests");
                foreach (var d in digests) w.WriteStringValue(d);
                w.WriteEndArray();
                w.WriteStartArray("scans");
                foreach (var j in jobs.OrderBy(j => j.Created)) { WriteJob(w, j); w.WriteEndObject(); }
                w.WriteEndArray();
                w.WriteStartArray("findings");
                foreach (var (_, doc, vex) in findings)
                {
                    w.WriteStartObject();
                    FindingsDocument.WriteWithVex(w, doc.RootElement, vex);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("vex");
                foreach (var v in vexRecords)
                {
                    w.WriteStartObject();
                    w.WriteString("id", v.Id); w.WriteString("image", v.Image); w.WriteString("digest", v.Digest);
                    w.WriteString("by", v.Subject); w.WriteString("at", v.At.ToString("O"));
                    w.WriteBoolean("signed", v.Signature is not null);
                    try { using var st = JsonDocument.Parse(v.Statement); w.WritePropertyName("statement"); st.RootElement.WriteTo(w); }
                    catch (JsonException) { w.WriteString("statement", Encoding.UTF8.GetString(v.Statement)); }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("decisions");
                foreach (var d in decisions)
                {
                    w.WriteStartObject();
                    w.WriteString("id", d.Id); w.WriteString("image", d.Image); w.WriteString("digest", d.Digest); w.WriteString("action", d.Action);
                    w.WriteString("target", d.Target); w.WriteString("outcome", d.Outcome);
                    w.WriteStartArray("reasons"); foreach (var x in d.Reasons) w.WriteStringValue(x); w.WriteEndArray();
                    w.WriteString("policy", d.PolicyHash); w.WriteString("by", d.Subject); w.WriteString("at", d.At.ToString("O"));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("audit");
                foreach (var e in entries)
                {
                    w.WriteStartObject();
                    w.WriteString("at", e.At.ToString("O")); w.WriteString("by", e.Subject); w.WriteString("role", e.Role); w.WriteString("action", e.Action);
                    w.WriteString("image", e.Image); w.WriteString("digest", e.Digest); w.WriteString("outcome", e.Outcome); w.WriteString("detail", e.Detail);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
        }
        finally
        {
            foreach (var f in findings) f.Doc.Dispose();
        }
    }
}
