using Berth.Runtime.Cgroups;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>A container's cgroups as its record names them.</summary>
static class ContainerCgroups
{
    public static ICgroupManager OpenCgroups(this ContainerRecord r) => CgroupManagers.Open(r.Cgroups, r.FreezerDir, r.FreezerV2);

    public static Freezer RequireFreezer(this ContainerRecord r) =>
        r.OpenCgroups().Freezer ?? throw new RuntimeException("this host has no freezer (cgroup v1 freezer or cgroup v2)");
}
