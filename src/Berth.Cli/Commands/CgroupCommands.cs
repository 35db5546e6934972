using System.Text;
using Berth.Oci;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime;
using Berth.Runtime.Lifecycle;
using Berth.Runtime.Store;

namespace Berth.Cli.Commands;

/// <summary>pause, resume, ps, events, update: runc's cgroup-facing commands.</summary>
public static class CgroupCommands
{
    static Containers Runtime(Context ctx) => new(new StateStore(ctx.Root), ctx.Log);

    public static int Pause(Context ctx, IReadOnlyList<string> args)
    {
        Runtime(ctx).Pause(CommandLine.Parse(args, Array.Empty<Flag>()).Id("pause"));
        return 0;
    }

    public static int Resume(Context ctx, IReadOnlyList<string> args)
    {
        Runtime(ctx).Resume(CommandLine.Parse(args, Array.Empty<Flag>()).Id("resume"));
        return 0;
    }

    public static int Ps(Context ctx, IReadOnlyList<string> args)
    {
        var cl = CommandLine.Parse(args, new Flag[] { new("format", 'f', true) });
        if (cl.Positional.Count == 0) throw new UsageException("ps: a container id is required");
        var format = cl.Value("format") ?? "table";
        var monitoring = new Monitoring(new StateStore(ctx.Root));
        if (format == "json")
        {
            Output.Write(JsonOut.Write(w =>
            {
                w.WriteStartArray();
                foreach (var pid in monitoring.Pids(cl.Positional[0])) w.WriteNumberValue(pid);
                w.WriteEndArray();
            }));
            Output.Write("\n"u8);
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
        var interval = ParseDuration(cl.Value("interval") ?? "5s");
        var monitoring = new Monitoring(new StateStore(ctx.Root));
        if (cl.Has("stats"))
        {
            Output.Write(monitoring.StatsEvent(id));
            Output.Write("\n"u8);
            return 0;
        }
        monitoring.Stream(id, interval, line =>
        {
            Output.Write(line);
            Output.Write("\n"u8);
        });
        return 0;
    }

    /// <summary>Go's duration syntax, as runc takes it: "5s", "100ms", "1m30s".</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var total = TimeSpan.Zero;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
            if (start == i || !double.TryParse(text[start..i], System.Globalization.CultureInfo.InvariantCulture, out var n))
                throw new UsageException($"--interval: \"{text}\" is not a duration (5s, 100ms, 1m)");
            int u = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            total += text[u..i] switch
            {
                "ns" => TimeSpan.FromTicks((long)(n / 100)),
                "us" or "µs" => TimeSpan.FromMicroseconds(n),
                "ms" => TimeSpan.FromMilliseconds(n),
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => throw new UsageException($"--interval: \"{text}\" is not a duration (5s, 100ms, 1m)"),
            };
        }
        if (total <= TimeSpan.Zero) throw new UsageException($"--interval: \"{text}\" must be positive");
        return total;
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
            try { json = source == "-" ? ReadStdin() : File.ReadAllBytes(source); }
            catch (IOException e) { throw new RuntimeException($"update: --resources: {e.Message}"); }
            try { r = JsonIn.Parse(json, "resources", Resources.Read); }
            catch (SpecException e) { throw new RuntimeException($"update: --resources: {e.Message}", e); }
        }
        else
        {
            r = new Resources();
        }
        long? Bytes(string flag) => cl.Value(flag) is { } v ? ParseBytes(v, flag) : null;
        long? Long(string flag) => cl.Value(flag) is { } v ? (long.TryParse(v, out var n) ? n : throw new UsageException($"--{flag}: \"{v}\" is not an integer")) : null;
        ulong? ULong(string flag) => cl.Value(flag) is { } v ? (ulong.TryParse(v, out var n) ? n : throw new UsageException($"--{flag}: \"{v}\" is not a non-negative integer")) : null;

        if (Bytes("memory") is { } mem) (r.Memory ??= new()).Limit = mem;
        if (Bytes("memory-reservation") is { } res) (r.Memory ??= new()).Reservation = res;
        if (Bytes("memory-swap") is { } swap) (r.Memory ??= new()).Swap = swap;
        if (Bytes("kernel-memory") is { } k) (r.Memory ??= new()).Kernel = k;
        if (Bytes("kernel-memory-tcp") is { } kt) (r.Memory ??= new()).KernelTcp = kt;
        if (ULong("cpu-period") is { } period) (r.Cpu ??= new()).Period = period;
        if (Long("cpu-quota") is { } quota) (r.Cpu ??= new()).Quota = quota;
        if (ULong("cpu-share") is { } shares) (r.Cpu ??= new()).Shares = shares;
        if (ULong("cpu-rt-period") is { } rtp) (r.Cpu ??= new()).RealtimePeriod = rtp;
        if (Long("cpu-rt-runtime") is { } rtr) (r.Cpu ??= new()).RealtimeRuntime = rtr;
        if (ULong("cpu-burst") is { } burst) (r.Cpu ??= new()).Burst = burst;
        if (Long("cpu-idle") is { } idle) (r.Cpu ??= new()).Idle = idle;
        if (cl.Value("cpuset-cpus") is { } cpus) (r.Cpu ??= new()).Cpus = cpus;
        if (cl.Value("cpuset-mems") is { } mems) (r.Cpu ??= new()).Mems = mems;
        if (Long("pids-limit") is { } pids) (r.Pids ??= new()).Limit = pids;
        if (ULong("blkio-weight") is { } weight) (r.BlockIO ??= new()).Weight = (ushort)Math.Min(weight, ushort.MaxValue);
        new Updater(new StateStore(ctx.Root)).Update(id, r);
        return 0;
    }

    static byte[] ReadStdin()
    {
        using var stdin = new Berth.Linux.SafeFd(0, ownsHandle: false);
        return Berth.Linux.Files.ReadToEnd(stdin);
    }

    /// <summary>"64m", "1g", "512k", "1048576"; -1 for unlimited.</summary>
    public static long ParseBytes(string text, string flag)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "-1") return -1;
        long unit = 1;
        if (t.EndsWith("b")) t = t[..^1];
        if (t.Length > 0 && "kmgt".Contains(t[^1]))
        {
            unit = t[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, _ => 1L << 40 };
            t = t[..^1];
        }
        return long.TryParse(t, out var n) && n >= 0 ? n * unit : throw new UsageException($"--{flag}: \"{text}\" is not a size (bytes, or with k, m, g)");
    }
}
