using System.Net;
using System.Text.Json;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Registry;

/// <summary>The manifests that name a subject: from the referrers API, or from the tag-schema fallback index.</summary>
public sealed record Referrers(IReadOnlyList<Descriptor> Manifests, bool ViaTagSchema);

public sealed partial class RegistryClient
{
    /// <summary>The fallback tag of distribution-spec v1.1 for registries without the referrers API: "sha256-HEX" (ALG-HEX).</summary>
    public static string ReferrersTag(Digest subject) => $"{subject.Algorithm}-{subject.Encoded}";

    /// <summary>
    /// GET /v2/NAME/referrers/DIGEST[?artifactType=]; a registry without the API (404) is read through
    /// the tag schema instead. The filter is applied here when the registry did not
    /// (no OCI-Filters-Applied), so the answer is the same either way.
    /// </summary>
    public async Task<Referrers> GetReferrersAsync(string repository, Digest subject, string? artifactType = null, CancellationToken ct = default)
    {
        var what = $"{Registry}/{repository}@{subject}";
        var path = $"/v2/{repository}/referrers/{subject}" + (artifactType is null ? "" : $"?artifactType={Uri.EscapeDataString(artifactType)}");
        using (var response = await SendAsync(new Request(HttpMethod.Get, path, what, "listing referrers", PullScope(repository))
        {
            Headers = m => m.Headers.Accept.ParseAdd(MediaTypes.Index),
        }, ct).ConfigureAwait(false))
        {
            var type = response.Content.Headers.ContentType?.MediaType;
            if (response.IsSuccessStatusCode && type == MediaTypes.Index)
            {
                var bytes = await ReadLimitedAsync(response, MaxManifestBytes, what, "listing referrers", ct).ConfigureAwait(false);
                var filtered = response.Headers.TryGetValues("OCI-Filters-Applied", out var f) && f.Any(v => v.Split(',').Any(x => x.Trim() == "artifactType"));
                return new Referrers(Filter(ParseIndex(bytes, what).Manifests ?? [], filtered ? null : artifactType), false);
            }
            if (response.StatusCode != HttpStatusCode.NotFound && response.IsSuccessStatusCode is false)
                throw await FailureAsync(response, what, "listing referrers", ct).ConfigureAwait(false);
        }
        var index = await ReadReferrersTagAsync(repository, subject, ct).ConfigureAwait(false);
        return new Referrers(Filter(index?.Manifests ?? [], artifactType), true);
    }

    static List<Descriptor> Filter(List<Descriptor> manifests, string? artifactType) =>
        artifactType is null ? manifests : manifests.Where(d => d.ArtifactType == artifactType).ToList();

    async Task<ImageIndex?> ReadReferrersTagAsync(string repository, Digest subject, CancellationToken ct)
    {
        try
        {
            var m = await GetManifestAsync(repository, ReferrersTag(subject), ct).ConfigureAwait(false);
            if (m.MediaType != MediaTypes.Index)
                throw new RegistryException($"{Registry}/{repository}:{ReferrersTag(subject)}: the referrers fallback tag names a {m.MediaType}, not an index");
            return ParseIndex(m.Bytes, $"{Registry}/{repository}:{ReferrersTag(subject)}");
        }
        catch (RegistryException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    static ImageIndex ParseIndex(byte[] bytes, string what)
    {
        try
        {
            return JsonIn.Parse(bytes, what, ImageIndex.Read);
        }
        catch (Exception e) when (e is Oci.SpecException or JsonException or InvalidOperationException)
        {
            throw new RegistryException($"{what}: not a valid image index ({e.Message})");
        }
    }

    /// <summary>
    /// Pushes a manifest that has a subject (a signature, an SBOM, any artifact) by its digest. When
    /// the registry does not say it indexed the subject (no OCI-Subject header), the tag-schema
    /// fallback index is updated as the spec asks clients to: read, the descriptor added once, PUT.
    /// </summary>
    public async Task<ManifestPutResult> PushReferrerAsync(string repository, byte[] manifest, string mediaType, CancellationToken ct = default)
    {
        var digest = Compute(manifest, "sha256");
        var what = $"{Registry}/{repository}@{digest}";
        Descriptor? subject;
        string? artifactType;
        Dictionary<string, string>? annotations;
        try
        {
            (subject, artifactType, annotations) = JsonIn.Parse(manifest, what, o =>
            {
                var subject = o.Object("subject", Descriptor.Read);
                var artifactType = o.String("artifactType");
                var config = o.Object("config", Descriptor.Read);
                return (subject, artifactType ?? config?.MediaType, o.StringMap("annotations"));
            });
        }
        catch (Exception e) when (e is Oci.SpecException or JsonException or InvalidOperationException)
        {
            throw new RegistryException($"{what}: pushing a referrer: not a valid manifest ({e.Message})");
        }
        if (subject?.Digest is not { } subjectText) throw new RegistryException($"{what}: pushing a referrer: the manifest has no subject");
        var subjectDigest = Digest.Parse(subjectText, "subject.digest");
        var result = await PutManifestAsync(repository, digest.ToString(), manifest, mediaType, ct).ConfigureAwait(false);
        if (result.OciSubject is not null) return result;

        var index = await ReadReferrersTagAsync(repository, subjectDigest, ct).ConfigureAwait(false) ?? new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = [] };
        index.Manifests ??= [];
        if (index.Manifests.All(d => d.Digest != digest.ToString()))
        {
            index.Manifests.Add(new Descriptor
            {
                MediaType = mediaType, Digest = digest.ToString(), Size = manifest.Length, ArtifactType = artifactType,
                Annotations = annotations is { Count: > 0 } ? annotations : null,
            });
            var bytes = JsonOut.Write(w =>
            {
                w.WriteStartObject();
                index.Write(w);
                w.WriteEndObject();
            });
            await PutManifestAsync(repository, ReferrersTag(subjectDigest), bytes, MediaTypes.Index, ct).ConfigureAwait(false);
        }
        return result;
    }
}
