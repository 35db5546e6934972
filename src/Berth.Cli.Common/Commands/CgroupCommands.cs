using Berth.Linux;
using System.Text;
using Berth.Oci;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime;
using Berth.Runtime.Lifecycle;

namespace Berth.Cli.Commands;

/// <summary>pause, resume, ps, events, update: runc's cgroup-facing commands.</summary>
public static class CgroupCommands
{
    public static int Pause(Context ctx, IReadOnlyList<string> args)
    {
        ctx.Containers.Pause(CommandLine.Parse(args, Array.Empty<Flag>()).Id("pause"));
        return 0;
    }

    public static int Resume(Context ctx, IReadOnlyList<string> args)
    {
        ctx.Containers.Resume(CommandLine.Parse(args, Array.Empty<Flag>()).Id("resume"));
        return 0;
    }

    public static int Ps(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("format", 'f', true) });
        if (cl.Positional.Count == 0) throw new UsageException("ps: a container id is required");
        var format = cl.Value("format") ?? "table";
        var monitoring = new Monitoring(ctx.Store);
        if (format == "json")
        {
            Output.WriteLine(JsonOut.Write(w =>
            {
                w.WriteStartArray();
                foreach (var pid in monitoring.Pids(cl.Positional[0])) w.WriteNumberValue(pid);
                w.WriteEndArray();
            }));
        }
        else if (format == "table")
        {
            Output.Write(monitoring.Table(cl.Positional[0]));
        }
        else
        {
            throw new UsageException($"ps: --format: \"{format}\" is not table or json");
        }
        return 0;
    }

    public static int Events(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("stats"), new("interval", null, true) });
        var id = cl.Id("events");
        var interval = cl.Duration("interval") ?? TimeSpan.FromSeconds(5);
        var monitoring = new Monitoring(ctx.Store);
        if (cl.Has("stats"))
        {
            Output.WriteLine(monitoring.StatsEvent(id));
            return 0;
        }
        monitoring.Stream(id, interval, line =>
        {
            Output.WriteLine(line);
        });
        return 0;
    }


    static readonly Flag[] UpdateFlags =
    {
        new("resources", 'r', true), new("memory", null, true), new("memory-reservation", null, true),
        new("memory-swap", null, true), new("kernel-memory", null, true), new("kernel-memory-tcp", null, true),
        new("cpu-period", null, true), new("cpu-quota", null, true), new("cpu-share", null, true),
        new("cpu-rt-period", null, true), new("cpu-rt-runtime", null, true), new("cpuset-cpus", null, true),
        new("cpuset-mems", null, true), new("pids-limit", null, true), new("blkio-weight", null, true),
        new("cpu-idle", null, true), new("cpu-burst", null, true),
        new("l3-cache-schema", null, true), new("mem-bw-schema", null, true),
    };

    public static int Update(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, UpdateFlags);
        var id = cl.Id("update");
        if (cl.Value("l3-cache-schema") is not null || cl.Value("mem-bw-schema") is not null)
            throw new RuntimeException("update: Intel RDT is not supported on this host (no resctrl file system)");
        Resources r;
        if (cl.Value("resources") is { } source)
        {
            // containerd passes "-r -" and the resources on stdin.
            byte[] json;
            try { json = source == "-" ? ReadStdin() : RegularFile.Read(source, SpecReader.MaxBytes, followLinks: true); }
            catch (LinuxException e) { throw new RuntimeException($"update: --resources: {e.Message}", e); }
            try { r = JsonIn.Parse(json, "resources", Resources.Read); }
            catch (SpecException e) { throw new RuntimeException($"update: --resources: {e.Message}", e); }
        }
        else
        {
            r = new Resources();
        }
        if (cl.Bytes("memory") is { } mem) (r.Memory ??= new()).Limit = mem;
        if (cl.Bytes("memory-reservation") is { } res) (r.Memory ??= new()).Reservation = res;
        if (cl.Bytes("memory-swap") is { } swap) (r.Memory ??= new()).Swap = swap;
        if (cl.Bytes("kernel-memory") is { } k) (r.Memory ??= new()).Kernel = k;
        if (cl.Bytes("kernel-memory-tcp") is { } kt) (r.Memory ??= new()).KernelTcp = kt;
        if (cl.ULong("cpu-period") is { } period) (r.Cpu ??= new()).Period = period;
        if (cl.Long("cpu-quota") is { } quota) (r.Cpu ??= new()).Quota = quota;
        if (cl.ULong("cpu-share") is { } shares) (r.Cpu ??= new()).Shares = shares;
        if (cl.ULong("cpu-rt-period") is { } rtp) (r.Cpu ??= new()).RealtimePeriod = rtp;
        if (cl.Long("cpu-rt-runtime") is { } rtr) (r.Cpu ??= new()).RealtimeRuntime = rtr;
        if (cl.ULong("cpu-burst") is { } burst) (r.Cpu ??= new()).Burst = burst;
        if (cl.Long("cpu-idle") is { } idle) (r.Cpu ??= new()).Idle = idle;
        if (cl.Value("cpuset-cpus") is { } cpus) (r.Cpu ??= new()).Cpus = cpus;
        if (cl.Value("cpuset-mems") is { } mems) (r.Cpu ??= new()).Mems = mems;
        if (cl.Long("pids-limit") is { } pids) (r.Pids ??= new()).Limit = pids;
        // runc: 0 leaves the weight as it is, like every zero update is given for a value it does not change.
        if (cl.ULong("blkio-weight") is { } weight and not 0)
            (r.BlockIO ??= new()).Weight = weight is >= 10 and <= 1000 ? (ushort)weight : throw new UsageException($"--blkio-weight: {weight} is not in 10..1000");
        new Updater(ctx.Store).Update(id, r);
        return 0;
    }

    static byte[] ReadStdin()
    {
        using var stdin = new Berth.Linux.SafeFd(0, ownsHandle: false);
        return Berth.Linux.Files.ReadToEnd(stdin);
    }
}
