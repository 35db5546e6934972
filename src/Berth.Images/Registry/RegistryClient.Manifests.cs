using System.Net;
using System.Text.Json;
using Berth.Oci.Image;

namespace Berth.Images.Registry;

/// <summary>A manifest as the registry served it: the exact bytes (digests and signatures are over them), its media type and digest.</summary>
public sealed record ManifestResponse(byte[] Bytes, string MediaType, Digest Digest)
{
    public Descriptor Descriptor() => new() { MediaType = MediaType, Digest = Digest.ToString(), Size = Bytes.Length };
}

/// <summary>What a HEAD of a manifest tells: its media type, digest and size.</summary>
public sealed record ManifestHead(string? MediaType, Digest Digest, long Size);

/// <summary>A manifest stored: its digest, and whether the registry took its subject into the referrers API (the OCI-Subject header).</summary>
public sealed record ManifestPutResult(Digest Digest, string? OciSubject);

public sealed partial class RegistryClient
{
    /// <summary>A manifest is refused above 4 MiB, as the distribution spec lets registries do and containers/image does.</summary>
    public const int MaxManifestBytes = 4 << 20;

    /// <summary>Every manifest type Berth reads (schema 1 is left out: it is refused).</summary>
    public static readonly string[] ManifestAccept =
    [
        MediaTypes.Index, MediaTypes.Manifest, MediaTypes.DockerManifestList, MediaTypes.DockerManifest,
    ];

    const string Schema1 = "application/vnd.docker.distribution.manifest.v1+json";
    const string Schema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

    static string ManifestPath(string repository, string reference) => $"/v2/{repository}/manifests/{reference}";

    static string What(string repository, string reference) => reference.Contains(':') ? $"{repository}@{reference}" : $"{repository}:{reference}";

    string Named(string repository, string reference) => $"{Registry}/{What(repository, reference)}";

    static void AcceptManifests(HttpRequestMessage m)
    {
        foreach (var t in ManifestAccept) m.Headers.Accept.ParseAdd(t);
    }

    /// <summary>
    /// GET a manifest by tag or digest. Refused: schema 1, anything over 4 MiB, and bytes whose digest
    /// is not the requested digest or the registry's Docker-Content-Digest.
    /// </summary>
    public async Task<ManifestResponse> GetManifestAsync(string repository, string reference, CancellationToken ct = default)
    {
        var what = Named(repository, reference);
        using var response = await SendAsync(new Request(HttpMethod.Get, ManifestPath(repository, reference), what, "reading manifest", PullScope(repository))
        {
            Headers = AcceptManifests,
        }, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, "reading manifest", ct).ConfigureAwait(false);
        var contentType = response.Content.Headers.ContentType?.MediaType;
        if (contentType is Schema1 or Schema1Signed) throw Schema1Refused(what);
        if (response.Content.Headers.ContentLength is > MaxManifestBytes)
            throw new RegistryException($"{what}: reading manifest: {response.Content.Headers.ContentLength} bytes, more than the {MaxManifestBytes} bytes a manifest may have");
        var bytes = await ReadLimitedAsync(response, MaxManifestBytes, what, "reading manifest", ct).ConfigureAwait(false);
        var mediaType = MediaTypeOf(bytes, contentType, what);
        var digest = VerifyManifestDigest(bytes, reference, response, what);
        return new ManifestResponse(bytes, mediaType, digest);
    }

    static RegistryException Schema1Refused(string what) =>
        new($"{what}: reading manifest: it is a Docker schema 1 manifest, which Berth does not read (deprecated since 2017; push the image again with a current tool)", ErrorCodes.ManifestInvalid);

