using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// One test's world: a private state root, bundles with busybox-static rootfs, and on
/// Dispose every container force-deleted and everything removed — even when the test failed.
/// Integration tests drive out/berth, never an in-process runtime (/proc/self/exe here is dotnet).
/// </summary>
public sealed class Sandbox : IDisposable
{
    /// <summary>The runtime under test: out/berth-runtime (or $BERTH_RUNTIME).</summary>
    public static string Binary => Commands.Runtime;

    public string Work { get; }
    public string Root { get; }
    readonly List<string> _extraCleanup = new();

    public Sandbox()
    {
        Work = Directory.CreateTempSubdirectory("berth-test-").FullName;
        // 0755: a container's root in a user namespace is an unprivileged host uid and must reach its rootfs.
        File.SetUnixFileMode(Work, (UnixFileMode)0x1ed);
        Root = Path.Combine(Work, "state");
    }

    public static string NewId(string prefix = "t") => $"{prefix}-{Guid.NewGuid().ToString("N")[..12]}";

    /// <summary>Runs berth with this sandbox's --root.</summary>
    public Result Berth(params string[] args) => Exec(Binary, new[] { "--root", Root }.Concat(args).ToArray());

    public Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo(Binary) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in new[] { "--root", Root }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    public static Result Exec(string file, params string[] args) => Commands.Exec(file, args);

    /// <summary>
    /// A bundle from `berth spec` with a busybox rootfs: terminal off, the given command, and
    /// <paramref name="edit"/> applied to the config.
    /// </summary>
    public string Bundle(string[] args, Action<JsonObject>? edit = null, string name = "bundle")
    {
        var bundle = Path.Combine(Work, name);
        Directory.CreateDirectory(bundle);
        Rootfs.Make(Path.Combine(bundle, "rootfs"));
        Exec(Binary, "spec", "--bundle", bundle).Ok();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!.AsObject();
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray(args.Select(a => (JsonNode)a!).ToArray());
        edit?.Invoke(config);
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        return bundle;
    }

    public static JsonArray Namespaces(JsonObject config) => config["linux"]!["namespaces"]!.AsArray();

    /// <summary>A cgroup directory (absolute) the test asked for and must see removed.</summary>
    public void CleanupCgroup(string dir) => _extraCleanup.Add(dir);

    public JsonObject State(string id)
    {
        var r = Berth("state", id).Ok();
        return JsonNode.Parse(r.Stdout)!.AsObject();
    }

    public string Status(string id) => (string)State(id)["status"]!;

    /// <summary>Polls until the container reaches <paramref name="status"/>.</summary>
    public void WaitForStatus(string id, string status, int timeoutMs = 10_000)
    {
        var sw = Stopwatch.StartNew();
        string last = "";
        while (sw.ElapsedMilliseconds < timeoutMs)
        {
            var r = Berth("state", id);
            if (r.ExitCode == 0 && (last = (string)JsonNode.Parse(r.Stdout)!["status"]!) == status) return;
            Thread.Sleep(20);
        }
        Assert.Fail($"container {id} did not become {status} in {timeoutMs} ms (last: {last})");
    }

    public void Dispose()
    {
        if (Directory.Exists(Root))
            foreach (var id in Directory.EnumerateDirectories(Root).Select(Path.GetFileName))
                if (id is not null && !id.StartsWith('.')) Berth("delete", "--force", id);
        foreach (var dir in _extraCleanup.OrderByDescending(d => d.Length))
            if (Directory.Exists(dir)) try { Directory.Delete(dir); } catch (IOException) { }
        try { Directory.Delete(Work, recursive: true); } catch (IOException) { }
    }
}

/// <summary>busybox-static plus one symlink per applet: the test rootfs.</summary>
public static class Rootfs
{
    static readonly Lazy<string[]> Applets = new(() =>
        Sandbox.Exec("/bin/busybox", "--list").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    public static void Make(string root)
    {
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "etc", "tmp", "root" })
            Directory.CreateDirectory(Path.Combine(root, d));
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var applet in Applets.Value)
        {
            var link = Path.Combine(root, "bin", applet);
            if (!File.Exists(link)) File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    }
}

/// <summary>The cgroup hierarchies of this host and of this (test) process, as berth will see them.</summary>
public static class HostCgroups
{
    /// <summary>(mountpoint, own path) for each hierarchy.</summary>
    public static IReadOnlyList<(string Mount, string Own)> Hierarchies()
    {
        var list = new List<(string, string)>();
        foreach (var h in Cgroups.Hierarchy.Discover()) list.Add((h.Mountpoint, h.OwnPath));
        return list;
    }

    /// <summary>Where a relative cgroupsPath lands in every hierarchy.</summary>
    public static IEnumerable<string> DirsFor(string relative) =>
        Hierarchies().Select(h => Path.Join(h.Mount, h.Own.TrimStart('/'), relative));
}
