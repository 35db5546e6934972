namespace Berth.Clients.Tests;

/// <summary>A container process's cgroups seen from the host: v1 controller hierarchies, else the unified one.</summary>
public static class HostCgroup
{
    /// <summary>The host directory of <paramref name="pid"/>'s cgroup for a v1 controller, or its cgroup2 directory.</summary>
    public static string? Dir(int pid, string controller)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).Where(p => p.Length == 3).ToList();
        var mounts = File.ReadAllLines("/proc/self/mountinfo").Select(l => l.Split(" - ")).Where(p => p.Length == 2).ToList();
        var v1 = lines.FirstOrDefault(p => p[1].Split(',').Contains(controller));
        if (v1 is not null)
        {
            var m = mounts.FirstOrDefault(p => p[1].StartsWith("cgroup ", StringComparison.Ordinal) && p[1].Split(' ')[2].Split(',').Contains(controller));
            return m is null ? null : Path.Join(m[0].Split(' ')[4], v1[2]);
        }
        var v2 = lines.FirstOrDefault(p => p[0] == "0");
        var u = mounts.FirstOrDefault(p => p[1].StartsWith("cgroup2 ", StringComparison.Ordinal));
        return v2 is null || u is null ? null : Path.Join(u[0].Split(' ')[4], v2[2]);
    }

    static string? Read(string? dir, string file)
    {
        if (dir is null) return null;
        try { return File.ReadAllText(Path.Combine(dir, file)).Trim(); } catch (IOException) { return null; }
    }

    public static long? MemoryLimit(int pid)
    {
        var dir = Dir(pid, "memory");
        var v = Read(dir, "memory.limit_in_bytes") ?? Read(dir, "memory.max");
        return long.TryParse(v, out var n) ? n : null;
    }

    /// <summary>True when frozen (v1 freezer.state FROZEN, v2 cgroup.freeze 1), false when thawed, null when unknown.</summary>
    public static bool? Frozen(int pid)
    {
        var dir = Dir(pid, "freezer");
        if (Read(dir, "freezer.state") is { } state) return state == "FROZEN" ? true : state == "THAWED" ? false : null;
        return Read(dir, "cgroup.freeze") switch { "1" => true, "0" => false, _ => null };
    }

    public static string Describe(int pid, string controller)
    {
        var dir = Dir(pid, controller);
        return $"{dir ?? "(no cgroup)"}: freezer.state={Read(dir, "freezer.state") ?? "-"} cgroup.freeze={Read(dir, "cgroup.freeze") ?? "-"}";
    }
}
