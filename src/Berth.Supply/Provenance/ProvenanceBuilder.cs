using System.Globalization;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Supply.Attestations;

namespace Berth.Supply.Provenance;

/// <summary>What a build was asked to do (SLSA v1 externalParameters): the Containerfile, the build args, and where the source came from.</summary>
public sealed record ExternalParameters(string Containerfile, IReadOnlyDictionary<string, string> BuildArgs, string? Source = null);

/// <summary>What a build used (SLSA v1 resolvedDependencies): base images by digest, and the git commit of the context.</summary>
public sealed record ResolvedDependencies(IReadOnlyList<(string Uri, Digest Digest)> BaseImages, (string Uri, string Commit)? Git = null);

/// <summary>The SLSA Provenance v1 predicate (https://slsa.dev/provenance/v1) of a build.</summary>
public static class ProvenanceBuilder
{
    public const string BerthBuildType = "https://github.com/berth-project/berth/build/v1";

    /// <summary>The predicate as JSON: buildDefinition (buildType, externalParameters, resolvedDependencies) and runDetails (builder.id, metadata times).</summary>
    public static byte[] Create(string buildType, ExternalParameters externalParameters, ResolvedDependencies resolvedDependencies,
        string builderId, DateTimeOffset startedOn, DateTimeOffset finishedOn, string? invocationId = null) => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartObject("buildDefinition");
        w.WriteString("buildType", buildType);
        w.WriteStartObject("externalParameters");
        w.WriteString("containerfile", externalParameters.Containerfile);
        w.WriteStartObject("buildArgs");
        foreach (var (k, v) in externalParameters.BuildArgs.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
        w.Opt("source", externalParameters.Source);
        w.WriteEndObject();
        w.WriteStartArray("resolvedDependencies");
        if (resolvedDependencies.Git is { } git) InTotoStatement.WriteResourceDescriptor(w, "uri", git.Uri, "gitCommit", git.Commit);
        foreach (var (uri, d) in resolvedDependencies.BaseImages) InTotoStatement.WriteResourceDescriptor(w, "uri", uri, d.Algorithm, d.Encoded);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("runDetails");
        w.WriteStartObject("builder");
        w.WriteString("id", builderId);
        w.WriteEndObject();
        w.WriteStartObject("metadata");
        w.Opt("invocationId", invocationId);
        w.WriteString("startedOn", startedOn.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        w.WriteString("finishedOn", finishedOn.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    });
}
