using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// One mounted cgroup hierarchy as this process sees it: a v1 hierarchy (its controllers, or
/// "name=systemd"), or the v2 unified one. On a hybrid host, like the dev VM, there are both.
/// </summary>
public sealed record Hierarchy(string Mountpoint, string MountRoot, bool Unified, IReadOnlyList<string> Controllers, string OwnPath)
{
    public string Name => Unified ? "unified" : string.Join(",", Controllers);

    /// <summary>Host directory of cgroup <paramref name="cgroupPath"/> (a path inside this hierarchy).</summary>
    public string DirOf(string cgroupPath)
    {
        var rel = cgroupPath;
        // A mount of a sub-tree (mountinfo root "/x") shows cgroup "/x/y" at "<mountpoint>/y".
        if (MountRoot != "/" && (rel == MountRoot || rel.StartsWith(MountRoot + "/"))) rel = rel[MountRoot.Length..];
        return Path.Join(Mountpoint, rel.TrimStart('/'));
    }

    /// <summary>
    /// Every cgroup hierarchy mounted here, paired with this process's own cgroup in it, from
    /// /proc/self/mountinfo and /proc/self/cgroup.
    /// </summary>
    public static IReadOnlyList<Hierarchy> Discover() =>
        Parse(FileSystem.ReadText("/proc/self/mountinfo"), FileSystem.ReadText("/proc/self/cgroup"));

    public static IReadOnlyList<Hierarchy> Parse(string mountinfo, string procCgroup)
    {
        // /proc/self/cgroup: "4:memory:/process_api/x", "9:name=systemd:/", "0::/".
        var own = new Dictionary<string, string>();
        foreach (var line in procCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            own[parts[1].Length == 0 ? "" : Canonical(parts[1].Split(','))] = parts[2];
        }

        var result = new List<Hierarchy>();
        var seen = new HashSet<string>();
        foreach (var m in MountInfo.Parse(mountinfo))
        {
            var fstype = m.FsType;
            if (fstype is not ("cgroup" or "cgroup2")) continue;
            var (root, mountpoint) = (m.Root, m.MountPoint);
            if (fstype == "cgroup2")
            {
                if (!own.TryGetValue("", out var path) || !seen.Add("")) continue;
                result.Add(new Hierarchy(mountpoint, root, true, Array.Empty<string>(), path));
                continue;
            }
            var controllers = m.SuperOptions.Split(',')
                .Where(o => o.StartsWith("name=") || KnownControllers.Contains(o))
                .ToArray();
            if (controllers.Length == 0) continue;
            var key = Canonical(controllers);
            if (!own.TryGetValue(key, out var ownPath) || !seen.Add(key)) continue;
            result.Add(new Hierarchy(mountpoint, root, false, controllers, ownPath));
        }
        return result;
    }

    static readonly HashSet<string> KnownControllers = new()
    {
        "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio",
        "perf_event", "hugetlb", "pids", "rdma", "misc",
    };

    static string Canonical(IEnumerable<string> controllers) => string.Join(",", controllers.Order(StringComparer.Ordinal));
}
