using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>pause/resume: v1's freezer.state, or v2's cgroup.freeze, waiting until the kernel says it is done.</summary>
public static class Freezer
{
    public static void Set(string? dir, bool v2, bool frozen)
    {
        if (dir is null) throw new RuntimeException("this host has no freezer (cgroup v1 freezer or cgroup v2)");
        var f = (Dir: dir, V2: v2);
        var deadline = Environment.TickCount64 + 10_000;
        if (f.V2)
        {
            ResourceWriter.WriteFile(f.Dir, "cgroup.freeze", frozen ? "1" : "0", "freezer");
            var want = frozen ? "frozen 1" : "frozen 0";
            while (!File.ReadAllLines(Path.Join(f.Dir, "cgroup.events")).Contains(want))
            {
                if (Environment.TickCount64 > deadline) throw new RuntimeException($"freezer: the cgroup did not reach \"{want}\" in 10 s");
                Thread.Sleep(5);
            }
            return;
        }
        var target = frozen ? "FROZEN" : "THAWED";
        while (true)
        {
            // A v1 freeze can stall in FREEZING behind a task in an uninterruptible sleep: ask again.
            ResourceWriter.WriteFile(f.Dir, "freezer.state", target, "freezer");
            if (File.ReadAllText(Path.Join(f.Dir, "freezer.state")).Trim() == target) return;
            if (Environment.TickCount64 > deadline) throw new RuntimeException($"freezer: the cgroup did not become {target} in 10 s");
            Thread.Sleep(5);
        }
    }
}
