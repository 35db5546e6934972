using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// The sources of mounts[]' bind mounts, opened by the launcher on the host side as detached
/// mount trees (open_tree OPEN_TREE_CLONE) and handed to init as descriptors, as runc and crun
/// do: a source the container's user namespace cannot reach (a 0700 directory, another user's
/// file) still mounts, a missing one fails create naming the field before anything starts,
/// and init attaches the tree with move_mount instead of resolving a host path. A caller
/// without the privilege to clone a mount (rootless) leaves the bind to init, by path. An
/// idmapped mount (mounts[].uidMappings/gidMappings, the idmap and ridmap options) is made so
/// here, on the detached tree, before init sees it.
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
                var idmap = IdmapOf(m, opts, spec, i);
                try
                {
                    var tree = Mounts.CloneTree(source, recursive: (opts.Flags & MS.REC) != 0);
                    b._trees.Add((i, tree, Files.Fstat(tree).IsDirectory));
                    if (idmap is { } maps) b.Idmap(tree, maps, opts.RecursiveIdMap, i, source);
                }
                catch (LinuxException e) when (e.Errno == Errno.EPERM && idmap is null && Processes.EffectiveUid != 0 && Files.TryStat(null, source, follow: true, out _, out _))
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
        foreach (var ns in _userns.Values) ns.Dispose();
        _userns.Clear();
    }

    /// <summary>User namespaces holding an idmapped mount's mappings, one per distinct set.</summary>
    readonly Dictionary<string, SafeFd> _userns = new();

    /// <summary>
    /// The mappings an idmapped bind mount takes (runc's rules): its own uidMappings and
    /// gidMappings, or with the idmap/ridmap option alone the container's; null when the mount
    /// is not idmapped.
    /// </summary>
    static (List<IdMapping> Uids, List<IdMapping> Gids)? IdmapOf(Mount m, MountOptions opts, Spec spec, int i)
    {
        bool own = m.UidMappings is { Count: > 0 } || m.GidMappings is { Count: > 0 };
        if (!own && !opts.IdMap) return null;
        var uids = own ? m.UidMappings : spec.Linux?.UidMappings;
        var gids = own ? m.GidMappings : spec.Linux?.GidMappings;
        if (uids is not { Count: > 0 } || gids is not { Count: > 0 })
            throw new RuntimeException($"mounts[{i}]: an idmapped mount needs both uidMappings and gidMappings (its own, or the container's for the idmap option)");
        return (uids, gids);
    }

    /// <summary>The tree made idmapped, in the launcher: only a process with CAP_SYS_ADMIN over the file system's user namespace (the host's) may.</summary>
    void Idmap(SafeFd tree, (List<IdMapping> Uids, List<IdMapping> Gids) maps, bool recursive, int i, string source)
    {
        static string Lines(List<IdMapping> l) => string.Concat(l.Select(x => $"{x.ContainerId} {x.HostId} {x.Size}\n"));
        var key = Lines(maps.Uids) + "/" + Lines(maps.Gids);
        if (!_userns.TryGetValue(key, out var ns)) _userns[key] = ns = MappedUserNamespace(Lines(maps.Uids), Lines(maps.Gids), i);
        try
        {
            Mounts.SetIdmap(tree, ns, recursive, source);
        }
        catch (LinuxException e)
        {
            var why = e.Errno == Errno.EINVAL ? ": its file system does not support idmapped mounts" : "";
            throw new RuntimeException($"mounts[{i}]: idmapping {source}{why} ({Errnos.Describe(e.Errno)})", e);
        }
    }

    /// <summary>
    /// A user namespace with these maps: this binary started as a holder (native/nsenter.c,
    /// hold_user_namespace) unshares one, the launcher writes its maps and keeps a descriptor,
    /// and the holder exits when told.
    /// </summary>
    static SafeFd MappedUserNamespace(string uidMap, string gidMap, int i)
    {
        var (ours, theirs) = Sockets.UnixStreamPair();
        int pid;
        using (theirs)
            pid = Processes.Spawn("/proc/self/exe", new[] { "berth" }, new[] { "_BERTH_USERNS_HOLDER=3" }, new[] { new ChildFd(theirs, 3) });
        try
        {
            var one = new byte[1];
            if (Files.Read(ours, one) != 1 || one[0] != (byte)'1')
                throw new RuntimeException($"mounts[{i}]: could not make a user namespace for the idmapped mount");
            Files.WriteFile($"/proc/{pid}/uid_map", uidMap);
            Files.WriteFile($"/proc/{pid}/gid_map", gidMap);
            return Files.Open($"/proc/{pid}/ns/user", O.RDONLY);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"mounts[{i}]: the idmapped mount's mappings: {Errnos.Describe(e.Errno)}", e);
        }
        finally
        {
            ours.Dispose();
            Processes.Wait(pid);
        }
    }
}
