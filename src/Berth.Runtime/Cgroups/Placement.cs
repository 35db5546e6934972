using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// Where a container's processes go: one directory per hierarchy (every v1 controller, named
/// hierarchies such as name=systemd, and unified). Placement only; resource limits are a
/// driver's job.
/// </summary>
public sealed class Placement
{
    /// <summary>The container's cgroup directory in each hierarchy.</summary>
    public IReadOnlyList<(Hierarchy Hierarchy, string Dir)> Dirs { get; }

    /// <summary>Directories that do not exist yet, parents before children.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>The missing directories in a v1 cpuset hierarchy, which start with empty cpus and mems.</summary>
    readonly HashSet<string> _v1Cpusets;

    Placement(List<(Hierarchy, string)> dirs, List<string> missing, HashSet<string> v1Cpusets)
    {
        Dirs = dirs;
        Missing = missing;
        _v1Cpusets = v1Cpusets;
    }

    /// <summary>
    /// runc's rule: an absolute cgroupsPath is taken from each hierarchy's root; an empty one
    /// means "&lt;id&gt;" and, like a relative one, is taken from the runtime's own cgroup,
    /// never above it (".." is resolved lexically and cannot climb out).
    /// </summary>
    public static Placement Plan(string? cgroupsPath, string id, IReadOnlyList<Hierarchy> hierarchies)
    {
        var requested = string.IsNullOrEmpty(cgroupsPath) ? id : cgroupsPath;
        bool absolute = requested.StartsWith('/');
        var inner = Clean(requested);
        if (inner.Length == 0 && absolute)
            throw new RuntimeException($"linux.cgroupsPath: \"{cgroupsPath}\" is the cgroup root, which a container cannot own");
        if (inner.Length == 0)
            throw new RuntimeException($"linux.cgroupsPath: \"{cgroupsPath}\" resolves to the runtime's own cgroup");

        var dirs = new List<(Hierarchy, string)>();
        var missing = new List<string>();
        var v1Cpusets = new HashSet<string>();
        foreach (var h in hierarchies)
        {
            var cgroup = absolute ? "/" + inner : Join(h.OwnPath, inner);
            var dir = h.DirOf(cgroup);
            dirs.Add((h, dir));
            // Walk down from the hierarchy's mount point; record each level that is not there yet.
            var probe = h.Mountpoint;
            bool absent = false;
            foreach (var part in Path.GetRelativePath(h.Mountpoint, dir).Split('/'))
            {
                probe = Path.Join(probe, part);
                absent = absent || !Directory.Exists(probe);
                if (!absent) continue;
                missing.Add(probe);
                if (!h.Unified && h.Controllers.Contains("cpuset")) v1Cpusets.Add(probe);
            }
        }
        return new Placement(dirs, missing, v1Cpusets);
    }

    /// <summary>
    /// Makes the missing directories; a new v1 cpuset cgroup gets its parent's cpus and mems, or
    /// no task could join it (v2 inherits by itself; copying there would pin the child).
    /// </summary>
    public void Create()
    {
        foreach (var dir in Missing)
        {
            try
            {
                Files.MkdirAt(null, dir, 0x1ed /* 0755 */);
            }
            catch (LinuxException e)
            {
                throw new RuntimeException($"cgroup: creating {dir}: {Errnos.Describe(e.Errno)}", e);
            }
            if (_v1Cpusets.Contains(dir)) InheritCpuset(dir);
        }
    }

    static void InheritCpuset(string dir)
    {
        foreach (var file in new[] { "cpuset.cpus", "cpuset.mems" })
        {
            var path = Path.Join(dir, file);
            if (FileSystem.ReadText(path).Trim().Length > 0) continue;
            var parent = FileSystem.ReadText(Path.Join(Path.GetDirectoryName(dir)!, file)).Trim();
            Files.WriteFile(path, parent);
        }
    }

    /// <summary>Whether this process could make <paramref name="dir"/> (or join it, if it exists): write and search on its nearest existing ancestor.</summary>
    public static bool CanCreate(string dir)
    {
        var d = dir;
        while (!Directory.Exists(d) && Path.GetDirectoryName(d) is { } parent) d = parent;
        return d == dir ? Files.Access(Path.Join(dir, "cgroup.procs"), 2 /* W_OK */) : Files.Access(d, 3 /* W_OK | X_OK */);
    }

    /// <summary>Pids in the cgroup (one hierarchy is enough: every process is in all of them).</summary>
    public static IReadOnlyList<int> Procs(IReadOnlyList<string> dirs)
    {
        foreach (var dir in dirs)
        {
            string text;
            try { text = FileSystem.ReadText(Path.Join(dir, "cgroup.procs")); }
            catch (LinuxException) { continue; }
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        }
        return Array.Empty<int>();
    }

    /// <summary>
    /// Removes the directories Berth made, deepest first. A leaf may stay busy for a moment
    /// after its last process died (exit is not instant), so it is retried; a parent that
    /// another container still uses is left alone.
    /// </summary>
    public static void Remove(IReadOnlyList<string> createdDeepestFirst, IReadOnlyCollection<string> leaves)
    {
        foreach (var dir in createdDeepestFirst)
        {
            var deadline = Environment.TickCount64 + (leaves.Contains(dir) ? 5000 : 0);
            while (true)
            {
                try
                {
                    Files.UnlinkAt(null, dir, directory: true);
                    break;
                }
                catch (LinuxException e) when (e.Errno is Errno.EBUSY or Errno.ENOTEMPTY)
                {
                    if (Environment.TickCount64 >= deadline)
                    {
                        if (leaves.Contains(dir)) throw new RuntimeException($"cgroup: removing {dir}: {Errnos.Describe(e.Errno)}", e);
                        break;
                    }
                    Thread.Sleep(10);
                }
            }
        }
    }

    /// <summary>Lexical clean of a cgroup path: no leading or trailing slash, "." and ".." resolved, never above the start.</summary>
    public static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (var p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..")
            {
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    static string Join(string own, string inner) => own.TrimEnd('/') + "/" + inner;
}
