using Berth.Linux;

namespace Berth.Images.Layers;

/// <summary>
/// The lower snapshots of an overlay snapshot being made, merged as overlayfs will merge them
/// under it: one directory as it is, or a read-only overlay mounted detached — reachable only
/// through its descriptor and gone when that is closed, so nothing enters the mount table and
/// nothing can leak, even on kill -9.
/// </summary>
sealed class LowerView : IDisposable
{
    readonly SafeFd _root;
    readonly bool _single;

    LowerView(SafeFd root, bool single)
    {
        _root = root;
        _single = single;
    }

    /// <param name="lowers">Topmost first.</param>
    public static LowerView Open(IReadOnlyList<string> lowers) =>
        lowers.Count == 1 ? new(Files.Open(lowers[0], O.PATH | O.DIRECTORY), single: true) : new(OverlayMount.Detached(lowers), single: false);

    /// <summary>A path of the merged view, resolved inside it (links included, as a plain rootfs would resolve it).</summary>
    public SafeFd Find(string rel, int flags)
    {
        SafeFd fd;
        try
        {
            fd = InRoot.Open(_root, "/" + rel, flags);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            throw new ImageException($"hard link target {Quote.Of(rel)} is in no layer below");
        }
        // One directory alone shows the whiteouts that overlayfs would hide.
        var st = Files.Fstat(fd);
        if (_single && st.IsCharDevice && st.RdevMajor == 0 && st.RdevMinor == 0)
        {
            fd.Dispose();
            throw new ImageException($"hard link target {Quote.Of(rel)} is in no layer below");
        }
        return fd;
    }

    public void Dispose() => _root.Dispose();
}
