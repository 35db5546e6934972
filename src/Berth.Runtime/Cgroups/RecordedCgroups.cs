using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// The cgroups of a container that exists, from its record: `state`, `kill`, `pause` and `delete`
/// need only the directories and the freezer the record names, so they never read the mount
/// table; `update`, `events` and stats get the manager discovery picks for those directories.
/// </summary>
sealed class RecordedCgroups : ICgroupManager
{
    readonly IReadOnlyList<string> _dirs;
    readonly Lazy<CgroupManager> _manager;

    public RecordedCgroups(IReadOnlyList<string> dirs, Freezer? freezer)
    {
        _dirs = dirs;
        Freezer = freezer;
        _manager = new(() => CgroupManagers.FromDirs(dirs));
    }

    public IReadOnlyList<(Hierarchy Hierarchy, string Dir)> Placed => _manager.Value.Placed;
    public IReadOnlyList<string> Dirs => _dirs;
    public IReadOnlyList<string> Missing => Array.Empty<string>();
    public Freezer? Freezer { get; }

    public void Create() => throw new InvalidOperationException("cgroups of an existing container are not created again");
    public void Enter(int pid) => CgroupManager.Enter(_dirs, pid);
    public IReadOnlyList<int> Pids() => Placement.Procs(_dirs);
    public void Destroy(IReadOnlyList<string> createdDeepestFirst, IReadOnlyCollection<string> leaves) => Placement.Remove(createdDeepestFirst, leaves);

    public CgroupPlan Plan(Resources? resources, IReadOnlyList<DeviceRule>? devices = null) => _manager.Value.Plan(resources, devices);
    public CgroupPlan PlanUpdate(Resources current, Resources changes) => _manager.Value.PlanUpdate(current, changes);
    public void Apply(CgroupPlan plan) => plan.Execute();
    public void WriteStats(Utf8JsonWriter w) => _manager.Value.WriteStats(w);
    public ulong OomKills() => _manager.Value.OomKills();
    public SafeFd? OomEvents() => _manager.Value.OomEvents();
}
