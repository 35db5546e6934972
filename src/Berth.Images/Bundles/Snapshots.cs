using System.Text;
using Berth.Linux;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Bundles;

/// <summary>
/// Each layer extracted once, into a directory named by its chain ID, with whiteouts kept as
/// overlayfs understands them: any number of bundles stack the same snapshots as overlay
/// lower directories. A snapshot appears only complete (extracted aside, verified, renamed).
/// The root is private (0700): snapshots hold the image's setuid binaries and devices.
/// </summary>
public sealed class Snapshots
{
    public string Root { get; }

    public Snapshots(string root) => Root = root;

    public static string DirName(string chainId) => chainId.Replace(':', '-');

    public string PathOf(string chainId) => Path.Combine(Root, DirName(chainId));

    /// <summary>
    /// image-spec config.md: ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
    /// Snapshots are keyed by it, not by the diff_id, as containerd keys them: a snapshot can hold
    /// files copied up from the layers below it (a hard link's target), so it depends on them.
    /// </summary>
    public static List<string> ChainIds(IReadOnlyList<string> diffIds)
    {
        var chain = new List<string>(diffIds.Count);
        foreach (var diff in diffIds)
        {
            if (chain.Count == 0)
            {
                chain.Add(diff);
                continue;
            }
            using var h = Digest.NewHash("sha256");
            h.AppendData(Encoding.UTF8.GetBytes($"{chain[^1]} {diff}"));
            chain.Add(Digest.From("sha256", h).ToString());
        }
        return chain;
    }

    /// <summary>Makes the root (0700) or closes an existing one to 0700.</summary>
    public void Prepare() =>
        PrivateDirectory.Ensure(Root, "snapshots", name => name.StartsWith("sha256-") || name.StartsWith("sha512-") || name.StartsWith(".tmp-"));

    /// <param name="lowers">The snapshots of the layers below, topmost first.</param>
    /// <param name="scratch">A private directory for the layer blob's verified copy.</param>
    public string Ensure(Transports.IImageSource source, Descriptor layer, string diffId, string chainId, IReadOnlyList<string> lowers, long maxBytes, string scratch)
    {
        var dir = PathOf(chainId);
        if (Directory.Exists(dir)) return dir;
        var tmp = Path.Combine(Root, $".tmp-{DirName(chainId)}-{Guid.NewGuid():N}");
        try
        {
            using (var stream = LayerStream.Open(source, layer, diffId, maxBytes, scratch))
            using (var unpacker = new LayerUnpacker(tmp, WhiteoutMode.Overlay, lowers))
                unpacker.Unpack(stream);
            try
            {
                Files.RenameNoReplace(tmp, dir);
            }
            catch (LinuxException e) when (e.Errno is Errno.EEXIST or Errno.ENOTEMPTY)
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

    /// <summary>
    /// Makes <paramref name="dir"/> — a build step's overlay upper directory, unmounted, whose
    /// changeset was just stored as the layer of <paramref name="chainId"/> — that layer's
    /// snapshot, by rename, as containerd's overlay snapshotter commits one: an upper directory is
    /// already in the form a lower one takes (whiteouts as 0:0 devices, opaque directories by
    /// xattr), so the step's files are written once, not written, deleted and extracted again.
    /// Returns the snapshot's path; when one exists already, it is kept and <paramref name="dir"/> left to its owner.
    /// Null when <paramref name="dir"/> is on another file system (the layer is then extracted when needed).
    /// The caller removes from <paramref name="dir"/> first what the layer leaves out (mount stubs).
    /// </summary>
    public string? Adopt(string chainId, string dir)
    {
        Prepare();
        var target = PathOf(chainId);
        if (Directory.Exists(target)) return target;
        try
        {
            Files.RenameNoReplace(dir, target);
        }
        catch (LinuxException e) when (e.Errno is Errno.EEXIST or Errno.ENOTEMPTY)
        {
            // Made meanwhile by an unpack of the same layer: the same files.
        }
        catch (LinuxException e) when (e.Errno == Errno.EXDEV)
        {
            return null;
        }
        return target;
    }

    /// <summary>Removes snapshots not in <paramref name="live"/> and not a lower directory of a mounted overlay.</summary>
    public int Collect(IReadOnlySet<string> live)
    {
        if (!Directory.Exists(Root)) return 0;
        var mounted = MountInfo.Read().SelectMany(m => m.LowerDirs).ToHashSet();
        int n = 0;
        foreach (var name in FileSystem.Directories(Root))
        {
            var dir = Path.Combine(Root, name);
            // A snapshot still being extracted (.tmp-*) belongs to another unpack.
            if (live.Contains(name) || name.StartsWith(".tmp-") || mounted.Contains(dir)) continue;
            Remove(dir);
            n++;
        }
        return n;
    }

    /// <summary>Removal that never follows a symlink out of the snapshot.</summary>
    static void Remove(string dir) => FileTree.Remove(dir);
}
