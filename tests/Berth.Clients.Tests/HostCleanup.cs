using System.Runtime.InteropServices;
using System.Text;

namespace Berth.Clients.Tests;

/// <summary>
/// Finding and removing what an engine left on the host — only things named by the fixture's own unique
/// directory, cgroup name or user, never anything found by a program's name. Each method says what it
/// removed, so a fixture can fail when an engine (or the runtime under it) leaked.
/// </summary>
public static class HostCleanup
{
    /// <summary>Mount points at or under <paramref name="dir"/> in this mount namespace, deepest first.</summary>
    public static List<string> MountsUnder(string dir)
    {
        var prefix = dir.TrimEnd('/') + "/";
        var list = new List<string>();
        foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 5) continue;
            var point = Unescape(fields[4]);
            if (point == dir.TrimEnd('/') || point.StartsWith(prefix, StringComparison.Ordinal)) list.Add(point);
        }
        return list.Distinct().OrderByDescending(p => p.Length).ToList();
    }

    static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length && s[(i + 1)..(i + 4)].All(char.IsAsciiDigit))
            {
                sb.Append((char)Convert.ToInt32(s[(i + 1)..(i + 4)], 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "umount2")]
    static extern int Umount2(string target, int flags);

    const int MNT_DETACH = 2;

    /// <summary>Lazily unmounts every mount under <paramref name="dir"/>; returns what it unmounted.</summary>
    public static List<string> UnmountAll(string dir)
    {
        var done = new List<string>();
        for (var round = 0; round < 5; round++)
        {
            var mounts = MountsUnder(dir);
            if (mounts.Count == 0) break;
            foreach (var m in mounts)
                if (Umount2(m, MNT_DETACH) == 0) done.Add(m);
        }
        return done;
    }

    /// <summary>(mount point, type) of every cgroup and cgroup2 hierarchy.</summary>
    static IEnumerable<string> CgroupMounts() =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(l => l.Split(" - "))
            .Where(p => p.Length == 2 && p[1].Split(' ')[0] is "cgroup" or "cgroup2")
            .Select(p => Unescape(p[0].Split(' ')[4]))
            .Distinct();

    /// <summary>The test process's own cgroup path in each hierarchy (what a relative cgroupsPath is taken against).</summary>
    static IEnumerable<string> OwnCgroupPaths() =>
        File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).Where(p => p.Length == 3).Select(p => p[2]).Distinct();

    /// <summary>
    /// Every existing cgroup directory called <paramref name="name"/> directly under a hierarchy's root or under this
    /// process's own cgroup in any hierarchy: where a runtime may put a relative cgroupsPath. The name is unique
    /// to one fixture, so nothing else can match.
    /// </summary>
    public static List<string> CgroupDirsNamed(string name)
    {
        var found = new List<string>();
        foreach (var mount in CgroupMounts())
            foreach (var own in OwnCgroupPaths().Append("/"))
            {
                var dir = Path.Join(mount, own.TrimStart('/'), name);
                if (Directory.Exists(dir) && !found.Contains(dir)) found.Add(dir);
            }
        return found;
    }

    /// <summary>
    /// Removes a cgroup tree, children first: thaws a frozen freezer, kills the processes left in it, rmdirs.
    /// Returns what it removed and the processes it had to kill.
    /// </summary>
    public static List<string> RemoveCgroupTree(string dir)
    {
        var removed = new List<string>();
        if (!Directory.Exists(dir)) return removed;
        foreach (var child in Directory.GetDirectories(dir)) removed.AddRange(RemoveCgroupTree(child));
        var state = Path.Combine(dir, "freezer.state");
        if (File.Exists(state) && File.ReadAllText(state).Trim() != "THAWED") TryWrite(state, "THAWED");
        var freeze = Path.Combine(dir, "cgroup.freeze");
        if (File.Exists(freeze) && File.ReadAllText(freeze).Trim() == "1") TryWrite(freeze, "0");
        var ok = Tool.WaitUntil(() =>
        {
            foreach (var pid in Pids(dir))
            {
                removed.Add($"killed pid {pid} left in {dir}");
                Tool.Signal(pid, Tool.SIGKILL);
            }
            try { Directory.Delete(dir); return true; }
            catch (IOException) { return false; }
        }, TimeSpan.FromSeconds(10));
        removed.Add(ok ? $"cgroup {dir}" : $"cgroup {dir} (could not be removed)");
        return removed;
    }

    static IEnumerable<int> Pids(string cgroup)
    {
        var procs = Path.Combine(cgroup, "cgroup.procs");
        if (!File.Exists(procs)) return [];
        try { return File.ReadAllLines(procs).Where(l => l.Length > 0).Select(int.Parse).ToList(); }
        catch (IOException) { return []; }
    }

    static void TryWrite(string path, string value)
    {
        try { File.WriteAllText(path, value); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Processes (not this one) whose command line contains <paramref name="text"/>: a fixture's unique directory.</summary>
    public static List<int> ProcessesMentioning(string text)
    {
        var self = Environment.ProcessId;
        var list = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid) || pid == self) continue;
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal) && Tool.Alive(pid)) list.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return list;
    }

    /// <summary>Processes whose real uid is <paramref name="uid"/> (a user the fixture created).</summary>
    public static List<int> ProcessesOf(int uid)
    {
        var list = new List<int>();
        foreach (var d in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out var pid)) continue;
            try
            {
                var line = File.ReadLines(Path.Combine(d, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                if (line is not null && int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]) == uid && Tool.Alive(pid)) list.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return list;
    }

    /// <summary>SIGKILLs each pid and waits (bounded) for it to go; returns a line per process killed.</summary>
    public static List<string> Kill(IEnumerable<int> pids)
    {
        var lines = new List<string>();
        foreach (var pid in pids)
        {
            string cmd;
            try { cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim(); } catch (IOException) { continue; }
            Tool.Signal(pid, Tool.SIGKILL);
            Tool.WaitUntil(() => !Tool.Alive(pid), TimeSpan.FromSeconds(5));
            lines.Add($"killed pid {pid}: {(cmd.Length > 160 ? cmd[..160] + "…" : cmd)}");
        }
        return lines;
    }

    /// <summary>
    /// Host directories some engine creates at a fixed path whatever its roots (/run/containerd/s for shim sockets,
    /// /run/docker/plugins): remembered before the fixture, removed after it when the fixture made them and they are empty.
    /// </summary>
    public sealed class FixedPaths
    {
        readonly List<string> _absent;

        public FixedPaths(params string[] paths) => _absent = paths.Where(p => !Directory.Exists(p)).ToList();

        public List<string> RemoveCreated()
        {
            var removed = new List<string>();
            foreach (var p in _absent.OrderByDescending(p => p.Length))
                if (Directory.Exists(p) && !Directory.EnumerateFileSystemEntries(p).Any())
                {
                    try { Directory.Delete(p); removed.Add(p); } catch (IOException) { }
                }
            return removed;
        }
    }
}
