using Berth.Images.Registry;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// An image in a registry to read: the manifest the reference names, fetched when opened from
/// the first place that has it (a short name's candidates in order, and for each the mirrors
/// registries.conf lists before the registry), and every later manifest and blob from that same
/// place. Manifests are the exact bytes served (checked against the digest asked for and
/// Docker-Content-Digest); blobs are <see cref="BlobStream"/>s, proved by their end and resumed
/// with Range when a connection breaks, which the store takes without hashing them again.
/// </summary>
public sealed class DockerSource : IImageSource, INetworkBlobs
{
    readonly RegistryClient _client;
    readonly RawManifest _top;

    /// <summary>Where the image was found: a candidate of a short name, maybe on a mirror.</summary>
    public Reference From { get; }

    /// <summary>The reference as resolved (what a pull names the image in the store), not the mirror it came from.</summary>
    public DockerReference Resolved { get; }

    public RegistryClient Client => _client;
    public string Repository => From.Repository;

    DockerSource(DockerReference resolved, Reference from, RegistryClient client, ManifestResponse top)
    {
        Resolved = resolved;
        From = from;
        _client = client;
        _top = new RawManifest(top.Bytes, top.MediaType, top.Digest);
    }

    public static DockerSource Open(DockerReference reference)
    {
        var pool = reference.Settings.Pool;
        var candidates = reference.Candidates();
        RegistryException? last = null;
        var tried = new List<string>();
        foreach (var candidate in candidates)
        {
            try
            {
                var (client, from, manifest) = Sync.Wait(pool.FromFirstSourceAsync(candidate, async (c, r) =>
                    (c, r, await c.GetManifestAsync(r.Repository, r.Identifier).ConfigureAwait(false))));
                return new DockerSource(reference.IsShortName ? reference.WithReference(candidate) : reference, from, client, manifest);
            }
            catch (RegistryException e) when (candidates.Count > 1)
            {
                // podman's order: every candidate is tried, and all their errors are the answer if none has it.
                last = e;
                tried.Add(e.Message);
            }
        }
        throw new RegistryException($"short name {Quote.Of(reference.Text)}: no candidate has it: {string.Join("; ", tried)}", last?.Code, last?.Status, last);
    }

    public ImageReference Reference => Resolved;

    public Descriptor? Entry => null;

    public int ParallelBlobs => _client.Options.MaxConcurrentTransfers;

    public RawManifest GetManifest(Digest? instance = null)
    {
        if (instance is not { } d) return _top;
        var m = Sync.Wait(_client.GetManifestAsync(Repository, d.ToString()));
        return new RawManifest(m.Bytes, m.MediaType, m.Digest);
    }

    public Stream GetBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        return Sync.Wait(_client.OpenBlobAsync(Repository, d, size));
    }

    public bool HasBlob(Descriptor blob) =>
        Sync.Wait(_client.HeadBlobAsync(Repository, Digest.Parse(blob.Digest ?? "", "descriptor.digest"))) is not null;

    /// <summary>The repository's tags, page by page (skopeo list-tags).</summary>
    public IReadOnlyList<string> Tags() => Sync.Wait(_client.ListTagsAsync(Repository));

    public void Dispose() { }
}
