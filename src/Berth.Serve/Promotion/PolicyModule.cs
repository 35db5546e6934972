using System.Diagnostics;
using System.Text.Json;
using Berth.Serve.Admission;
using Berth.Serve.Auth;
using Berth.Serve.Http;
using Berth.Serve.Plugins;
using Berth.Serve.Policy;
using Berth.Serve.Storage;
using Berth.Supply.Signing;
using Berth.Supply.Vex;

namespace Berth.Serve.Promotion;

/// <summary>
/// The policy half of the service: the policy file (loaded at start, polled and reloaded), the
/// plugins it names, and the routes that decide — POST /promote, POST /vex (with GET /vex/key) and
/// POST /imagepolicy. Every decision is recorded with all its reasons and counted.
/// </summary>
public sealed class PolicyModule : IServeModule
{
    ServeContext _ctx = null!;
    PolicyWatcher _policy = null!;
    SigningKey _key = null!;
    Metrics.ServeMetrics.Histogram _evaluation = null!;
    Metrics.ServeMetrics.CounterFamily _copied = null!;

    public string Name => "policy";

    /// <summary>The plugins named by the policy at start-up (the scan service may take its scanner from here).</summary>
    public PluginSet Plugins { get; private set; } = null!;

    public Task StartAsync(ServeContext context, CancellationToken stopping)
    {
        _ctx = context;
        try
        {
            _policy = new PolicyWatcher(context.Options.PolicyPath, context.Log, (ready, detail) => context.Readiness.Set("policy", ready, detail));
            Plugins = PluginSet.Load(_policy.Current, context.BerthScanner);
            if (Plugins.Scanner is { } scanner) context.Scanner = scanner;
            context.Log($"plugins: scanner {Plugins.Scanner?.Name ?? "berth"}; verifiers {string.Join(", ", Plugins.Verifiers.Select(v => v.Name))}");
        }
        catch (PolicyException e)
        {
            throw new ServeException(0, e.Message);
        }
        _key = ServiceKey.LoadOrCreate(context.Options.DataDir, context.Log);
        _evaluation = context.Metrics.NewHistogram("berth_serve_policy_evaluation_seconds", "Policy evaluation time over pre-fetched attestations.",
            [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25]);
        _copied = context.Metrics.Counter("berth_serve_promotions_total", "Promotions by result: copied, unchanged (already there), refused.", "result");
        _ = Task.Run(() => _policy.RunAsync(stopping), CancellationToken.None);
        return Task.CompletedTask;
    }

    public void MapRoutes(Routes routes)
    {
        routes.Map("POST", "/promote", Role.Promote, PromoteAsync, new OpenApiOperation(
            "Promote an image: decide by policy over its pre-fetched signatures, SBOM, findings after VEX and provenance; when allowed, copy it with its signatures, attestations and referrers to target (idempotent).",
            """{"type":"object","required":["image","target"],"properties":{"image":{"type":"string","description":"HOST/PATH[:TAG|@DIGEST]"},"target":{"type":"string","description":"HOST/PATH[:TAG]"}}}""",
            DecisionSchema("""
              "target":{"type":"string"},"copied":{"type":"boolean"},"unchanged":{"type":"boolean"},"attachments":{"type":"integer"}
            """)));
        routes.Map("POST", "/vex", Role.Vex, VexAsync, new OpenApiOperation(
            "Store an OpenVEX document for an image, sign it with the service's key and attach it (a cosign attestation, predicate https://openvex.dev/ns); later decisions apply it.",
            """{"type":"object","required":["image","statement"],"properties":{"image":{"type":"string"},"statement":{"type":"object","description":"an OpenVEX v0.2.0 document"}}}""",
            """{"type":"object","properties":{"id":{"type":"string"},"digest":{"type":"string"},"statements":{"type":"integer"},"attestation":{"type":"string"},"key_id":{"type":"string"}}}"""));
        routes.Map("GET", "/vex/key", Role.Scan, KeyAsync, new OpenApiOperation(
            "The public key (PEM) the service signs VEX attestations with.", null, """{"type":"object","properties":{"key_id":{"type":"string"},"pem":{"type":"string"}}}"""));
        routes.Map("POST", "/imagepolicy", Role.Admission, ImagePolicyAsync, new OpenApiOperation(
            "Kubernetes ImagePolicyWebhook: an imagepolicy.k8s.io/v1alpha1 ImageReview in, its status (allowed, reason) out.",
            """{"type":"object","required":["apiVersion","kind","spec"],"properties":{"apiVersion":{"const":"imagepolicy.k8s.io/v1alpha1"},"kind":{"const":"ImageReview"},"spec":{"type":"object","properties":{"containers":{"type":"array","items":{"type":"object","properties":{"image":{"type":"string"}}}},"annotations":{"type":"object","additionalProperties":{"type":"string"}},"namespace":{"type":"string"}}}}}""",
            """{"type":"object","properties":{"apiVersion":{"type":"string"},"kind":{"type":"string"},"status":{"type":"object","properties":{"allowed":{"type":"boolean"},"reason":{"type":"string"}}}}}"""));
    }

