using System.Text.Json;
using Berth.Oci.Image;
using Berth.Supply.Attestations;
using Berth.Supply.Signing;

namespace Berth.Supply.Provenance;

/// <summary>What a provenance check found: the builder and source of the attestation that passed.</summary>
public sealed record ProvenanceResult(string BuilderId, string SourceUri, string BuildType);

/// <summary>
/// Checks provenance as slsa-verifier does for an image: a SLSA provenance attestation signed by the
/// key, whose subject is the image digest, whose runDetails.builder.id is the builder expected (an
/// expected id without "@version" matches any version), and whose source — a git+ resolved
/// dependency or externalParameters.source — is the repository expected ("github.com/org/repo"
/// matches "git+https://github.com/org/repo@refs/heads/main").
/// </summary>
public static class ProvenanceVerifier
{
    public static ProvenanceResult Verify(IAttachmentPlace place, Digest image, VerificationKey key, string builderId, string sourceUri)
    {
        var (verified, failures) = Attestor.Verify(place, image, key, null);
        var reasons = new List<string>(failures);
        foreach (var a in verified.Where(a => a.PredicateType is PredicateTypes.SlsaProvenanceV1 or "https://slsa.dev/provenance/v0.2"))
        {
            try
            {
                return Check(a.PredicateJson, builderId, sourceUri);
            }
            catch (SupplyException e)
            {
                reasons.Add(e.Message);
            }
        }
        if (reasons.Count == 0) reasons.Add($"no SLSA provenance attestation of {image} signed by the key");
        throw new SupplyException(string.Join("; ", reasons));
    }

    /// <summary>The predicate's builder and source against the expected ones; a null <paramref name="sourceUri"/> checks the builder only (a policy that pins no repository).</summary>
    public static ProvenanceResult Check(string predicateJson, string builderId, string? sourceUri)
    {
        try
        {
            using var doc = JsonDocument.Parse(predicateJson);
            var p = doc.RootElement;
            var def = p.GetProperty("buildDefinition");
            var got = p.GetProperty("runDetails").GetProperty("builder").GetProperty("id").GetString() ?? "";
            if (!BuilderMatches(got, builderId)) throw new SupplyException($"provenance: builder id {Q(got)}, expected {Q(builderId)}");
            var sources = new List<string>();
            if (def.TryGetProperty("externalParameters", out var ext) && ext.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String)
                sources.Add(s.GetString()!);
            if (def.TryGetProperty("resolvedDependencies", out var deps))
                foreach (var d in deps.EnumerateArray())
                    if (d.TryGetProperty("uri", out var u) && u.GetString() is { } uri && uri.StartsWith("git+", StringComparison.Ordinal)) sources.Add(uri);
            if (sourceUri is null) return new ProvenanceResult(got, sources.FirstOrDefault() ?? "", def.GetProperty("buildType").GetString() ?? "");
            var want = Normalize(sourceUri);
            var match = sources.FirstOrDefault(x => Normalize(x) == want)
                ?? throw new SupplyException($"provenance: source {(sources.Count == 0 ? "none" : string.Join(", ", sources.Select(Q)))}, expected {Q(sourceUri)}");
            return new ProvenanceResult(got, match, def.GetProperty("buildType").GetString() ?? "");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SupplyException($"provenance: malformed predicate ({e.Message})");
        }
    }

    static string Q(string s) => "\"" + s + "\"";

    static bool BuilderMatches(string got, string expected) =>
        got == expected || (!expected.Contains('@') && got.StartsWith(expected + "@", StringComparison.Ordinal));

    /// <summary>"git+https://github.com/o/r.git@refs/tags/v1" → "github.com/o/r".</summary>
    static string Normalize(string uri)
    {
        var u = uri;
        if (u.StartsWith("git+", StringComparison.Ordinal)) u = u[4..];
        int scheme = u.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0) u = u[(scheme + 3)..];
        int at = u.IndexOf('@');
        if (at >= 0) u = u[..at];
        u = u.TrimEnd('/');
        if (u.EndsWith(".git", StringComparison.Ordinal)) u = u[..^4];
        return u;
    }
}
