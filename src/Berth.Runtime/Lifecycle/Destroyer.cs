using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>Ends a container's processes and removes its cgroups and state: shared by delete and by a failed create.</summary>
public static class Destroyer
{
    public static void Destroy(ContainerDir dir, ContainerRecord r, Log log)
    {
        // Only cgroups Berth made are its to empty and remove: a pre-created one may hold processes that are not ours.
        var own = r.Cgroups.Where(r.CreatedCgroups.Contains).ToList();
        var cgroups = r.OpenCgroups();
        KillAll(r, cgroups, own, Signals.SIGKILL, log);
        cgroups.Destroy(r.CreatedCgroups, own);
        if (r.CreatedRdtGroup is { } rdt) FileSystem.DeleteDirectory(rdt);
        // poststop: after the container is gone, before its state is; a failing hook only warns.
        if (r.Pid > 0 && r.HasPoststop && dir.ReadSpec()?.Hooks?.Poststop is { Count: > 0 } poststop)
            HookRunner.RunAllWarning(poststop, "poststop", HookRunner.StateFor(r.Id, Status.Stopped, 0, r.Bundle, r.Annotations), log);
        dir.Remove();
    }

    /// <summary>
    /// SIGKILLs init, and every process in the container's cgroup when Berth made that cgroup
    /// (a cgroup the caller pre-created may hold processes that are not ours), then waits for
    /// them to be gone.
    /// </summary>
    static void KillAll(ContainerRecord r, ICgroupManager cgroups, IReadOnlyList<string> ownCgroups, int signal, Log log)
    {
        using var init = r.Pid > 0 ? Pidfd.OpenIfAlive(r.Pid, r.PidStartTime) : null;
        if (init is not null) Pidfd.SendSignal(init, signal);
        // A frozen process dies of SIGKILL only once thawed.
        if (cgroups.Freezer is { } freezer)
            try { freezer.Thaw(); }
            catch (RuntimeException) { }

        var deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            var left = ownCgroups.Count > 0 ? Placement.Procs(ownCgroups) : Array.Empty<int>();
            Pidfd.SignalEach(left, signal);
            bool initGone = init is null || Pidfd.WaitExit(init, 0);
            if (left.Count == 0 && initGone) return;
            if (Environment.TickCount64 > deadline)
            {
                log.Warn($"container {r.Id}: processes still alive after SIGKILL: {string.Join(" ", left)}");
                return;
            }
            if (init is not null && !initGone) Pidfd.WaitExit(init, 20);
            else Thread.Sleep(5);
        }
    }
}
