namespace Berth.Runtime.Cgroups;

/// <summary>
/// A hybrid host (this VM): v1 hierarchies for most controllers and cgroup2 mounted beside them
/// (/sys/fs/cgroup/unified) with whatever the host enabled there. Each controller goes to the
/// v1 hierarchy that has it, else to the unified directory if its parent delegates it; the device
/// rules go to both (v1's list and v2's program), as runc does.
/// </summary>
public sealed class HybridManager : CgroupManager
{
    public V1Manager V1 { get; }
    public V2Manager V2 { get; }

    public HybridManager(V1Manager v1, V2Manager v2, IReadOnlyList<(Hierarchy Hierarchy, string Dir)> placed, Placement? placement = null)
        : base(placed, placement)
    {
        V1 = v1;
        V2 = v2;
    }

    protected internal override VersionManager? Owner(Controller c) => V1.Serves(c) ? V1 : V2.Serves(c) ? V2 : null;

    protected internal override VersionManager? OwnerByName(string controller) =>
        V1.ServesName(controller) ? V1 : V2.ServesName(controller) ? V2 : null;

    protected internal override V2Manager? UnifiedPart => V2;

    public override Freezer? Freezer => V1.Freezer ?? V2.Freezer;
}
