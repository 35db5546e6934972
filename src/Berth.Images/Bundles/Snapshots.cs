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
            using (var stream = LayerStream.Open(layout, layer, diffId, maxBytes))
            using (var unpacker = new LayerUnpacker(tmp, WhiteoutMode.Overlay))
                unpacker.Unpack(stream);
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
        var mounted = Linux.MountInfo.Read().SelectMany(m => m.LowerDirs).ToHashSet();
        int n = 0;
        foreach (var dir in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(dir);
            // A snapshot still being extracted (.tmp-*) belongs to another unpack.
            if (live.Contains(name) || name.StartsWith(".tmp-") || mounted.Contains(dir)) continue;
            Remove(dir);
            n++;
        }
        return n;
    }

    /// <summary>Removal that never follows a symlink out of the snapshot.</summary>
    static void Remove(string dir) => Linux.FileTree.Remove(dir);
}
