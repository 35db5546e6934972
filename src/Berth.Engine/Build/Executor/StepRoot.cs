using Berth.Images;
using Berth.Images.Bundles;
using Berth.Images.Layers;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci;
using Berth.Oci.Image;

namespace Berth.Engine.Build.Executor;

/// <summary>The store's blobs by digest, for snapshots of layers no image names yet (a build's own).</summary>
sealed class StoreBlobs(ImageService images) : IImageSource, IPrivateBlobs
{
    public ImageReference Reference => images.StoreTransport.Parse("localhost/build");
    public RawManifest GetManifest(Digest? instance = null) => throw new NotSupportedException("a build's blobs have no manifest");
    public Stream GetBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        return new VerifyingStream(images.Store.Blobs.Open(d), d, size);
    }
    public bool HasBlob(Descriptor blob) => images.Store.Blobs.Has(Digest.Parse(blob.Digest ?? "", "descriptor.digest"));
    public Stream? OpenPrivateBlob(Descriptor blob) => images.Store.Blobs.OpenPrivate(Digest.Parse(blob.Digest ?? "", "descriptor.digest"));
    public Descriptor? Entry => null;
    public void Dispose() { }
}

/// <summary>
/// A step's root: an overlay of the image's layer snapshots with an upper directory of the
/// step's own, in a directory under the engine store's build/ that goes (unmounted, removed)
/// with it. The upper directory is the step's diff, what becomes its layer.
/// </summary>
public sealed class StepRoot : IDisposable
{
    public string Dir { get; }
    public string Rootfs => Path.Combine(Dir, "rootfs");
    public string Upper => Path.Combine(Dir, "upper");
    readonly List<string> _mounts = new();
    ImageService? _images;
    ImageState? _image;

    StepRoot(string dir) => Dir = dir;

    /// <summary>The snapshots of <paramref name="layers"/> (made when absent), topmost first.</summary>
    public static List<string> Lowers(ImageService images, ImageState image)
    {
        var snapshots = new Snapshots(images.SnapshotsRoot);
        snapshots.Prepare();
        var chain = Snapshots.ChainIds(image.DiffIds);
        var lowers = new List<string>();
        using var source = new StoreBlobs(images);
        for (int i = 0; i < image.Layers.Count; i++)
            lowers.Insert(0, snapshots.Ensure(source, image.Layers[i], image.DiffIds[i], chain[i], lowers.ToArray(), LayerStream.DefaultMaxBytes, images.Store.Root));
        return lowers;
    }

    public static StepRoot Mount(ImageService images, string buildDir, ImageState image)
    {
        var root = new StepRoot(Path.Combine(buildDir, Guid.NewGuid().ToString("N")[..12])) { _images = images, _image = image };
        try
        {
            FileSystem.CreateDirectory(root.Dir, 0x1c0);
            foreach (var d in new[] { "upper", "work", "rootfs" }) FileSystem.CreateDirectory(Path.Combine(root.Dir, d));
            // Shared hold of the store's lock until mounted: gc cannot take a snapshot in between.
            using (images.Store.Lock(exclusive: false))
            {
                var lowers = Lowers(images, image);
                if (lowers.Count == 0)
                {
                    FileSystem.CreateDirectory(Path.Combine(root.Dir, "empty"));
                    lowers.Add(Path.Combine(root.Dir, "empty"));
                }
                OverlayMount.Mount(root.Rootfs, lowers, root.Upper, Path.Combine(root.Dir, "work"));
                root._mounts.Add(root.Rootfs);
            }
            return root;
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>A mount of this step's to undo when it goes (innermost last added).</summary>
    public void Track(string mountPoint) => _mounts.Add(mountPoint);

    /// <summary>
    /// The upper directory as a changeset (Changeset.Write: whiteouts, opaque dirs, hard links),
    /// stored gzip-compressed once, straight into the build's destination; null when the step
    /// changed nothing (no layer then, as buildkit omits an empty one).
    /// </summary>
    public (Descriptor Layer, string DiffId)? WriteLayer(IImageDestination dst, Func<string, FileStat, bool>? skip, BuildTimestamp? timestamp)
    {
        var scratch = Path.Combine(Dir, "layer.tar");
        using var tar = new FdStream(FileSystem.CreateNew(scratch, read: true), scratch, read: true, write: true);
        Changeset.Write(Upper, tar, skip, timestamp);
        if (tar.Length <= 1024) return null;
        tar.Seek(0, SeekOrigin.Begin);
        using var hashing = new HashingStream(tar, "sha256", leaveOpen: true);
        using var gzip = new GzipCompressingStream(hashing, reproducible: timestamp is not null);
        var layer = dst.PutBlob(gzip, new Descriptor { MediaType = MediaTypes.LayerGzip });
        var diffId = hashing.Digest.ToString();
        // The upper directory becomes the layer's snapshot (containerd's overlay commit): the next
        // step's lower without extracting the layer again. Only when it is the layer file for file:
        // nothing skipped (RUN's mount stubs) and no mtime clamped (--timestamp).
        if (skip is null && timestamp is null && _images is not null && _image is not null)
        {
            Unmount();
            new Snapshots(_images.SnapshotsRoot).Adopt(Snapshots.ChainIds(_image.DiffIds.Append(diffId).ToList())[^1], Upper);
        }
        return (layer, diffId);
    }

    void Unmount()
    {
        for (int i = _mounts.Count - 1; i >= 0; i--)
        {
            try { Mounts.Unmount(_mounts[i], Mounts.UMOUNT_NOFOLLOW | Mounts.MNT_DETACH); }
            catch (LinuxException e) when (e.Errno is Errno.EINVAL or Errno.ENOENT) { }
        }
        _mounts.Clear();
    }

    public void Dispose()
    {
        Unmount();
        if (Files.TryStat(null, Dir, false, out _, out _)) FileTree.Remove(Dir);
    }
}
