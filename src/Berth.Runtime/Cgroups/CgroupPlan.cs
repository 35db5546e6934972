using Berth.Linux;
using Berth.Linux.Security;

namespace Berth.Runtime.Cgroups;

/// <summary>What a missing file means for a write: the host lacks something that was asked for, or nothing.</summary>
public enum IfMissing
{
    Fail,
    /// <summary>runc's "only where the kernel has it": memsw for an unlimited swap, cfs_burst_us, hugetlb's rsvd files.</summary>
    Skip,
}

/// <summary>
/// One write of a plan: <paramref name="Value"/> to <paramref name="Dir"/>/<paramref name="File"/>,
/// on behalf of config field <paramref name="Field"/> and the <paramref name="Controller"/> that owns the file.
/// </summary>
public readonly record struct CgroupWrite(string Dir, string File, string Value, string Field, string Controller)
{
    public IfMissing IfMissing { get; init; }

    /// <summary>What a missing file means, when it is more than "this host's controller has no such file".</summary>
    public string? MissingHint { get; init; }

    /// <summary>
    /// Refused with EINVAL, tried again once after the rest of the plan: a value the kernel checks
    /// against another one the plan changes later (cfs period and burst against the quota, the
    /// memory limit against memsw, rt period against rt runtime) — runc's order rules.
    /// </summary>
    public bool RetryAfterRest { get; init; }

    /// <summary>
    /// The file written instead where <see cref="File"/> is absent: runc's blkio rule, blkio.weight
    /// on CFQ and blkio.bfq.weight on a kernel with BFQ only (CFQ was removed in Linux 5.0).
    /// </summary>
    public string? Fallback { get; init; }

    public override string ToString() => $"{Path.Join(Dir, File)} = {Value}";
}

/// <summary>A cgroup v2 device program (<see cref="DeviceFilter"/>) to attach to a directory.</summary>
public sealed record DeviceProgram(string Dir, byte[] Program);

/// <summary>
/// A container's cgroup setup as data: the writes in order, then the device program. A manager
/// builds it (every decision, every check that can fail before anything exists); <see cref="Execute"/>
/// performs it and decides nothing.
/// </summary>
public sealed class CgroupPlan
{
    public static readonly CgroupPlan Empty = new(Array.Empty<CgroupWrite>(), null);

    public IReadOnlyList<CgroupWrite> Writes { get; }
    public DeviceProgram? DeviceProgram { get; }

    public CgroupPlan(IReadOnlyList<CgroupWrite> writes, DeviceProgram? deviceProgram)
    {
        Writes = writes;
        DeviceProgram = deviceProgram;
    }

    /// <summary>The writes to <paramref name="file"/>, in order (tests read plans by file).</summary>
    public IEnumerable<CgroupWrite> To(string file) => Writes.Where(w => w.File == file);

    public void Execute()
    {
        List<CgroupWrite>? retry = null;
        foreach (var w in Writes)
        {
            if (TryWrite(w) is not { } e) continue;
            if (e.Error.Errno == Errno.EINVAL && w.RetryAfterRest) (retry ??= new()).Add(w);
            else throw Failure(w, e);
        }
        foreach (var w in retry ?? new())
            if (TryWrite(w) is { } e) throw Failure(w, e);
        if (DeviceProgram is { } p)
        {
            using var program = BpfPrograms.LoadDeviceProgram(p.Program);
            using var dir = Files.Open(p.Dir, O.RDONLY | O.DIRECTORY);
            BpfPrograms.AttachDevice(dir, program);
        }
    }

    /// <summary>Null when written (or skipped as the write allows), else why not.</summary>
    static (LinuxException Error, string File)? TryWrite(CgroupWrite w)
    {
        var file = w.File;
        try
        {
            try
            {
                Files.WriteFile(Path.Join(w.Dir, file), w.Value);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT && w.Fallback is { } fallback)
            {
                file = fallback;
                Files.WriteFile(Path.Join(w.Dir, file), w.Value);
            }
            return null;
        }
        catch (LinuxException e)
        {
            return e.Errno == Errno.ENOENT && w.IfMissing == IfMissing.Skip ? null : (e, file);
        }
    }

    static RuntimeException Failure(CgroupWrite w, (LinuxException Error, string File) f) => f.Error.Errno == Errno.ENOENT
        // A file the kernel does not offer here (blkio weights with neither CFQ nor BFQ, rt_* without RT_GROUP_SCHED).
        ? new RuntimeException($"{w.Field}: {w.MissingHint ?? $"this host's {w.Controller} controller has no {w.File}{(w.Fallback is null ? "" : $" (nor {w.Fallback})")}"}", f.Error)
        : new RuntimeException($"{w.Field}: writing {w.Value} to {f.File}: {Errnos.Describe(f.Error.Errno)}", f.Error);
}
