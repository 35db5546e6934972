using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// A container's cgroup directories with the hierarchy each one is in, and which directory
/// serves each controller: the v1 hierarchy that has it, else the unified one if the
/// controller is enabled there. One view for v1, v2 and hybrid hosts.
/// </summary>
public sealed class CgroupSet
{
    readonly List<(Hierarchy Hierarchy, string Dir)> _dirs;
    readonly HashSet<string> _unifiedControllers;

    public CgroupSet(IEnumerable<(Hierarchy, string)> dirs)
    {
        _dirs = dirs.ToList();
        _unifiedControllers = new();
        if (Unified is { } u)
        {
            // The directory may not exist yet (planned): its controllers are those its parent delegates.
            var file = Directory.Exists(u) ? Path.Join(u, "cgroup.controllers") : Path.Join(NearestExisting(u), "cgroup.subtree_control");
            try { _unifiedControllers.UnionWith(File.ReadAllText(file).Split(' ', '\n', StringSplitOptions.RemoveEmptyEntries)); }
            catch (IOException) { }
        }
    }

    /// <summary>From the directories a record lists, matched to this host's hierarchies by mount point.</summary>
    public static CgroupSet FromDirs(IEnumerable<string> dirs)
    {
        var hierarchies = Hierarchy.Discover();
        var matched = new List<(Hierarchy, string)>();
        foreach (var dir in dirs)
        {
            var h = hierarchies.Where(h => dir == h.Mountpoint || dir.StartsWith(h.Mountpoint.TrimEnd('/') + "/"))
                .OrderByDescending(h => h.Mountpoint.Length).FirstOrDefault();
            if (h is not null) matched.Add((h, dir));
        }
        return new CgroupSet(matched);
    }

    static string NearestExisting(string dir)
    {
        var d = Path.GetDirectoryName(dir);
        while (d is not null && !Directory.Exists(d)) d = Path.GetDirectoryName(d);
        return d ?? "/";
    }

    public IReadOnlyList<string> Dirs => _dirs.Select(d => d.Dir).ToList();

    public string? Unified => _dirs.FirstOrDefault(d => d.Hierarchy.Unified).Dir;

    /// <summary>Where <paramref name="controller"/> is, and whether that is a v2 directory; null if this host offers it nowhere.</summary>
    public (string Dir, bool V2)? For(string controller)
    {
        foreach (var (h, dir) in _dirs)
            if (!h.Unified && h.Controllers.Contains(controller)) return (dir, false);
        if (Unified is { } u && _unifiedControllers.Contains(controller)) return (u, true);
        return null;
    }

    /// <summary>The freezer: v1's freezer controller, else cgroup.freeze of the unified directory.</summary>
    public (string Dir, bool V2)? Freezer => For("freezer") ?? (Unified is { } u && u != "" ? (u, true) : null);
}
