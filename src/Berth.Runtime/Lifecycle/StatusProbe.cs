using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// A container's status is derived, never stored: no record or pid 0 is creating; a dead init
/// (zombie, gone, or a reused pid with another start time) is stopped; a live init with the
/// exec.fifo still present waits at the barrier (created); otherwise running.
/// </summary>
public static class StatusProbe
{
    public static string Of(ContainerRecord? r, bool fifoExists)
    {
        if (r is null || r.Pid == 0) return Status.Creating;
        if (!ProcStat.IsAlive(r.Pid, r.PidStartTime)) return Status.Stopped;
        if (fifoExists) return Status.Created;
        return r.OpenCgroups().Freezer?.IsFrozen() == true ? Status.Paused : Status.Running;
    }
}