    /// <summary>The digest of the bytes, checked against a digest reference and against Docker-Content-Digest.</summary>
    static Digest VerifyManifestDigest(byte[] bytes, string reference, HttpResponseMessage response, string what)
    {
        Digest? requested = reference.Contains(':') ? Digest.Parse(reference) : null;
        Digest? header = null;
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } h)
        {
            try { header = Digest.Parse(h.Trim()); }
            catch (Oci.SpecException e) { throw new RegistryException($"{what}: reading manifest: the registry's Docker-Content-Digest {Quote.Of(h)} is not a digest ({e.Message})"); }
        }
        var algorithm = requested?.Algorithm ?? header?.Algorithm ?? "sha256";
        var actual = Compute(bytes, algorithm);
        if (requested is { } r && actual != r)
            throw new RegistryException($"{what}: reading manifest: the registry sent a manifest with digest {actual}, not the one asked for", ErrorCodes.DigestInvalid);
        if (header is { } hd && Compute(bytes, hd.Algorithm) != hd)
            throw new RegistryException($"{what}: reading manifest: its digest {Compute(bytes, hd.Algorithm)} is not the {hd} the registry announced (Docker-Content-Digest)", ErrorCodes.DigestInvalid);
        return actual;
    }

    internal static Digest Compute(ReadOnlySpan<byte> bytes, string algorithm)
    {
        using var h = Digest.NewHash(algorithm);
        h.AppendData(bytes);
        return Digest.From(algorithm, h);
    }

    /// <summary>The type the registry said, or (when it said application/json or nothing) the one the document says or its shape shows.</summary>
    static string MediaTypeOf(byte[] bytes, string? contentType, string what)
    {
        if (contentType is not null && ManifestAccept.Contains(contentType)) return contentType;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new RegistryException($"{what}: reading manifest: not a JSON object");
            if (root.TryGetProperty("schemaVersion", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.GetInt32() == 1) throw Schema1Refused(what);
            if (root.TryGetProperty("mediaType", out var mt) && mt.ValueKind == JsonValueKind.String && mt.GetString() is { } t)
            {
                if (t is Schema1 or Schema1Signed) throw Schema1Refused(what);
                if (ManifestAccept.Contains(t)) return t;
                throw new RegistryException($"{what}: reading manifest: media type {Quote.Of(t)} is not a manifest or index Berth reads");
            }
            if (root.TryGetProperty("manifests", out _)) return MediaTypes.Index;
            if (root.TryGetProperty("config", out _)) return MediaTypes.Manifest;
        }
        catch (JsonException e)
        {
            throw new RegistryException($"{what}: reading manifest: not valid JSON ({e.Message})", ErrorCodes.ManifestInvalid);
        }
        throw new RegistryException($"{what}: reading manifest: {Quote.Of(contentType)} with neither a mediaType nor the shape of a manifest or index");
    }

    static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int max, string what, string operation, CancellationToken ct)
    {
        await using var s = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        try
        {
            while ((n = await s.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > max) throw new RegistryException($"{what}: {operation}: more than the {max} bytes a manifest may have");
                buffer.Write(chunk, 0, n);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new RegistryException($"{what}: {operation}: the connection broke ({e.Message})", inner: e);
        }
        return buffer.ToArray();
    }

    /// <summary>HEAD a manifest: null when the registry has none by that reference. A registry that sends no Docker-Content-Digest is asked with a GET.</summary>
    public async Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct = default)
    {
        var what = Named(repository, reference);
        using (var response = await SendAsync(new Request(HttpMethod.Head, ManifestPath(repository, reference), what, "checking manifest", PullScope(repository))
        {
            Headers = AcceptManifests,
        }, ct).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, "checking manifest", ct).ConfigureAwait(false);
            var type = response.Content.Headers.ContentType?.MediaType;
            if (type is Schema1 or Schema1Signed) throw Schema1Refused(what);
            if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } h
                && response.Content.Headers.ContentLength is { } length)
            {
                var d = Digest.Parse(h.Trim());
                if (reference.Contains(':') && d.ToString() != reference)
                    throw new RegistryException($"{what}: checking manifest: the registry answered for digest {d}", ErrorCodes.DigestInvalid);
                return new ManifestHead(type, d, length);
            }
        }
        try
        {
            var m = await GetManifestAsync(repository, reference, ct).ConfigureAwait(false);
            return new ManifestHead(m.MediaType, m.Digest, m.Bytes.Length);
        }
        catch (RegistryException e) when (e.IsNotFound)
        {
            return null;
        }
    }

    /// <summary>PUT a manifest by tag or by digest (its own); the registry's Docker-Content-Digest must be the bytes' digest.</summary>
    public async Task<ManifestPutResult> PutManifestAsync(string repository, string reference, byte[] bytes, string mediaType, CancellationToken ct = default)
    {
        var what = Named(repository, reference);
        if (bytes.Length > MaxManifestBytes) throw new RegistryException($"{what}: writing manifest: {bytes.Length} bytes, more than the {MaxManifestBytes} registries take");
        var digest = Compute(bytes, reference.Contains(':') ? Digest.Parse(reference).Algorithm : "sha256");
        if (reference.Contains(':') && digest.ToString() != reference)
            throw new RegistryException($"{what}: writing manifest: the bytes have digest {digest}, not the one they are pushed by");
        using var response = await SendAsync(new Request(HttpMethod.Put, ManifestPath(repository, reference), what, "writing manifest", PushScope(repository))
        {
            Content = () =>
            {
                var c = new ByteArrayContent(bytes);
                c.Headers.ContentType = new(mediaType);
                return c;
            },
        }, ct).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Created && !response.IsSuccessStatusCode)
            throw await FailureAsync(response, what, "writing manifest", ct).ConfigureAwait(false);
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } h && h.Trim() != digest.ToString()
            && Digest.Parse(h.Trim()).Algorithm == digest.Algorithm)
            throw new RegistryException($"{what}: writing manifest: the registry stored it as {h.Trim()}, the bytes have digest {digest}", ErrorCodes.DigestInvalid);
        var subject = response.Headers.TryGetValues("OCI-Subject", out var s) ? s.FirstOrDefault() : null;
        return new ManifestPutResult(digest, subject);
    }

    /// <summary>
    /// DELETE a manifest. The spec deletes by digest: a tag is first resolved with HEAD (as skopeo
    /// delete does, which removes the image the tag names, not only the tag).
    /// </summary>
    public async Task<Digest> DeleteManifestAsync(string repository, string reference, CancellationToken ct = default)
    {
        var what = Named(repository, reference);
        Digest digest;
        if (reference.Contains(':')) digest = Digest.Parse(reference);
        else digest = (await HeadManifestAsync(repository, reference, ct).ConfigureAwait(false))?.Digest
            ?? throw new RegistryException($"{what}: deleting manifest: {ErrorCodes.ManifestUnknown}: manifest unknown", ErrorCodes.ManifestUnknown, HttpStatusCode.NotFound);
        using var response = await SendAsync(new Request(HttpMethod.Delete, ManifestPath(repository, digest.ToString()), what, "deleting manifest",
            $"repository:{repository}:delete"), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.MethodNotAllowed)
            throw new RegistryException($"{what}: deleting manifest: {ErrorCodes.Unsupported}: the registry does not allow deletes (distribution: storage.delete.enabled)", ErrorCodes.Unsupported, response.StatusCode);
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, "deleting manifest", ct).ConfigureAwait(false);
        return digest;
    }

    /// <summary>
    /// Every tag of a repository, page by page as the Link header says (?n=<paramref name="pageSize"/>
    /// asks for pages of that size; the registry's default when null).
    /// </summary>
    public async Task<IReadOnlyList<string>> ListTagsAsync(string repository, int? pageSize = null, CancellationToken ct = default)
    {
        var what = $"{Registry}/{repository}";
        var tags = new List<string>();
        var seen = new HashSet<string>();
        string? next = $"/v2/{repository}/tags/list" + (pageSize is { } n ? $"?n={n}" : "");
        while (next is not null)
        {
            if (!seen.Add(next)) throw new RegistryException($"{what}: listing tags: the registry's Link header loops back to {Quote.Of(next)}");
            using var response = await SendAsync(new Request(HttpMethod.Get, next, what, "listing tags", PullScope(repository)), ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, "listing tags", ct).ConfigureAwait(false);
            var body = await ReadLimitedAsync(response, 16 << 20, what, "listing tags", ct).ConfigureAwait(false);
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array)
                    foreach (var tag in t.EnumerateArray())
                        if (tag.ValueKind == JsonValueKind.String) tags.Add(tag.GetString()!);
            }
            catch (JsonException e)
            {
                throw new RegistryException($"{what}: listing tags: the answer is not JSON ({e.Message})");
            }
            next = NextLink(response);
            if (next is not null) next = new Uri(Resolve(response.RequestMessage?.RequestUri?.ToString() ?? "/"), next).ToString();
        }
        return tags;
    }

    /// <summary>The target of a `Link: &lt;…&gt;; rel="next"` header (RFC 5988), or null.</summary>
    internal static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links)) return null;
        foreach (var header in links)
            foreach (var link in header.Split(','))
            {
                var parts = link.Split(';');
                var target = parts[0].Trim();
                if (!target.StartsWith('<') || !target.EndsWith('>')) continue;
                if (parts.Skip(1).Any(p => p.Trim().Replace(" ", "") is "rel=\"next\"" or "rel=next")) return target[1..^1];
            }
        return null;
    }
}