    static string DecisionSchema(string extra) =>
        """{"type":"object","properties":{"allowed":{"type":"boolean"},"image":{"type":"string"},"digest":{"type":"string"},"policy":{"type":"string"},"override":{"type":["string","null"]},"reasons":{"type":"array","items":{"type":"object","properties":{"check":{"type":"string"},"passed":{"type":"boolean"},"detail":{"type":"string"}}}},"evaluation_ms":{"type":"number"},""" + extra.Trim() + "}}";

    /// <summary>The evidence of one image: its attachments fetched once, its latest findings, the VEX stored for it — then the decision, timed.</summary>
    async Task<(PolicyDecision Decision, AttachmentSnapshot Snapshot, double Ms)> DecideAsync(ResolvedImage image, string policyRepository, ServePolicy policy)
    {
        var snapshot = await Task.Run(() => Fetch(image));
        var findings = await _ctx.Store.LatestFindingsAsync(image.Digest.ToString());
        var vex = (await _ctx.Store.VexAsync(image.Digest.ToString())).OrderBy(v => v.At).ThenBy(v => v.Id, StringComparer.Ordinal)
            .SelectMany(v => OpenVexStatement.Read(v.Statement, $"vex {v.Id}")).ToList();
        var evidence = new Evidence(policyRepository, image.Digest,
            CosignAttachments.Read(snapshot, image.Digest, "sig"), CosignAttachments.Read(snapshot, image.Digest, "att"), snapshot.ReferrerDescriptors,
            findings is { } f ? StoredFindings.Read(f.Findings) : null, findings?.DbVersion, vex);
        var sw = Stopwatch.StartNew();
        var decision = PolicyEngine.Evaluate(policy, evidence, Plugins.Verifiers);
        sw.Stop();
        _evaluation.Observe(sw.Elapsed.TotalSeconds);
        return (decision, snapshot, sw.Elapsed.TotalMilliseconds);
    }

    static AttachmentSnapshot Fetch(ResolvedImage image)
    {
        try { return AttachmentSnapshot.Fetch(image.Place, image.Digest); }
        catch (Exception e) when (e is Berth.Images.Registry.RegistryException or Berth.Images.ImageException or Berth.Supply.SupplyException or Berth.Oci.SpecException)
        {
            throw new ServeException(502, $"{image.Reference.Qualified}: attachments: {e.Message}");
        }
    }

