using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// linux.intelRdt through the resctrl file system: a group named by closID (or the container
/// id) with the given schemata, joined by init. Hosts without resctrl (this VM) get a clear error.
/// </summary>
public static class ResctrlGroups
{
    const string Root = "/sys/fs/resctrl";

    public static bool Available => File.Exists(Path.Join(Root, "schemata"));

    public static void Check(Oci.Runtime.IntelRdt? rdt)
    {
        if (rdt is not null && !Available)
            throw new RuntimeException("linux.intelRdt: not supported on this host (no resctrl file system at /sys/fs/resctrl)");
    }

    /// <summary>The group's directory, and whether Berth made it (and so removes it).</summary>
    public static (string Dir, bool Created) Create(Oci.Runtime.IntelRdt rdt, string id)
    {
        var dir = Path.Join(Root, rdt.ClosId ?? id);
        bool created = Files.MkdirAt(null, dir, 0x1ed);
        var lines = new List<string>();
        if (rdt.L3CacheSchema is { } l3) lines.Add(l3);
        if (rdt.MemBwSchema is { } mb) lines.Add(mb);
        lines.AddRange(rdt.Schemata ?? new());
        try
        {
            foreach (var line in lines) CgroupFile.Write(dir, "schemata", line, "linux.intelRdt");
        }
        catch
        {
            if (created) FileSystem.DeleteDirectory(dir);
            throw;
        }
        return (dir, created);
    }

    public static void Enter(string dir, int pid) => CgroupFile.Write(dir, "tasks", pid.ToString(), "linux.intelRdt");
}
