using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>pause/resume: v1's freezer.state, or v2's cgroup.freeze, waiting until the kernel says it is done.</summary>
public abstract class Freezer
{
    public string Dir { get; }

    protected Freezer(string dir) => Dir = dir;

    /// <summary>Whether this is v2's cgroup.freeze (what a container's record keeps, with <see cref="Dir"/>).</summary>
    public abstract bool Unified { get; }

    /// <summary>Whether the cgroup is frozen, or on its way (v1's FREEZING); false if the files are gone.</summary>
    public abstract bool IsFrozen();

    public void Freeze() => Set(frozen: true);

    public void Thaw() => Set(frozen: false);

    protected abstract void Set(bool frozen);

    /// <summary>The freezer a container's record names.</summary>
    public static Freezer At(string dir, bool unified) => unified ? new V2Freezer(dir) : new V1Freezer(dir);

    protected const int TimeoutMs = 10_000;
}

public sealed class V1Freezer : Freezer
{
    public V1Freezer(string dir) : base(dir) { }

    public override bool Unified => false;

    public override bool IsFrozen() => CgroupFile.Read(Dir, "freezer.state") is "FROZEN" or "FREEZING";

    protected override void Set(bool frozen)
    {
        var deadline = Environment.TickCount64 + TimeoutMs;
        var target = frozen ? "FROZEN" : "THAWED";
        while (true)
        {
            // A v1 freeze can stall in FREEZING behind a task in an uninterruptible sleep: ask again.
            CgroupFile.Write(Dir, "freezer.state", target, "freezer");
            if (FileSystem.ReadText(Path.Join(Dir, "freezer.state")).Trim() == target) return;
            if (Environment.TickCount64 > deadline) throw new RuntimeException($"freezer: the cgroup did not become {target} in 10 s");
            Thread.Sleep(5);
        }
    }
}

public sealed class V2Freezer : Freezer
{
    public V2Freezer(string dir) : base(dir) { }

    public override bool Unified => true;

    public override bool IsFrozen() => CgroupFile.Read(Dir, "cgroup.freeze") == "1";

    protected override void Set(bool frozen)
    {
        var deadline = Environment.TickCount64 + TimeoutMs;
        CgroupFile.Write(Dir, "cgroup.freeze", frozen ? "1" : "0", "freezer");
        var want = frozen ? "frozen 1" : "frozen 0";
        while (!FileSystem.ReadText(Path.Join(Dir, "cgroup.events")).Split('\n').Contains(want))
        {
            if (Environment.TickCount64 > deadline) throw new RuntimeException($"freezer: the cgroup did not reach \"{want}\" in 10 s");
            Thread.Sleep(5);
        }
    }
}
