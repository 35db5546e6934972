using System.Net;
using System.Net.Http.Headers;
using Berth.Oci.Image;

namespace Berth.Images.Registry;

/// <summary>How a blob got to the registry.</summary>
public enum BlobPushOutcome
{
    /// <summary>The HEAD found it there already: nothing was sent.</summary>
    Existed,
    /// <summary>Mounted from another repository of the same registry: nothing was sent.</summary>
    Mounted,
    Uploaded,
}

/// <summary>How to push a blob.</summary>
public sealed record BlobPushOptions
{
    /// <summary>A repository of the same registry that has the blob: tried first with POST ?mount=&amp;from=.</summary>
    public string? MountFrom { get; init; }

    /// <summary>0: one monolithic PUT; otherwise PATCH chunks of this many bytes, then the final PUT.</summary>
    public int ChunkSize { get; init; }

    public static BlobPushOptions Monolithic { get; } = new();
}

public sealed partial class RegistryClient
{
    /// <summary>
    /// Pushes a blob: HEAD first (skipped when the registry has it), then a cross-repository mount
    /// when <see cref="BlobPushOptions.MountFrom"/> names one, then an upload session (POST) sent
    /// monolithically (PUT ?digest=) or in chunks (PATCH with Content-Range, then PUT ?digest=),
    /// each step going where the last Location header said. A failed upload is started over from a
    /// new session, as the policy allows (<paramref name="open"/> is called once per try).
    /// </summary>
    public async Task<BlobPushOutcome> PushBlobAsync(string repository, Digest digest, long size, Func<Stream> open,
        BlobPushOptions? options = null, CancellationToken ct = default)
    {
        options ??= BlobPushOptions.Monolithic;
        var what = $"{Registry}/{repository}@{digest}";
        await _transfers.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (await HeadBlobAsync(repository, digest, ct).ConfigureAwait(false) is not null) return BlobPushOutcome.Existed;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int attempt = 1; ; attempt++)
            {
                try
                {
                    return await UploadOnceAsync(repository, digest, size, open, options, what, ct).ConfigureAwait(false);
                }
                catch (RegistryException e) when (e.Code is null && (e.Status is null || RetryPolicy.IsRetryable(e.Status.Value)) && !ct.IsCancellationRequested)
                {
                    if (!await WaitToRetryAsync(attempt, clock, null, $"uploading blob {digest}: {e.Message}", ct).ConfigureAwait(false)) throw;
                }
            }
        }
        finally
        {
            _transfers.Release();
        }
    }

    /// <summary>
    /// Mounts a blob from another repository of this registry (POST ?mount=&amp;from=, nothing sent):
    /// true when the registry did (201). A registry that cannot (202, an upload session instead)
    /// has that session cancelled, and the caller uploads.
    /// </summary>
    public async Task<bool> MountBlobAsync(string repository, Digest digest, string from, CancellationToken ct = default)
    {
        if (from == repository) return false;
        var what = $"{Registry}/{repository}@{digest}";
        var scopes = new[] { PushScope(repository), PullScope(from) };
        var start = $"/v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(from)}";
        Uri? session = null;
        using (var response = await SendAsync(new Request(HttpMethod.Post, start, what, "mounting blob", scopes)
        {
            Content = () => new ByteArrayContent([]),
        }, ct).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.Created)
            {
                CheckStored(response, digest, what);
                return true;
            }
            if (response.StatusCode != HttpStatusCode.Accepted) throw await FailureAsync(response, what, "mounting blob", ct).ConfigureAwait(false);
            if (response.Headers.Location is not null) session = UploadLocation(response, what);
        }
        if (session is not null)
        {
            // Best effort: a registry purges abandoned sessions anyway.
            try
            {
                using var cancel = await SendAsync(new Request(HttpMethod.Delete, session.ToString(), what, "cancelling upload", scopes) { Retry = false }, ct).ConfigureAwait(false);
            }
            catch (RegistryException)
            {
            }
        }
        return false;
    }

    async Task<BlobPushOutcome> UploadOnceAsync(string repository, Digest digest, long size, Func<Stream> open, BlobPushOptions options, string what, CancellationToken ct)
    {
        var scopes = options.MountFrom is { } from && from != repository
            ? new[] { PushScope(repository), PullScope(from) }
            : new[] { PushScope(repository) };
        var start = $"/v2/{repository}/blobs/uploads/";
        if (options.MountFrom is { } mountFrom && mountFrom != repository)
            start += $"?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(mountFrom)}";
        Uri location;
        using (var response = await SendAsync(new Request(HttpMethod.Post, start, what, "starting upload", scopes)
        {
            Content = () => new ByteArrayContent([]),
        }, ct).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.Created && options.MountFrom is not null) return BlobPushOutcome.Mounted;
            if (response.StatusCode != HttpStatusCode.Accepted) throw await FailureAsync(response, what, "starting upload", ct).ConfigureAwait(false);
            location = UploadLocation(response, what);
        }

        if (options.ChunkSize <= 0)
        {
            using var put = await SendAsync(new Request(HttpMethod.Put, WithDigest(location, digest), what, "uploading blob", scopes)
            {
                Content = () => Body(open(), size),
                Retry = false,
            }, ct).ConfigureAwait(false);
            if (put.StatusCode != HttpStatusCode.Created) throw await FailureAsync(put, what, "uploading blob", ct).ConfigureAwait(false);
            CheckStored(put, digest, what);
            return BlobPushOutcome.Uploaded;
        }

        await using (var source = open())
        {
            var buffer = new byte[options.ChunkSize];
            long offset = 0;
            while (offset < size)
            {
                int filled = 0, n;
                while (filled < buffer.Length && (n = await source.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false)) > 0) filled += n;
                if (filled == 0) throw new RegistryException($"{what}: uploading blob: the source ended after {offset} of {size} bytes");
                var chunk = buffer.AsMemory(0, filled);
                long first = offset, last = offset + filled - 1;
                using var patch = await SendAsync(new Request(HttpMethod.Patch, location.ToString(), what, "uploading blob chunk", scopes)
                {
                    Content = () =>
                    {
                        var c = new ReadOnlyMemoryContent(chunk);
                        c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                        c.Headers.ContentLength = filled;
                        // The distribution spec's form, without "bytes ": "Content-Range: <start>-<end>".
                        c.Headers.TryAddWithoutValidation("Content-Range", $"{first}-{last}");
                        return c;
                    },
                    Retry = false,
                }, ct).ConfigureAwait(false);
                if (patch.StatusCode != HttpStatusCode.Accepted) throw await FailureAsync(patch, what, "uploading blob chunk", ct).ConfigureAwait(false);
                if (patch.Headers.TryGetValues("Range", out var ranges) && ranges.FirstOrDefault() is { } range
                    && range.Split('-') is [_, var end] && long.TryParse(end, out var e) && e != last)
                    throw new RegistryException($"{what}: uploading blob chunk: the registry has bytes up to {e}, {last} were sent");
                location = UploadLocation(patch, what);
                offset += filled;
            }
            if (await source.ReadAsync(new byte[1], ct).ConfigureAwait(false) > 0)
                throw new RegistryException($"{what}: uploading blob: the source holds more than the {size} bytes announced");
        }
        using var close = await SendAsync(new Request(HttpMethod.Put, WithDigest(location, digest), what, "finishing upload", scopes)
        {
            Content = () => new ByteArrayContent([]),
            Retry = false,
        }, ct).ConfigureAwait(false);
        if (close.StatusCode != HttpStatusCode.Created) throw await FailureAsync(close, what, "finishing upload", ct).ConfigureAwait(false);
        CheckStored(close, digest, what);
        return BlobPushOutcome.Uploaded;
    }

    static HttpContent Body(Stream stream, long size)
    {
        var c = new StreamContent(stream, 1 << 20);
        c.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        c.Headers.ContentLength = size;
        return c;
    }

    /// <summary>The upload session's next URL: the Location header, relative (to the request) or absolute.</summary>
    Uri UploadLocation(HttpResponseMessage response, string what)
    {
        if (response.Headers.Location is not { } location)
            throw new RegistryException($"{what}: uploading blob: the registry's answer has no Location for the upload");
        var requestUri = response.RequestMessage?.RequestUri ?? _base!;
        var uri = location.IsAbsoluteUri ? location : new Uri(requestUri, location);
        if (uri.Scheme is not ("http" or "https")) throw new RegistryException($"{what}: uploading blob: Location {Quote.Of(location.ToString())} is not HTTP");
        if (response.Headers.TryGetValues("Docker-Upload-UUID", out var ids) && ids.FirstOrDefault() is { } id)
            Log($"upload session {id}");
        return uri;
    }

    static string WithDigest(Uri location, Digest digest)
    {
        var text = location.ToString();
        return text + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest.ToString());
    }

    static void CheckStored(HttpResponseMessage response, Digest digest, string what)
    {
        if (response.Headers.TryGetValues("Docker-Content-Digest", out var values) && values.FirstOrDefault() is { Length: > 0 } h && h.Trim() != digest.ToString())
            throw new RegistryException($"{what}: uploading blob: the registry stored {h.Trim()}, not {digest}", ErrorCodes.DigestInvalid);
    }
}
