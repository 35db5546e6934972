using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;

namespace Berth.Images.Referrers;

/// <summary>
/// Artifacts attached to images in the store. Each is an untagged entry of index.json (as ORAS's
/// and containerd's layouts keep referrers) whose annotation <see cref="SubjectAnnotation"/> names
/// its subject's digest and whose artifactType is the manifest's: listing the referrers of a
/// digest reads index.json only. gc keeps such an entry while its subject is kept and drops it
/// (with its blobs) when the subject goes (<see cref="ImageService.CollectGarbage"/>).
/// </summary>
public static class StoreReferrers
{
    public const string SubjectAnnotation = "io.berth.referrer.subject";

    public static bool IsReferrer(Descriptor entry) => entry.Annotations?.ContainsKey(SubjectAnnotation) == true;

    public static string? SubjectOf(Descriptor entry) => entry.Annotations?.GetValueOrDefault(SubjectAnnotation);

    /// <summary>
    /// Stores <paramref name="artifact"/> (its document <paramref name="document"/>) and lists it
    /// as a referrer of its subject, which must be in the store. The blobs are leased until the
    /// entry is in, so a concurrent gc keeps them; attaching it again changes nothing.
    /// </summary>
    public static Descriptor Attach(OciLayout store, ArtifactManifest artifact, byte[] document)
    {
        var subject = artifact.Manifest.ParseManifest("artifact").Subject!;
        var subjectDigest = Digest.Parse(subject.Digest ?? "", "subject.digest");
        using var lease = BlobLease.Take(store);
        store.Blobs.Write(new MemoryStream(ArtifactManifest.EmptyConfig), MediaTypes.Empty, Digest.Parse(artifact.Config.Digest!), artifact.Config.Size, lease.Id, lease.Claim);
        store.Blobs.Write(new MemoryStream(document), artifact.Layer.MediaType!, Digest.Parse(artifact.Layer.Digest!), artifact.Layer.Size, lease.Id, lease.Claim);
        var m = artifact.Manifest;
        store.Blobs.Write(new MemoryStream(m.Bytes), m.MediaType, m.Digest, m.Bytes.Length, lease.Id, lease.Claim);
        var entry = m.Descriptor;
        entry.ArtifactType = artifact.Layer.MediaType;
        entry.Annotations = new Dictionary<string, string> { [SubjectAnnotation] = subjectDigest.ToString() };
        using var lockFd = store.Lock();
        // Under the lock, so gc cannot take the subject between this look and the entry going in.
        if (!store.Blobs.Has(subjectDigest) || !Live(store).Contains(subjectDigest.ToString()))
            throw new ImageException($"{subjectDigest}: the subject is not an image in the store; nothing was attached");
        store.Update(index =>
        {
            if (index.Manifests!.All(d => d.Digest != entry.Digest)) index.Manifests!.Add(entry);
            return 0;
        }, lockHeld: true);
        return entry;
    }

    /// <summary>The artifacts whose subject is <paramref name="subject"/>, of <paramref name="artifactType"/> when given, in the order they were attached.</summary>
    public static List<Descriptor> List(OciLayout store, string subject, string? artifactType = null) =>
        (store.ReadIndex().Manifests ?? new()).Where(d => SubjectOf(d) == subject && (artifactType is null || d.ArtifactType == artifactType))
            .Select(d => new Descriptor { MediaType = d.MediaType, Digest = d.Digest, Size = d.Size, ArtifactType = d.ArtifactType }).ToList();

    /// <summary>
    /// What gc keeps, with the store's lock held: every blob of each tagged image, then of each
    /// referrer whose subject is kept (repeated, so an artifact about an artifact — a signature
    /// of an SBOM — stays with it). Referrers whose subject is gone are returned to be dropped.
    /// </summary>
    public static (HashSet<string> Live, List<Descriptor> Orphans) Walk(OciLayout store, IEnumerable<Descriptor> entries, Action<Descriptor>? visit = null)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        var pending = new List<Descriptor>();
        void Keep(Descriptor top)
        {
            foreach (var d in ResolvedImage.Closure(store, top))
            {
                live.Add(d.Digest!);
                visit?.Invoke(d);
            }
        }
        foreach (var e in entries)
            if (IsReferrer(e)) pending.Add(e);
            else Keep(e);
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var e in pending.ToList())
                if (live.Contains(SubjectOf(e)!))
                {
                    Keep(e);
                    pending.Remove(e);
                    changed = true;
                }
        }
        return (live, pending);
    }

    static HashSet<string> Live(OciLayout store) => Walk(store, store.ReadIndex().Manifests ?? new()).Live;
}
