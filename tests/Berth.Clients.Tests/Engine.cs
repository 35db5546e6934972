using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// What every engine fixture shares: a private directory, the runtime under test, the test image, failure
/// messages that carry what the runtime was asked and answered, and a teardown that fails when anything
/// had to be removed by force (a leak of the engine or of the runtime under it).
/// </summary>
public abstract class Engine : IDisposable
{
    /// <summary>Short (unix socket paths are limited to 108 bytes) and unique to this fixture.</summary>
    public string Dir { get; }
    public RuntimeUnderTest Runtime { get; }

    /// <summary>A cgroup name unique to this fixture: the engine's cgroup parent, relative, so it lands under the runtime's own cgroup.</summary>
    public string CgroupParent { get; }

    long _testStart = RuntimeUnderTest.Now();
    protected readonly List<string> Leaks = new();

    protected Engine(string name, int? runtimeOwner = null, Action<string>? prepareDir = null)
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        Dir = Path.Combine("/tmp", $"berth-{name}-{tag}");
        Directory.CreateDirectory(Dir);
        File.SetUnixFileMode(Dir, (UnixFileMode)0x1ed);
        prepareDir?.Invoke(Dir);
        CgroupParent = $"berth-{name}-{tag}";
        Runtime = new RuntimeUnderTest(name, Dir, runtimeOwner);
    }

    /// <summary>Marks the start of a test: failure messages show the runtime calls made from here on.</summary>
    public void BeginTest()
    {
        _testStart = RuntimeUnderTest.Now();
        MarkLog();
    }

    /// <summary>Remembers where the engine's log stands, so <see cref="EngineLog"/> shows only this test's part.</summary>
    protected virtual void MarkLog() { }

    /// <summary>The engine's own log, the part worth reading on a failure.</summary>
    protected abstract string EngineLog();

    public string Explain(Outcome r) => $"{r}\n{Runtime.Describe(_testStart)}{EngineLog()}";

    public Outcome Ok(Outcome r) => Exit(0, r);

    public Outcome Exit(int code, Outcome r)
    {
        if (r.ExitCode != code) Assert.Fail($"expected exit {code}, got {r.ExitCode}\n{Explain(r)}");
        return r;
    }

    public void Stdout(string expected, Outcome r)
    {
        if (r.Stdout != expected) Assert.Fail($"expected stdout {Tool.Quote(expected)}\n{Explain(r)}");
    }

    public void StdoutHas(string part, Outcome r)
    {
        if (!r.Stdout.Contains(part, StringComparison.Ordinal)) Assert.Fail($"expected stdout to contain {Tool.Quote(part)}\n{Explain(r)}");
    }

    public void Holds(bool condition, string what, Outcome r)
    {
        if (!condition) Assert.Fail($"expected: {what}\n{Explain(r)}");
    }

    /// <summary>Whether a cgroup directory under the fixture's parent is a container's (docker and ctr: every child; podman: libpod-*).</summary>
    protected virtual bool IsContainerCgroup(string dir) => true;

    List<string> ContainerCgroups() => HostCleanup.CgroupDirsNamed(CgroupParent)
        .SelectMany(d => Directory.EnumerateDirectories(d, "*", SearchOption.AllDirectories))
        .Where(IsContainerCgroup).OrderByDescending(d => d.Length).ToList();

    /// <summary>After a test removed its containers: no container cgroup may be left under the fixture's parent.</summary>
    public void AssertNoContainerCgroups(string afterWhat)
    {
        var left = ContainerCgroups();
        if (left.Count == 0) return;
        var removed = left.SelectMany(HostCleanup.RemoveCgroupTree).ToList();
        Assert.Fail($"{afterWhat}: container cgroups left behind (removed now):\n  {string.Join("\n  ", removed)}\n{Runtime.Describe(_testStart)}");
    }

    /// <summary>The runtime's state directories of containers (under each `--root` the engine passes), for the leak check.</summary>
    protected virtual IEnumerable<string> RuntimeStateRoots() => [];

    /// <summary>After a test removed its containers: the runtime kept no state for any of them.</summary>
    public void AssertNoRuntimeState(string afterWhat)
    {
        var left = RuntimeStateRoots().Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories).Where(d => !Path.GetFileName(d).StartsWith('.')).ToList();
        if (left.Count > 0)
            Assert.Fail($"{afterWhat}: the runtime kept state for removed containers:\n  {string.Join("\n  ", left)}\n{Runtime.Describe(_testStart)}");
    }

    /// <summary>Stops the engine (by pid) and removes what it made, leaving the host as it was.</summary>
    protected abstract void Shutdown();

    public void Dispose()
    {
        try { Shutdown(); }
        catch (Exception e) { Leaks.Add($"shutdown failed: {e.Message}"); }
        Leaks.AddRange(HostCleanup.Kill(HostCleanup.ProcessesMentioning(Dir)));
        Leaks.AddRange(HostCleanup.UnmountAll(Dir).Select(m => $"mount {m}"));
        // The parent and the engine's own cgroups under it (podman's conmon) are the engine's to leave; a container's is a leak.
        Leaks.AddRange(ContainerCgroups().Select(d => $"container cgroup {d}"));
        foreach (var cg in HostCleanup.CgroupDirsNamed(CgroupParent))
            Leaks.AddRange(HostCleanup.RemoveCgroupTree(cg).Where(c => !c.StartsWith("cgroup ", StringComparison.Ordinal) || c.EndsWith("(could not be removed)", StringComparison.Ordinal)));
        Runtime.Keep();
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException e) { Leaks.Add($"{Dir}: {e.Message}"); }
        catch (UnauthorizedAccessException e) { Leaks.Add($"{Dir}: {e.Message}"); }
        GC.SuppressFinalize(this);
        if (Leaks.Count > 0)
            throw new InvalidOperationException($"{GetType().Name}: left on the host and removed by force:\n  {string.Join("\n  ", Leaks)}");
    }
}
