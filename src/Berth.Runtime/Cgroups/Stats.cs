using System.Text.Json;
using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// A container's cgroup statistics in runc's `events --stats` shape (cpu, memory, pids,
/// blkio, hugetlb), read from whichever of v1 or v2 serves each controller.
/// </summary>
public static class Stats
{
    public static void Write(Utf8JsonWriter w, CgroupSet set)
    {
        w.WriteStartObject();
        if (set.For("cpuacct") is { V2: false } acct) CpuV1(w, acct.Dir, set.For("cpu")?.Dir);
        else if (set.For("cpu") is { V2: true } cpu2) CpuV2(w, cpu2.Dir);
        if (set.For("memory") is { } mem)
        {
            if (mem.V2) MemoryV2(w, mem.Dir);
            else MemoryV1(w, mem.Dir);
        }
        if (set.For("pids") is { } pids)
        {
            w.WriteStartObject("pids");
            w.WriteNumber("current", Number(pids.Dir, "pids.current"));
            var max = Read(pids.Dir, "pids.max");
            w.WriteNumber("limit", max is null or "max" ? 0 : ulong.Parse(max));
            w.WriteEndObject();
        }
        if (set.For("blkio") is { V2: false } blkio) BlkioV1(w, blkio.Dir);
        w.WriteEndObject();
    }

    static string? Read(string dir, string file)
    {
        try { return File.ReadAllText(Path.Join(dir, file)).Trim(); }
        catch (IOException) { return null; }
    }

    static ulong Number(string dir, string file) =>
        Read(dir, file) is { } s && ulong.TryParse(s, out var n) ? n : 0;

    /// <summary>"key value" lines (memory.stat, cpu.stat).</summary>
    static Dictionary<string, ulong> Flat(string dir, string file)
    {
        var map = new Dictionary<string, ulong>();
        foreach (var line in (Read(dir, file) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = line.Split(' ', 2);
            if (p.Length == 2 && ulong.TryParse(p[1], out var v)) map[p[0]] = v;
        }
        return map;
    }

    static void CpuV1(Utf8JsonWriter w, string acct, string? cpu)
    {
        w.WriteStartObject("cpu");
        w.WriteStartObject("usage");
        w.WriteNumber("total", Number(acct, "cpuacct.usage"));
        w.WriteStartArray("percpu");
        foreach (var v in (Read(acct, "cpuacct.usage_percpu") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)) w.WriteNumberValue(ulong.Parse(v));
        w.WriteEndArray();
        var ticks = Flat(acct, "cpuacct.stat");
        // cpuacct.stat is in USER_HZ (100/s); runc reports nanoseconds.
        w.WriteNumber("kernel", ticks.GetValueOrDefault("system") * 10_000_000);
        w.WriteNumber("user", ticks.GetValueOrDefault("user") * 10_000_000);
        w.WriteEndObject();
        if (cpu is not null) Throttling(w, Flat(cpu, "cpu.stat"), "nr_periods", "nr_throttled", "throttled_time", 1);
        w.WriteEndObject();
    }

    static void CpuV2(Utf8JsonWriter w, string dir)
    {
        var s = Flat(dir, "cpu.stat");
        w.WriteStartObject("cpu");
        w.WriteStartObject("usage");
        w.WriteNumber("total", s.GetValueOrDefault("usage_usec") * 1000);
        w.WriteNumber("kernel", s.GetValueOrDefault("system_usec") * 1000);
        w.WriteNumber("user", s.GetValueOrDefault("user_usec") * 1000);
        w.WriteEndObject();
        Throttling(w, s, "nr_periods", "nr_throttled", "throttled_usec", 1000);
        w.WriteEndObject();
    }

    static void Throttling(Utf8JsonWriter w, Dictionary<string, ulong> s, string periods, string throttled, string time, ulong scale)
    {
        w.WriteStartObject("throttling");
        w.WriteNumber("periods", s.GetValueOrDefault(periods));
        w.WriteNumber("throttled_periods", s.GetValueOrDefault(throttled));
        w.WriteNumber("throttled_time", s.GetValueOrDefault(time) * scale);
        w.WriteEndObject();
    }

    static void MemoryV1(Utf8JsonWriter w, string dir)
    {
        var raw = Flat(dir, "memory.stat");
        w.WriteStartObject("memory");
        w.WriteNumber("cache", raw.GetValueOrDefault("cache"));
        Usage(w, "usage", dir, "memory");
        if (File.Exists(Path.Join(dir, "memory.memsw.usage_in_bytes"))) Usage(w, "swap_usage", dir, "memory.memsw");
        Usage(w, "kernel_usage", dir, "memory.kmem");
        w.WriteStartObject("raw");
        foreach (var (k, v) in raw) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void Usage(Utf8JsonWriter w, string name, string dir, string prefix)
    {
        w.WriteStartObject(name);
        w.WriteNumber("limit", Number(dir, $"{prefix}.limit_in_bytes"));
        w.WriteNumber("usage", Number(dir, $"{prefix}.usage_in_bytes"));
        w.WriteNumber("max", Number(dir, $"{prefix}.max_usage_in_bytes"));
        w.WriteNumber("failcnt", Number(dir, $"{prefix}.failcnt"));
        w.WriteEndObject();
    }

    static void MemoryV2(Utf8JsonWriter w, string dir)
    {
        var raw = Flat(dir, "memory.stat");
        w.WriteStartObject("memory");
        w.WriteNumber("cache", raw.GetValueOrDefault("file"));
        w.WriteStartObject("usage");
        var max = Read(dir, "memory.max");
        w.WriteNumber("limit", max is null or "max" ? ulong.MaxValue : ulong.Parse(max));
        w.WriteNumber("usage", Number(dir, "memory.current"));
        w.WriteNumber("max", Number(dir, "memory.peak"));
        w.WriteNumber("failcnt", Flat(dir, "memory.events").GetValueOrDefault("max"));
        w.WriteEndObject();
        w.WriteStartObject("raw");
        foreach (var (k, v) in raw) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    static void BlkioV1(Utf8JsonWriter w, string dir)
    {
        w.WriteStartObject("blkio");
        foreach (var (name, file) in new[] { ("ioServiceBytesRecursive", "blkio.throttle.io_service_bytes_recursive"), ("ioServicedRecursive", "blkio.throttle.io_serviced_recursive") })
        {
            w.WriteStartArray(name);
            foreach (var line in (Read(dir, file) ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var p = line.Split(' ');
                if (p.Length != 3) continue;
                var mm = p[0].Split(':');
                w.WriteStartObject();
                w.WriteNumber("major", ulong.Parse(mm[0]));
                w.WriteNumber("minor", ulong.Parse(mm[1]));
                w.WriteString("op", p[1]);
                w.WriteNumber("value", ulong.Parse(p[2]));
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>OOM kills so far: v1 memory.oom_control's oom_kill, v2 memory.events' oom_kill.</summary>
    public static ulong OomKills(CgroupSet set)
    {
        if (set.For("memory") is not { } mem) return 0;
        var text = Read(mem.Dir, mem.V2 ? "memory.events" : "memory.oom_control") ?? "";
        foreach (var line in text.Split('\n'))
            if (line.StartsWith("oom_kill ") && ulong.TryParse(line[9..], out var n)) return n;
        return 0;
    }
}
