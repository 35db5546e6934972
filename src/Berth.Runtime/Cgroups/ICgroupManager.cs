using System.Text.Json;
using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// A container's cgroups, whatever the host mounts (youki's libcgroups shape): a
/// <see cref="V1Manager"/>, a <see cref="V2Manager"/>, or on a hybrid host a <see cref="HybridManager"/>
/// that routes each controller to the hierarchy that has it. Which one is chosen once, at discovery
/// (<see cref="CgroupManagers"/>); callers never ask which version a controller is.
/// </summary>
public interface ICgroupManager
{
    /// <summary>The container's directory in each hierarchy (every v1 controller, named ones, unified), in mount order.</summary>
    IReadOnlyList<(Hierarchy Hierarchy, string Dir)> Placed { get; }

    IReadOnlyList<string> Dirs { get; }

    /// <summary>Directories a new container needs that do not exist yet, parents first.</summary>
    IReadOnlyList<string> Missing { get; }

    /// <summary>Makes <see cref="Missing"/>.</summary>
    void Create();

    /// <summary>Moves <paramref name="pid"/> into every hierarchy's directory.</summary>
    void Enter(int pid);

    /// <summary>
    /// The writes that put <paramref name="resources"/> and <paramref name="devices"/> in force, as
    /// data. Every check happens here, before anything exists: a value for a controller this host
    /// lacks, or one its cgroup version cannot express, is an error naming the field.
    /// </summary>
    CgroupPlan Plan(Resources? resources, IReadOnlyList<DeviceRule>? devices = null);

    /// <summary>`update`: the plan for <paramref name="changes"/> to a container configured with <paramref name="current"/> (which becomes the merged config).</summary>
    CgroupPlan PlanUpdate(Resources current, Resources changes);

    void Apply(CgroupPlan plan);

    /// <summary>v1's freezer controller, else v2's cgroup.freeze; null where there is neither.</summary>
    Freezer? Freezer { get; }

    /// <summary>Pids in the container's cgroup.</summary>
    IReadOnlyList<int> Pids();

    /// <summary>runc's `events --stats` data object: cpu, memory, pids, blkio.</summary>
    void WriteStats(Utf8JsonWriter w);

    /// <summary>OOM kills so far.</summary>
    ulong OomKills();

    /// <summary>An eventfd that signals OOM (v1's cgroup.event_control); null where the kernel has none (v2: poll <see cref="OomKills"/>).</summary>
    SafeFd? OomEvents();

    /// <summary>Removes the directories Berth made (deepest first); <paramref name="leaves"/> must go, their parents only if unused.</summary>
    void Destroy(IReadOnlyList<string> createdDeepestFirst, IReadOnlyCollection<string> leaves);
}