    async Task PromoteAsync(Request req)
    {
        using var body = await req.ReadJsonAsync();
        var image = Request.RequiredString(body, "image");
        var target = Request.RequiredString(body, "target");
        var source = ResolvedImage.Resolve(_ctx.Images, image, "image");
        var dest = ResolvedImage.Parse(_ctx.Images, target, "target");
        if (dest.Qualified!.Digest is not null) throw new ServeException(400, "target: a digest is the image's own; name a repository and maybe a tag");
        // The target's tag: the one it names, else the source's, else "latest" (as podman push does).
        var destRef = Berth.Images.Registry.Reference.Parse(dest.Text).Tag is not null ? dest.Qualified
            : dest.Qualified with { Tag = source.Reference.Qualified!.Tag ?? Berth.Images.Registry.Reference.DefaultTag };
        var destName = destRef.ToString();
        if (destRef.Name == source.Repository && destRef.Tag == source.Reference.Qualified!.Tag)
            throw new ServeException(400, "target: the same repository and tag as image");

        var policy = _policy.Current;
        var (decision, snapshot, ms) = await DecideAsync(source, destRef.Name, policy);
        var digest = source.Digest.ToString();
        bool copied = false, unchanged = false;
        string outcome = decision.Allowed ? "allowed" : "denied";
        string? error = null;
        if (decision.Allowed)
        {
            try
            {
                (copied, unchanged) = await Task.Run(() => Copy(source, dest.WithReference(destRef), snapshot));
            }
            catch (Exception e) when (e is Berth.Images.Registry.RegistryException or Berth.Images.ImageException or Berth.Supply.SupplyException or ServeException)
            {
                outcome = "error";
                error = $"copy to {destName}: {e.Message}";
            }
        }
        var reasons = decision.Reasons.Select(r => r.ToString()).ToList();
        if (error is not null) reasons.Add($"copy: failed: {error}");
        else if (unchanged) reasons.Add($"copy: passed: {destName} already has {digest} and its {snapshot.Count} attachments");
        else if (copied) reasons.Add($"copy: passed: {digest} and {snapshot.Count} attachments (signatures, attestations, referrers) copied to {destName}");
        await Record(req, Role.Promote, "promote", image, digest, destName, outcome, reasons, policy.Hash);
        _copied.Inc(error is not null ? "error" : !decision.Allowed ? "refused" : unchanged ? "unchanged" : "copied");

        int status = error is not null ? 502 : decision.Allowed ? 200 : 403;
        await req.WriteJsonAsync(status, w =>
        {
            w.WriteStartObject();
            WriteDecision(w, decision, image, digest, ms);
            w.WriteString("target", destName);
            w.WriteBoolean("copied", copied);
            w.WriteBoolean("unchanged", unchanged);
            w.WriteNumber("attachments", snapshot.Count);
            if (error is not null) w.WriteString("error", error);
            else if (!decision.Allowed) w.WriteString("error", $"refused by policy: {decision.Summary}");
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Copies the image by digest (every platform of an index, digests preserved: the signatures name
    /// it) and then its attachments. When the target already names that digest with every
    /// attachment manifest present, nothing is written: a second promote is a no-op.
    /// </summary>
    (bool Copied, bool Unchanged) Copy(ResolvedImage source, Berth.Images.Transports.DockerReference dest, AttachmentSnapshot snapshot)
    {
        var place = Places.Of(dest);
        var q = dest.Qualified!;
        var head = Berth.Images.Referrers.RegistryReferrers.Wait(place.Client.HeadManifestAsync(place.Repository, q.Tag!));
        if (head is not null && head.Digest == source.Digest && AttachmentsPresent(place, snapshot)) return (false, true);
        var from = source.Reference.WithReference(source.Reference.Qualified! with { Tag = null, Digest = source.Digest.ToString() });
        var written = _ctx.Images.Copy(from, dest, new Berth.Images.Copy.CopyOptions { All = true, PreserveDigests = true });
        if (written.Digest != source.Digest.ToString()) throw new ServeException(502, $"the copy wrote {written.Digest}, not {source.Digest}");
        snapshot.CopyTo(place);
        return (true, false);
    }

    static bool AttachmentsPresent(RegistryPlace place, AttachmentSnapshot snapshot)
    {
        foreach (var suffix in new[] { "sig", "att" })
        {
            var tag = CosignAttachments.Tag(snapshot.Subject, suffix);
            if (snapshot.GetTagged(tag) is { } want && place.GetTagged(tag)?.Digest != want.Digest) return false;
        }
        var there = place.Referrers(snapshot.Subject).Select(d => d.Digest).ToHashSet();
        return snapshot.ReferrerDescriptors.All(d => there.Contains(d.Digest));
    }

    async Task VexAsync(Request req)
    {
        using var body = await req.ReadJsonAsync();
        var image = Request.RequiredString(body, "image");
        if (!body.RootElement.TryGetProperty("statement", out var st) || st.ValueKind is not (JsonValueKind.Object or JsonValueKind.String))
            throw new ServeException(400, "request body: \"statement\" (an OpenVEX document: an object, or its JSON text) is required");
        var document = st.ValueKind == JsonValueKind.String ? System.Text.Encoding.UTF8.GetBytes(st.GetString()!) : System.Text.Encoding.UTF8.GetBytes(st.GetRawText());
        List<OpenVexStatement> statements;
        try
        {
            Berth.Supply.Attachments.AttachedDocuments.Check(Berth.Supply.Attachments.AttachedDocuments.OpenVex, document, "statement");
            statements = OpenVexStatement.Read(document, "statement");
        }
        catch (Berth.Supply.SupplyException e)
        {
            throw new ServeException(400, e.Message);
        }
        var resolved = ResolvedImage.Resolve(_ctx.Images, image, "image");
        var digest = resolved.Digest;
        Berth.Supply.Attestations.DsseEnvelope envelope;
        try
        {
            envelope = await Task.Run(() => Berth.Supply.Attestations.Attestor.Attest(resolved.Place, digest, resolved.Repository, _key, "https://openvex.dev/ns", document));
        }
        catch (Exception e) when (e is Berth.Images.Registry.RegistryException or Berth.Supply.SupplyException)
        {
            throw new ServeException(502, $"{resolved.Reference.Qualified}: attaching the VEX attestation: {e.Message}");
        }
        var id = Ids.New();
        await _ctx.Store.AddVexAsync(new VexRecord(id, image, digest.ToString(), document, envelope.ToJson(), req.Caller.Subject, DateTimeOffset.UtcNow));
        var tag = CosignAttachments.Tag(digest, "att");
        var summary = string.Join(", ", statements.Select(s => $"{s.Vulnerability} {s.Status}"));
        await _ctx.Store.AppendAuditAsync(new AuditEntry(DateTimeOffset.UtcNow, req.Caller.Subject, req.Caller.RoleFor(Role.Vex), "vex", image, digest.ToString(), "stored",
            $"{statements.Count} statements ({summary}); signed by key {_key.Public.KeyId}, attached as {resolved.Repository}:{tag}"));
        await req.WriteJsonAsync(201, w =>
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("digest", digest.ToString());
            w.WriteNumber("statements", statements.Count);
            w.WriteString("attestation", $"{resolved.Repository}:{tag}");
            w.WriteString("key_id", _key.Public.KeyId);
            w.WriteEndObject();
        });
    }

    Task KeyAsync(Request req) => req.WriteJsonAsync(200, w =>
    {
        w.WriteStartObject();
        w.WriteString("key_id", _key.Public.KeyId);
        w.WriteString("pem", _key.Public.ToPem());
        w.WriteEndObject();
    });

    async Task ImagePolicyAsync(Request req)
    {
        using var body = await req.ReadJsonAsync();
        var review = ImageReview.Parse(body.RootElement);
        var policy = _policy.Current;
        var lines = new List<string>();
        bool allowed = review.Images.Count > 0;
        if (review.Images.Count == 0) lines.Add("the review names no container images");
        foreach (var image in review.Images)
        {
            string outcome, digest = "";
            List<string> reasons;
            try
            {
                var resolved = ResolvedImage.Resolve(_ctx.Images, image, "image");
                digest = resolved.Digest.ToString();
                var (decision, _, _) = await DecideAsync(resolved, resolved.Repository, policy);
                outcome = decision.Allowed ? "allowed" : "denied";
                reasons = decision.Reasons.Select(r => r.ToString()).ToList();
                if (!decision.Allowed) lines.Add($"{image}: {decision.Summary}");
            }
            catch (ServeException e)
            {
                // Fail closed: an image the service cannot judge is not admitted.
                outcome = "error";
                reasons = [e.Message];
                lines.Add($"{image}: {e.Message}");
            }
            allowed &= outcome == "allowed";
            reasons.Add($"namespace: {review.Namespace ?? "(none)"}");
            foreach (var (k, v) in review.Annotations) reasons.Add($"annotation {k}={v}");
            await Record(req, Role.Admission, "admission", image, digest, review.Namespace ?? "", outcome, reasons, policy.Hash);
        }
        await req.WriteJsonAsync(200, w => ImageReview.WriteResponse(w, allowed, allowed ? "" : string.Join("; ", lines)));
    }

    async Task Record(Request req, Role role, string action, string image, string digest, string target, string outcome, List<string> reasons, string policyHash)
    {
        var now = DateTimeOffset.UtcNow;
        await _ctx.Store.AddDecisionAsync(new Decision(Ids.New(), image, digest, action, target, outcome, reasons, policyHash, req.Caller.Subject, now));
        await _ctx.Store.AppendAuditAsync(new AuditEntry(now, req.Caller.Subject, req.Caller.RoleFor(role), action, image, digest, outcome,
            $"{(target.Length > 0 ? $"{(action == "promote" ? "target" : "namespace")} {target}; " : "")}policy {policyHash}; {string.Join("; ", reasons)}"));
        _ctx.Metrics.Decision(outcome);
    }

    static void WriteDecision(Utf8JsonWriter w, PolicyDecision d, string image, string digest, double ms)
    {
        w.WriteBoolean("allowed", d.Allowed);
        w.WriteString("image", image);
        w.WriteString("digest", digest);
        w.WriteString("policy", d.PolicyHash);
        if (d.Override is null) w.WriteNull("override");
        else w.WriteString("override", d.Override);
        w.WriteStartArray("reasons");
        foreach (var r in d.Reasons)
        {
            w.WriteStartObject();
            w.WriteString("check", r.Check);
            w.WriteBoolean("passed", r.Passed);
            w.WriteString("detail", r.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("evaluation_ms", Math.Round(ms, 3));
    }
}
