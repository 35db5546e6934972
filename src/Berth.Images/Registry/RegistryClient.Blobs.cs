using System.Net;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Registry;

public sealed partial class RegistryClient
{
    static string BlobPath(string repository, Digest digest) => $"/v2/{repository}/blobs/{digest}";

    /// <summary>HEAD a blob: its size when the registry has it, null when not.</summary>
    public async Task<long?> HeadBlobAsync(string repository, Digest digest, CancellationToken ct = default)
    {
        var what = $"{Registry}/{repository}@{digest}";
        using var response = await SendAsync(new Request(HttpMethod.Head, BlobPath(repository, digest), what, "checking blob", PullScope(repository)), ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (!response.IsSuccessStatusCode) throw await FailureAsync(response, what, "checking blob", ct).ConfigureAwait(false);
        return response.Content.Headers.ContentLength ?? -1;
    }

    /// <summary>
    /// A blob to read once, verified as it flows (see <see cref="BlobStream"/>). It holds one of the
    /// registry's transfer slots until disposed, so callers may start as many as they like.
    /// </summary>
    /// <param name="size">The descriptor's size, or -1 when not known (the registry's Content-Length then bounds it).</param>
    public async Task<BlobStream> OpenBlobAsync(string repository, Digest digest, long size, CancellationToken ct = default)
    {
        await _transfers.WaitAsync(ct).ConfigureAwait(false);
        var stream = new BlobStream(this, repository, digest, size, $"{Registry}/{repository}@{digest}", _transfers);
        try
        {
            await stream.OpenAsync(ct).ConfigureAwait(false);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A small blob (a config) whole, verified, at most <paramref name="max"/> bytes.</summary>
    public async Task<byte[]> GetBlobBytesAsync(string repository, Descriptor descriptor, long max = 16 << 20, CancellationToken ct = default)
    {
        var digest = Digest.Parse(descriptor.Digest ?? "", "digest");
        long size = descriptor.Size ?? -1;
        if (size > max) throw new RegistryException($"{Registry}/{repository}@{digest}: {size} bytes, more than the {max} read into memory");
        await using var blob = await OpenBlobAsync(repository, digest, size, ct).ConfigureAwait(false);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await blob.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > max) throw new RegistryException($"{Registry}/{repository}@{digest}: more than the {max} bytes read into memory");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Downloads a blob to <paramref name="path"/> the content-addressed way: into a temporary file
    /// beside it, synced, verified, then renamed into place (a blob already there is kept: it is
    /// the same bytes). On any failure nothing is left at <paramref name="path"/> nor beside it.
    /// </summary>
    public async Task DownloadBlobAsync(string repository, Digest digest, long size, string path, CancellationToken ct = default)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        FileSystem.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(path)}.partial-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            await using (var blob = await OpenBlobAsync(repository, digest, size, ct).ConfigureAwait(false))
            using (var file = new FdStream(FileSystem.CreateNew(tmp, 0x1a4 /* 0644 */), tmp, read: false, write: true))
            {
                var buffer = new byte[1 << 20];
                int n;
                // The disk write is synchronous: a local file, and the network read is what waits.
                while ((n = await blob.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0) file.Write(buffer, 0, n);
                if (!blob.Verified) throw new RegistryException($"{Registry}/{repository}@{digest}: the blob was not verified");
                file.Sync();
            }
            try
            {
                Files.RenameNoReplace(tmp, path);
            }
            catch (LinuxException e) when (e.Errno == Errno.EEXIST)
            {
                // Another writer's copy: the same bytes, by digest.
            }
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
    }
}
