namespace Berth.Runtime.Cgroups;

/// <summary>Discovery: the one place that looks at what the host mounts and picks the manager for it.</summary>
public static class CgroupManagers
{
    /// <summary>
    /// A new container's cgroups, placed by runc's cgroupsPath rules (<see cref="Placement.Plan"/>);
    /// nothing is made yet. <paramref name="rootless"/> with no cgroupsPath (runc's rule): a
    /// hierarchy the caller cannot create its cgroup in is left out, and a limit that needs it
    /// fails when planned, naming the controller.
    /// </summary>
    public static ICgroupManager ForNew(string? cgroupsPath, string id, bool rootless = false)
    {
        var hierarchies = Hierarchy.Discover();
        if (rootless && string.IsNullOrEmpty(cgroupsPath))
        {
            var placement = Placement.Plan(cgroupsPath, id, hierarchies);
            var usable = placement.Dirs.Where(d => Placement.CanCreate(d.Dir)).Select(d => d.Hierarchy).ToHashSet();
            hierarchies = hierarchies.Where(usable.Contains).ToList();
        }
        return ForNew(cgroupsPath, id, hierarchies);
    }

    public static ICgroupManager ForNew(string? cgroupsPath, string id, IReadOnlyList<Hierarchy> hierarchies)
    {
        var placement = Placement.Plan(cgroupsPath, id, hierarchies);
        return For(placement.Dirs, placement);
    }

    /// <summary>The manager for directories already placed: v1 only, v2 only, or both.</summary>
    public static CgroupManager For(IReadOnlyList<(Hierarchy Hierarchy, string Dir)> placed, Placement? placement = null)
    {
        var v1 = placed.Where(p => !p.Hierarchy.Unified).ToList();
        var unified = placed.Where(p => p.Hierarchy.Unified).ToList();
        if (unified.Count == 0) return new V1Manager(v1, placement);
        if (v1.Count == 0) return new V2Manager(unified[0], placement);
        return new HybridManager(new V1Manager(v1), new V2Manager(unified[0]), placed, placement);
    }

    /// <summary>From the directories a record lists, matched to this host's hierarchies by mount point.</summary>
    public static CgroupManager FromDirs(IEnumerable<string> dirs)
    {
        var hierarchies = Hierarchy.Discover();
        var matched = new List<(Hierarchy, string)>();
        foreach (var dir in dirs)
        {
            var h = hierarchies.Where(h => dir == h.Mountpoint || dir.StartsWith(h.Mountpoint.TrimEnd('/') + "/"))
                .OrderByDescending(h => h.Mountpoint.Length).FirstOrDefault();
            if (h is not null) matched.Add((h, dir));
        }
        return For(matched);
    }

    /// <summary>
    /// An existing container's cgroups as its record names them. Placement-level work (pids,
    /// freezer, removal) uses the record directly; the first question about a controller
    /// matches the directories to this host's hierarchies.
    /// </summary>
    public static ICgroupManager Open(IReadOnlyList<string> dirs, string? freezerDir, bool freezerUnified) =>
        new RecordedCgroups(dirs, freezerDir is null ? null : Freezer.At(freezerDir, freezerUnified));
}
