using System.Diagnostics;
using System.Formats.Tar;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>
/// A private engine for one test: its own --store and --root under a temp directory, the
/// busybox image imported into it. Disposing removes every container (rm -f -v, then any
/// conmon it recorded, by pid), unmounts what is left under the directory and deletes it.
/// </summary>
public sealed class EngineSandbox : IDisposable
{
    public const string Image = "test/busybox";
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-eng-").FullName;
    public string Store => Path.Combine(Dir, "store");
    public string Root => Path.Combine(Dir, "run");
    public static string Berth => Commands.Binary;

    /// <summary>
    /// Containers join no network unless a test names one (BERTH_DEFAULT_NETWORK, containers.conf's
    /// default_network): the default `berth` bridge is the host's, 10.88.0.0/16 on berth0, and tests
    /// make networks of their own (EngineNetworkTests). Conflists go to a directory of this run's.
    /// </summary>
    static EngineSandbox()
    {
        Environment.SetEnvironmentVariable("BERTH_DEFAULT_NETWORK", "none");
        var netd = Directory.CreateTempSubdirectory("berth-eng-net.d-").FullName;
        Environment.SetEnvironmentVariable("BERTH_NETWORK_CONFIG_DIR", netd);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(netd, recursive: true); } catch (IOException) { } };
    }

    public EngineSandbox()
    {
        var tar = Path.Combine(Dir, "busybox.tar");
        BusyboxTar(tar);
        Run("image", "import", tar, Image).Ok();
        File.Delete(tar);
    }

    /// <summary>Debian's static busybox, an applet link each, a passwd with a non-root user, and /data/seed.txt for volume seeding.</summary>
    static void BusyboxTar(string path)
    {
        using var fs = File.Create(path);
        using var w = new TarWriter(fs, TarEntryFormat.Pax);
        void Dir(string name, UnixFileMode mode = (UnixFileMode)0x1ed) => w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode });
        void FileEntry(string name, string content) =>
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1a4, DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(content)) });
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "etc", "tmp", "root", "data", "run" }) Dir(d);
        w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0x1ed, DataStream = File.OpenRead("/bin/busybox") });
        var applets = Commands.Exec("/bin/busybox", "--list").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var a in applets.Where(a => a != "busybox"))
            w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, $"bin/{a}") { LinkName = "busybox", Mode = (UnixFileMode)0x1ff });
        FileEntry("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        FileEntry("etc/group", "root:x:0:\nnogroup:x:65534:\n");
        FileEntry("data/seed.txt", "from the image\n");
    }

    /// <summary>`berth --store S --root R ARGS…`.</summary>
    public Result Run(params string[] args) => Commands.Exec(Berth, Global.Concat(args).ToArray());

    public string[] Global => new[] { "--store", Store, "--root", Root };

    /// <summary>The CLI started, not waited for: for kill -9 tests. Output in files, as <see cref="Commands.Exec"/> does.</summary>
    public Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1");
        psi.ArgumentList.Add(Berth);
        foreach (var a in Global.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    public string[] ContainerDirs() =>
        Directory.Exists(Path.Combine(Store, "containers")) ? Directory.GetDirectories(Path.Combine(Store, "containers")) : Array.Empty<string>();

    /// <summary>Mounts under this sandbox (overlay roots of containers).</summary>
    public List<string> Mounts() => Linux.MountInfo.Read().Select(m => m.MountPoint).Where(mp => mp.StartsWith(Dir, StringComparison.Ordinal)).ToList();

    /// <summary>What the runtime still holds under this sandbox's --root.</summary>
    public string RuntimeList() => Commands.Exec(Commands.Runtime, "--root", Root, "list", "-q").Stdout.Trim();

    /// <summary>conmon processes monitoring a container of this store (their command line names its bundle).</summary>
    public List<int> Conmons() => Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit)).Select(int.Parse!)
        .Where(pid =>
        {
            try { var cmd = File.ReadAllText($"/proc/{pid}/cmdline"); return cmd.StartsWith("/usr/bin/conmon") && cmd.Contains(Store); }
            catch (IOException) { return false; }
        }).ToList();

    /// <summary>Polls (bounded) until <paramref name="condition"/> holds.</summary>
    public static void Eventually(Func<bool> condition, string what, int timeoutMs = 15_000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) Assert.Fail($"timed out after {timeoutMs} ms waiting for {what}");
            Thread.Sleep(25);
        }
    }

    public void Dispose()
    {
        try { Run("rm", "-a", "-f", "-v"); } catch (Exception) { }
        foreach (var pid in Conmons())
            try { Process.GetProcessById(pid).Kill(); } catch (Exception) { }
        if (RuntimeList() is { Length: > 0 } left)
            foreach (var id in left.Split('\n')) Commands.Exec(Commands.Runtime, "--root", Root, "delete", "--force", id.Trim());
        foreach (var mp in Mounts().OrderByDescending(m => m.Length)) Commands.Exec("umount", "-l", mp);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
