using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>
/// What keeps blobs besides the store's index and live leases: the build cache's entries.
/// Garbage collection asks it under the store's exclusive lock, so an entry a writer puts in
/// place while its lease still holds the blobs is never missed.
/// </summary>
public interface IBlobRoots
{
    /// <summary>The blobs to keep. Entries whose blobs are no longer in <paramref name="store"/> are dropped here (nothing could use them) and counted in <see cref="Dropped"/>.</summary>
    IEnumerable<Digest> KeptBlobs(OciLayout store);

    /// <summary>Entries the last <see cref="KeptBlobs"/> dropped.</summary>
    int Dropped { get; }
}
