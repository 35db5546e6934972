using System.Text.Json;
using Berth.Linux;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// The sections of runc's `events --stats` document (cpu, memory, blkio) as v1 and v2 files give
/// them; a manager writes the ones whose controller it serves.
/// </summary>
public static class Stats
{
    static string? Read(string dir, string file) => CgroupFile.Read(dir, file);

    internal static ulong Number(string dir, string file) =>
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

    public static void CpuV1(Utf8JsonWriter w, string acct, string? cpu)
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

    public static void CpuV2(Utf8JsonWriter w, string dir)
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

    public static void MemoryV1(Utf8JsonWriter w, string dir)
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

    public static void MemoryV2(Utf8JsonWriter w, string dir)
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

    public static void BlkioV1(Utf8JsonWriter w, string dir)
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

    /// <summary>The oom_kill counter of memory.oom_control (v1) or memory.events (v2).</summary>
    public static ulong OomKills(string dir, string file)
    {
        foreach (var line in (Read(dir, file) ?? "").Split('\n'))
            if (line.StartsWith("oom_kill ") && ulong.TryParse(line[9..], out var n)) return n;
        return 0;
    }
}
