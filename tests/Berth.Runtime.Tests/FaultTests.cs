using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

[CollectionDefinition("serial", DisableParallelization = true)]
public class SerialCollection { }

/// <summary>
/// Faults and load. Serial: these tests count every `berth init` process on the machine,
/// so nothing else may run beside them.
/// </summary>
[Collection("serial")]
public class FaultTests
{
    static void NothingLeft(Sandbox s, IEnumerable<string> ids, string rootfs)
    {
        var idList = ids.ToList();
        // Every entry, files too (a launcher's leftovers need not be directories); the seccomp cache may stay.
        Assert.Empty(Directory.Exists(s.Root) ? Directory.GetFileSystemEntries(s.Root).Where(e => Path.GetFileName(e) != ".cache") : Array.Empty<string>());
        foreach (var id in idList)
            Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
        Assert.DoesNotContain(rootfs, File.ReadAllText("/proc/self/mountinfo"));
        var mine = new HashSet<string>(idList);
        KillDeleteTests.WaitUntil(() => InitProcesses(mine).Count == 0, 5000);
    }

    /// <summary>
    /// Processes that are (or are becoming) the init of one of <paramref name="ids"/>: "berth init"
    /// in one of their cgroups. Other engineers' tests run berth on this machine too; an init that
    /// was never placed exits as soon as its launcher is gone.
    /// </summary>
    static List<int> InitProcesses(HashSet<string> ids)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "cmdline")) != "berth\0init\0") continue;
                var cgroups = File.ReadAllLines(Path.Combine(dir, "cgroup"));
                if (cgroups.Any(l => ids.Contains(l[(l.LastIndexOf('/') + 1)..]))) found.Add(pid);
            }
            catch (IOException) { }
        }
        return found;
    }

    /// <summary>
    /// Deterministic mutations of a config, each described for the failure message. Most change
    /// one field — removed, its type swapped, a boundary number, a hostile string — some change
    /// two or three at once, and some damage the JSON text itself (truncated, a byte flipped to
    /// one that is not UTF-8, bytes inserted).
    /// </summary>
    static IEnumerable<(string What, byte[] Json)> Mutations(JsonObject baseConfig, int count, int seed)
    {
        var paths = new List<string>();
        void Walk(JsonNode node, string path)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList())
                {
                    paths.Add($"{path}.{k}");
                    if (v is not null) Walk(v, $"{path}.{k}");
                }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++)
                {
                    paths.Add($"{path}[{i}]");
                    if (a[i] is not null) Walk(a[i]!, $"{path}[{i}]");
                }
        }
        Walk(baseConfig, "$");
        Func<JsonNode?>[] values =
        {
            () => null, () => 7, () => 0, () => -1, () => 1.5, () => 1e300, () => "text", () => "", () => true,
            () => new JsonArray(), () => new JsonObject(), () => JsonNode.Parse("18446744073709551616"),
            () => JsonNode.Parse("4294967295"), () => JsonNode.Parse("4294967296"), () => long.MaxValue, () => long.MinValue,
            () => int.MinValue, () => new JsonArray(1, "x", null), () => "../../../../etc", () => "/", () => ".",
            () => "/proc/sys/kernel/core_pattern", () => "/dev/../../x", () => "/proc/self/ns/net", () => "a\u0000b",
            () => "\u00e9\u4e2d\U0001f600", () => "\ud800", () => new string('x', 300_000), () => "/bin/../../../../bin/sh",
        };
        var rng = new Random(seed);
        var text = Encoding.UTF8.GetBytes(baseConfig.ToJsonString());
        for (int n = 0; n < count; n++)
        {
            int kind = rng.Next(10);
            if (kind == 0)
            {
                // The text itself: cut short, a byte swapped (often for one that is not UTF-8), bytes inserted.
                var bytes = (byte[])text.Clone();
                int at = rng.Next(bytes.Length);
                switch (rng.Next(3))
                {
                    case 0: yield return ($"truncated at byte {at}", bytes[..at]); break;
                    case 1:
                        byte b = (byte)rng.Next(256);
                        bytes[at] = b;
                        yield return ($"byte {at} = 0x{b:x2}", bytes);
                        break;
                    default:
                        var insert = new byte[rng.Next(1, 8)];
                        rng.NextBytes(insert);
                        yield return ($"{insert.Length} bytes inserted at {at}", bytes[..at].Concat(insert).Concat(bytes[at..]).ToArray());
                        break;
                }
                continue;
            }
            var copy = baseConfig.DeepClone().AsObject();
            var what = new List<string>();
            int edits = kind == 1 ? rng.Next(2, 4) : 1;
            for (int e = 0; e < edits; e++)
            {
                var path = paths[rng.Next(paths.Count)];
                if (!TryLocate(copy, path, out var parent, out var key, out var index)) continue;
                if (rng.Next(5) == 0 && parent is JsonObject po)
                {
                    po.Remove(key!);
                    what.Add($"remove {path}");
                    continue;
                }
                var v = values[rng.Next(values.Length)]();
                if (parent is JsonObject o) o[key!] = v;
                else ((JsonArray)parent)[index] = v;
                var shown = v?.ToJsonString() ?? "null";
                what.Add($"{path} = {(shown.Length > 40 ? shown[..40] + "…" : shown)}");
            }
            yield return (string.Join("; ", what), Encoding.UTF8.GetBytes(copy.ToJsonString()));
        }
    }

    /// <summary>The same place in a (possibly already edited) copy; false if an earlier edit removed it.</summary>
    static bool TryLocate(JsonObject root, string path, out JsonNode parent, out string? key, out int index)
    {
        parent = root;
        key = null;
        index = -1;
        var tokens = System.Text.RegularExpressions.Regex.Matches(path[1..], @"\.([^.\[]+)|\[(\d+)\]").ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (i > 0)
            {
                var next = key is not null ? (parent as JsonObject)?[key] : parent is JsonArray a && index < a.Count ? a[index] : null;
                if (next is null) return false;
                parent = next;
            }
            if (t.Groups[1].Success) { key = t.Groups[1].Value; index = -1; if (parent is not JsonObject) return false; }
            else { key = null; index = int.Parse(t.Groups[2].Value); if (parent is not JsonArray arr || index >= arr.Count) return false; }
        }
        return true;
    }

    /// <summary>A base config that reaches most of the spec: namespaces, mounts, devices, sysctls, rlimits, ids, seccomp, limits.</summary>
    static void Rich(JsonObject c, string rootfs)
    {
        c["root"]!["path"] = rootfs;
        Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" });
        c["process"]!["user"] = new JsonObject { ["uid"] = 0, ["gid"] = 0, ["additionalGids"] = new JsonArray(10, 20) };
        c["process"]!["rlimits"] = new JsonArray(new JsonObject { ["type"] = "RLIMIT_NOFILE", ["soft"] = 1024, ["hard"] = 1024 });
        c["process"]!["oomScoreAdj"] = 100;
        c["process"]!["consoleSize"] = new JsonObject { ["height"] = 24, ["width"] = 80 };
        c["mounts"]!.AsArray().Add(new JsonObject
        {
            ["destination"] = "/scratch", ["type"] = "tmpfs", ["source"] = "tmpfs", ["options"] = new JsonArray("size=1m", "mode=700"),
        });
        c["linux"]!["devices"] = new JsonArray(new JsonObject { ["path"] = "/dev/fuzz", ["type"] = "c", ["major"] = 1, ["minor"] = 3, ["fileMode"] = 438, ["uid"] = 0, ["gid"] = 0 });
        c["linux"]!["sysctl"] = new JsonObject { ["net.ipv4.ip_forward"] = "1", ["kernel.shmmni"] = "4000" };
        c["linux"]!["resources"] = new JsonObject { ["pids"] = new JsonObject { ["limit"] = 100 }, ["memory"] = new JsonObject { ["limit"] = 64 << 20 } };
        c["linux"]!["seccomp"] = new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["syscalls"] = new JsonArray(new JsonObject
            {
                ["names"] = new JsonArray("getcpu"), ["action"] = "SCMP_ACT_ERRNO", ["errnoRet"] = 1,
                ["args"] = new JsonArray(new JsonObject { ["index"] = 0, ["value"] = 1, ["op"] = "SCMP_CMP_EQ" }),
            }),
        };
        c["annotations"] = new JsonObject { ["berth.test/fuzz"] = "yes" };
    }

    /// <summary>
    /// Thousands of deterministic mutations, bounded in time: every one is parsed and validated
    /// in-process, by the same code `create` runs first (only a spec error may come out, as one
    /// line naming its field); a deterministic sample of them goes through the real binary —
    /// refused ones must say the same line, created ones are started, waited for and deleted —
    /// and nothing is left behind.
    /// </summary>
    [Fact]
    public void Thousands_of_mutated_configs_never_crash_hang_or_leave_anything_behind()
    {
        const int Count = 5000, SampleRefused = 200, SampleAccepted = 200;
        using var s = new Sandbox();
        var template = s.Bundle(new[] { "sh", "-c", "echo $$ > /dev/null" });
        var rootfs = Path.Combine(template, "rootfs");
        var baseConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(template, "config.json")))!.AsObject();
        Rich(baseConfig, rootfs);

        var refused = new List<(string What, byte[] Json, string Message)>();
        var accepted = new List<(string What, byte[] Json)>();
        foreach (var (what, json) in Mutations(baseConfig, Count, seed: 20261201))
        {
            try
            {
                var spec = Oci.Runtime.SpecReader.Parse(json);
                Oci.Runtime.SpecValidator.Validate(spec);
                accepted.Add((what, json));
            }
            catch (Oci.SpecException e)
            {
                Assert.False(e.Message.Contains('\n') || e.Message.Contains('\r'), $"{what}: a message of more than one line: {e.Message}");
                Assert.False(string.IsNullOrEmpty(e.Field), $"{what}: no field named: {e.Message}");
                refused.Add((what, json, e.Message));
            }
            catch (Exception e)
            {
                Assert.Fail($"{what}: {e.GetType().Name} escaped parsing and validation: {e.Message}");
            }
        }
        Assert.True(refused.Count > Count / 3 && accepted.Count > Count / 10, $"the mutations should both break and keep configs ({accepted.Count} accepted, {refused.Count} refused)");

        // Evenly spread samples, so every kind of mutation is among them.
        static IEnumerable<T> Spread<T>(List<T> all, int n) => Enumerable.Range(0, Math.Min(n, all.Count)).Select(i => all[(int)((long)i * all.Count / Math.Min(n, all.Count))]);
        var sample = Spread(refused, SampleRefused).Select(r => (r.What, r.Json, (string?)r.Message))
            .Concat(Spread(accepted, SampleAccepted).Select(a => (a.What, a.Json, (string?)null))).ToList();

        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        int created = 0;
        Parallel.ForEach(Enumerable.Range(0, 2), worker =>
        {
            var bundle = Path.Combine(s.Work, $"fuzz{worker}");
            Directory.CreateDirectory(bundle);
            for (int i = worker; i < sample.Count; i += 2)
            {
                var (what, json, expected) = sample[i];
                File.WriteAllBytes(Path.Combine(bundle, "config.json"), json);
                var id = Sandbox.NewId("m");
                ids.Add(id);
                var r = s.Berth("create", "--bundle", bundle, id);
                var problem = Judge(r, expected);
                if (problem is null && r.ExitCode == 0)
                {
                    Interlocked.Increment(ref created);
                    var start = s.Berth("start", id);
                    problem = start.ExitCode == 0 ? null : Judge(start, null);
                    var deadline = Environment.TickCount64 + 20_000;
                    while (problem is null && start.ExitCode == 0 && s.Berth("state", id).Stdout.Contains("\"running\"") && Environment.TickCount64 < deadline)
                        Thread.Sleep(10);
                    var d = s.Berth("delete", "--force", id);
                    if (d.ExitCode != 0) problem ??= $"delete: {d.Stderr}";
                }
                else if (problem is null && Directory.Exists(Path.Combine(s.Root, id)))
                {
                    problem = "state left behind";
                }
                if (problem is not null) failures.Add($"{what}: {problem}");
            }
        });
        Assert.Empty(failures);
        Assert.True(created > SampleAccepted / 4, $"only {created} of the sampled configs could be created");
        NothingLeft(s, ids, rootfs);
    }

    /// <summary>Null if <paramref name="r"/> is success or one clear line (the expected one, when given).</summary>
    static string? Judge(Result r, string? expected)
    {
        if (r.ExitCode is not (0 or 1)) return $"exit {r.ExitCode}: {r.Stderr}";
        if (r.Stderr.Contains("   at ") || r.Stderr.Contains("Exception") || r.Stderr.Contains("internal error")) return $"a crash: {r.Stderr}";
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length > 1) return $"more than one line: {r.Stderr}";
        if (r.ExitCode == 0) return expected is null ? null : $"accepted, but validation said: {expected}";
        if (!r.Stderr.StartsWith("berth: ")) return $"not a berth: line: {r.Stderr}";
        if (expected is not null && !r.Stderr.Contains(expected)) return $"said \"{r.Stderr.Trim()}\", validation said \"{expected}\"";
        return null;
    }

    [Fact]
    public void A_launcher_killed_at_any_point_of_create_is_cleaned_up_by_delete_force()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sleep", "30" }, c => Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" }));
        var ids = new List<string>();
        Process StartCreate(string id)
        {
            var psi = new ProcessStartInfo(Sandbox.Binary) { RedirectStandardOutput = false, RedirectStandardError = false };
            foreach (var a in new[] { "--root", s.Root, "create", "--bundle", bundle, id }) psi.ArgumentList.Add(a);
            return Process.Start(psi)!;
        }
        // Kill points are drawn from this machine's own create time (the fastest of five), so
        // they fall inside create on a fast machine and a slow one alike.
        double fastestMs = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var id = Sandbox.NewId("k");
            ids.Add(id);
            var sw = Stopwatch.StartNew();
            using (var p = StartCreate(id)) p.WaitForExit();
            fastestMs = Math.Min(fastestMs, sw.Elapsed.TotalMilliseconds);
            s.Berth("delete", "--force", id).Ok();
        }
        var rng = new Random(7);
        int killedMidway = 0;
        for (int i = 0; i < 100; i++)
        {
            var id = Sandbox.NewId("k");
            ids.Add(id);
            using var p = StartCreate(id);
            Thread.Sleep(TimeSpan.FromMilliseconds(rng.NextDouble() * 0.9 * fastestMs));
            try { p.Kill(); } catch (InvalidOperationException) { }
            p.WaitForExit();
            if (p.ExitCode != 0) killedMidway++;
            s.Berth("delete", "--force", id).Ok();
            Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
            Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind after kill {i}: {d}"));
        }
        Assert.True(killedMidway > 50, $"only {killedMidway} of 100 launchers were killed before they finished");
        NothingLeft(s, ids, Path.Combine(bundle, "rootfs"));
    }

    [Fact]
    public void Fifty_containers_created_started_and_deleted_in_parallel_all_succeed()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "echo $$ > /dev/null" });
        var ids = Enumerable.Range(0, 50).Select(i => Sandbox.NewId($"p{i}")).ToList();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.ForEach(ids, new ParallelOptions { MaxDegreeOfParallelism = 50 }, id =>
        {
            foreach (var step in new[] { new[] { "create", "--bundle", bundle, id }, new[] { "start", id } })
            {
                var r = s.Berth(step);
                if (r.ExitCode != 0) failures.Add($"{step[0]} {id}: {r.Stderr}");
            }
            var deadline = Environment.TickCount64 + 20_000;
            while (Environment.TickCount64 < deadline && !s.Berth("state", id).Stdout.Contains("\"stopped\"")) Thread.Sleep(20);
            var d = s.Berth("delete", id);
            if (d.ExitCode != 0) failures.Add($"delete {id}: {d.Stderr}");
        });
        Assert.Empty(failures);
        NothingLeft(s, ids, Path.Combine(bundle, "rootfs"));
    }
}
