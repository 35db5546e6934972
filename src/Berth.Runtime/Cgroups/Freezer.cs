using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>pause/resume: v1's freezer.state, or v2's cgroup.freeze, waiting until the kernel says it is done.</summary>
public static class Freezer
{
    /// <summary>Whether the cgroup is frozen, or on its way (v1's FREEZING); false if the files are gone.</summary>
    public static bool IsFrozen(string dir, bool v2)
    {
        try
        {
            return v2
                ? File.ReadAllText(Path.Join(dir, "cgroup.freeze")).Trim() == "1"
                : File.ReadAllText(Path.Join(dir, "freezer.state")).Trim() is "FROZEN" or "FREEZING";
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static void Set(string? dir, bool v2, bool frozen)
    {
        if (dir is null) throw new RuntimeException("this host has no freezer (cgroup v1 freezer or cgroup v2)");
        var deadline = Environment.TickCount64 + 10_000;
        if (v2)
        {
            ResourceWriter.WriteFile(dir, "cgroup.freeze", frozen ? "1" : "0", "freezer");
            var want = frozen ? "frozen 1" : "frozen 0";
            while (!File.ReadAllLines(Path.Join(dir, "cgroup.events")).Contains(want))
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
            ResourceWriter.WriteFile(dir, "freezer.state", target, "freezer");
            if (File.ReadAllText(Path.Join(dir, "freezer.state")).Trim() == target) return;
            if (Environment.TickCount64 > deadline) throw new RuntimeException($"freezer: the cgroup did not become {target} in 10 s");
            Thread.Sleep(5);
        }
    }
}
