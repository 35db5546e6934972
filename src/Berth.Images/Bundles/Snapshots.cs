using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Bundles;

/// <summary>
/// Each layer extracted once, into a directory named by its diff_id, with whiteouts kept as
/// overlayfs understands them: any number of bundles stack the same snapshots as overlay
/// lower directories. A snapshot appears only complete (extracted aside, verified, renamed).
/// </summary>
public sealed class Snapshots
{
    public string Root { get; }

    public Snapshots(string root) => Root = root;

    public static string DirName(string diffId) => diffId.Replace(':', '-');

    public string PathOf(string diffId) => Path.Combine(Root, DirName(diffId));

    public string Ensure(OciLayout layout, Descriptor layer, string diffId, long maxBytes)
    {
        var dir = PathOf(diffId);
        if (Directory.Exists(dir)) return dir;
        Directory.CreateDirectory(Root);
        var tmp = Path.Combine(Root, $".tmp-{DirName(diffId)}-{Guid.NewGuid():N}");
        try
        {
            var diff = Digest.Parse(diffId, "rootfs.diff_ids");
            using (var blob = layout.Blobs.Open(Digest.Parse(layer.Digest ?? "", "layers[].digest")))
            using (var stream = new LayerStream(blob, MediaTypes.CompressionOf(layer.MediaType)!.Value, diff, maxBytes, $"layer {layer.Digest}"))
            using (var unpacker = new LayerUnpacker(tmp, WhiteoutMode.Overlay))
            {
                unpacker.Unpack(stream, $"layer {layer.Digest}");
                stream.Verify();
            }
            try
            {
                Directory.Move(tmp, dir);
            }
            catch (IOException) when (Directory.Exists(dir))
            {
                // Another unpack made the same snapshot meanwhile: theirs is as good as ours.
                Remove(tmp);
            }
            return dir;
        }
        catch
        {
            Remove(tmp);
            throw;
        }
    }

    /// <summary>Removes snapshots not in <paramref name="live"/> and not a lower directory of a mounted overlay.</summary>
    public int Collect(IReadOnlySet<string> live)
    {
        if (!Directory.Exists(Root)) return 0;
        var mounted = File.ReadAllText("/proc/self/mountinfo");
        int n = 0;
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(dir);
            if (live.Contains(name) || mounted.Contains(dir)) continue;
            Remove(dir);
            n++;
        }
        return n;
    }

    /// <summary>Removal that never follows a symlink out of the snapshot.</summary>
    static void Remove(string dir)
    {
        if (!Directory.Exists(dir)) return;
        using var parent = Linux.Files.Open(Path.GetDirectoryName(dir)!, Linux.O.PATH | Linux.O.DIRECTORY);
        LayerUnpacker.RemoveTree(parent, Path.GetFileName(dir));
    }
}
