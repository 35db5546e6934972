using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// The sources of mounts[]' bind mounts, opened by the launcher on the host side as detached
/// mount trees (open_tree OPEN_TREE_CLONE) and handed to init as descriptors, as runc and crun
/// do: a source the container's user namespace cannot reach (a 0700 directory, another user's
/// file) still mounts, a missing one fails create naming the field before anything starts,
/// and init attaches the tree with move_mount instead of resolving a host path. A caller
/// without the privilege to clone a mount (rootless) leaves the bind to init, by path.
/// </summary>
public sealed class BindSources : IDisposable
{
    readonly List<(int Index, SafeFd Tree, bool Directory)> _trees = new();

    /// <summary>mounts[] index, the detached tree, and whether its root is a directory (the target must be one too).</summary>
    public IReadOnlyList<(int Index, SafeFd Tree, bool Directory)> Trees => _trees;

    public static BindSources Open(Spec spec, string bundle)
    {
        var b = new BindSources();
        var mounts = spec.Mounts ?? new();
        try
        {
            for (int i = 0; i < mounts.Count; i++)
            {
                var m = mounts[i];
                var opts = MountOptions.Parse(m.Options);
                if (!(opts.IsBind || m.Type == "bind")) continue;
                if (string.IsNullOrEmpty(m.Source)) throw new RuntimeException($"mounts[{i}].source: a bind mount needs a source");
                // A relative source is relative to the bundle (runc runs from there).
                var source = Path.IsPathRooted(m.Source) ? m.Source : Path.Combine(bundle, m.Source);
                try
                {
                    var tree = Mounts.CloneTree(source, recursive: (opts.Flags & MS.REC) != 0);
                    b._trees.Add((i, tree, Files.Fstat(tree).IsDirectory));
                }
                catch (LinuxException e) when (e.Errno == Errno.EPERM && Processes.EffectiveUid != 0 && Files.TryStat(null, source, follow: true, out _, out _))
                {
                    // Cloning a mount needs CAP_SYS_ADMIN over our mount namespace, which a
                    // rootless caller has only inside the container's user namespace: init binds
                    // the path there instead, as runc does rootless.
                }
                catch (LinuxException e)
                {
                    throw new RuntimeException($"mounts[{i}].source: {source}: {Errnos.Describe(e.Errno)}", e);
                }
            }
            return b;
        }
        catch
        {
            b.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var (_, tree, _) in _trees) tree.Dispose();
        _trees.Clear();
    }
}
