using System.Diagnostics;
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
        Assert.Empty(Directory.Exists(s.Root) ? Directory.GetDirectories(s.Root) : Array.Empty<string>());
        foreach (var id in idList)
            Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
        Assert.DoesNotContain(rootfs, File.ReadAllText("/proc/self/mountinfo"));
        KillDeleteTests.WaitUntil(() => InitProcesses().Count == 0, 5000);
    }

    /// <summary>Processes that are (or are becoming) a container's init.</summary>
    static List<int> InitProcesses()
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmd == "berth\0init\0") found.Add(pid);
            }
            catch (IOException) { }
        }
        return found;
    }

    /// <summary>≥ 200 configs with a field removed, its type swapped or its value out of range.</summary>
    static IEnumerable<(string What, JsonObject Config)> Mutations(JsonObject baseConfig, int count, int seed)
    {
        var nodes = new List<(JsonNode Parent, string? Key, int Index, string Path)>();
        void Walk(JsonNode node, string path)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList())
                {
                    nodes.Add((o, k, -1, $"{path}.{k}"));
                    if (v is not null) Walk(v, $"{path}.{k}");
                }
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++)
                {
                    nodes.Add((a, null, i, $"{path}[{i}]"));
                    if (a[i] is not null) Walk(a[i]!, $"{path}[{i}]");
                }
        }
        Walk(baseConfig, "$");
        Func<JsonNode?>[] values =
        {
            () => null, () => 7, () => -1, () => 1e300, () => "text", () => "", () => true,
            () => new JsonArray(), () => new JsonObject(), () => JsonNode.Parse("18446744073709551616"),
            () => new JsonArray(1, "x", null), () => "../../../../etc", () => int.MinValue,
        };
        var rng = new Random(seed);
        for (int n = 0; n < count; n++)
        {
            var copy = baseConfig.DeepClone().AsObject();
            var pick = nodes[rng.Next(nodes.Count)];
            // Find the same place in the copy by walking the path again.
            var target = Locate(copy, pick.Path);
            string what;
            if (rng.Next(4) == 0 && target.Parent is JsonObject po)
            {
                po.Remove(target.Key!);
                what = $"remove {pick.Path}";
            }
            else
            {
                var v = values[rng.Next(values.Length)]();
                if (target.Parent is JsonObject o) o[target.Key!] = v;
                else ((JsonArray)target.Parent)[target.Index] = v;
                what = $"{pick.Path} = {v?.ToJsonString() ?? "null"}";
            }
            yield return (what, copy);
        }
    }

    static (JsonNode Parent, string? Key, int Index) Locate(JsonObject root, string path)
    {
        JsonNode parent = root;
        string? key = null;
        int index = -1;
        var tokens = System.Text.RegularExpressions.Regex.Matches(path[1..], @"\.([^.\[]+)|\[(\d+)\]").ToList();
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i];
            if (i > 0) parent = key is not null ? parent[key]! : parent[index]!;
            if (t.Groups[1].Success) { key = t.Groups[1].Value; index = -1; }
            else { key = null; index = int.Parse(t.Groups[2].Value); }
        }
        return (parent, key, index);
    }

    [Fact]
    public void Two_hundred_mutated_configs_never_crash_and_leave_nothing_behind()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", "sleep 30" }, c => Sandbox.Namespaces(c).Add(new JsonObject { ["type"] = "cgroup" }));
        var configPath = Path.Combine(bundle, "config.json");
        var baseConfig = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        var ids = new List<string>();
        int created = 0, refused = 0;
        foreach (var (what, config) in Mutations(baseConfig, 220, seed: 20261122))
        {
            File.WriteAllText(configPath, config.ToJsonString());
            var id = Sandbox.NewId("m");
            ids.Add(id);
            var r = s.Berth("create", "--bundle", bundle, id);
            Assert.True(r.ExitCode is 0 or 1, $"{what}: exit {r.ExitCode}\n{r.Stderr}");
            Assert.DoesNotContain("   at ", r.Stderr);
            Assert.DoesNotContain("Exception", r.Stderr);
            Assert.True(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 1, $"{what}: more than one line\n{r.Stderr}");
            if (r.ExitCode == 0)
            {
                created++;
                s.Berth("delete", "--force", id).Ok();
            }
            else
            {
                refused++;
                Assert.StartsWith("berth: ", r.Stderr);
                Assert.False(Directory.Exists(Path.Combine(s.Root, id)), $"{what}: state left behind");
            }
        }
        Assert.True(refused > 50 && created > 10, $"the mutations should both break and keep configs working ({created} created, {refused} refused)");
        NothingLeft(s, ids, Path.Combine(bundle, "rootfs"));
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
