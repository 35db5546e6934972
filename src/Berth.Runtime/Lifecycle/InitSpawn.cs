using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Protocol;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// Starts `berth init` and walks it through the nsenter stage to Ready: the part of the
/// process model that `create`, `run` and `exec` share. The caller sets what differs —
/// namespaces to create or join, the cgroups, the barrier — and disposes to end whatever
/// was started if the launch failed.
/// </summary>
public sealed class InitSpawn : IDisposable
{
    readonly Log _log;

    public InitSpawn(Log log) => _log = log;

    public int CloneFlags { get; init; }
    public IReadOnlyList<(int Flag, SafeFd Fd)> Joins { get; init; } = Array.Empty<(int, SafeFd)>();
    public string TimeOffsets { get; init; } = "";
    /// <summary>O_PATH exec.fifo for create's barrier; null for exec.</summary>
    public SafeFd? Fifo { get; set; }
    public SafeFd? SeccompListener { get; init; }
    /// <summary>Where init sends the pty master when the process has a terminal.</summary>
    public SafeFd? ConsoleSocket { get; set; }
    /// <summary>Where the read-only view of this binary is set up (the state root).</summary>
    public required string ScratchDir { get; init; }
    public List<IdMapping>? UidMappings { get; init; }
    public List<IdMapping>? GidMappings { get; init; }
    public IReadOnlyList<string> CgroupDirs { get; init; } = Array.Empty<string>();
    /// <summary>The one of <see cref="CgroupDirs"/> that is a cgroup v2 directory, if any.</summary>
    public string? UnifiedCgroupDir { get; init; }
    /// <summary>Runs while the child execs and enters its namespaces (create makes its cgroups here).</summary>
    public Action? WhileChildStarts { get; init; }
    public string? InitialCpus { get; init; }
    /// <summary>Runs with the nsenter stage's pid when it asks to be placed: its namespaces exist, it runs nothing yet.</summary>
    public Action<int>? BeforePlacement { get; init; }
    /// <summary>The document for the seccomp agent, given init's pid.</summary>
    public Func<int, string>? ListenerState { get; set; }
    /// <summary>prestart and createRuntime hooks, run when init has mounted everything (given init's pid).</summary>
    public Action<int>? RuntimeHooks { get; set; }

    public int InitPid { get; private set; }
    public ulong InitStartTime { get; private set; }
    int _intermediatePid;
    bool _ready;

    /// <summary>Spawns init, answers the nsenter stage, sends <paramref name="init"/>, and returns once init is Ready.</summary>
    public void Run(InitConfig init, string what)
    {
        var (bootRead, bootWrite) = Files.Pipe();
        var (syncParent, syncChild) = Sockets.UnixStreamPair();
        using var sync = new SyncSocket(syncParent);
        using (bootWrite)
        {
            // Child descriptor layout: 0-2 stdio, 3.. the fds kept by --preserve-fds, then ours.
            int fdBase = 3 + init.PreserveFds;
            var fds = new List<ChildFd>();
            for (int i = 0; i < init.PreserveFds; i++) fds.Add(new ChildFd(new SafeFd(3 + i, ownsHandle: false), 3 + i));
            fds.Add(new ChildFd(bootRead, fdBase));
            fds.Add(new ChildFd(syncChild, fdBase + 1));
            int next = fdBase + 2;
            if (Fifo is not null)
            {
                fds.Add(new ChildFd(Fifo, next));
                init.FifoFd = next++;
            }
            var boot = new Bootstrap { SyncFd = fdBase + 1, CloneFlags = CloneFlags, TimeOffsets = TimeOffsets };
            foreach (var (flag, fd) in Joins)
            {
                fds.Add(new ChildFd(fd, next));
                boot.Joins.Add((flag, next++));
            }
            PlanPlacement(boot);
            if (SeccompListener is not null)
            {
                fds.Add(new ChildFd(SeccompListener, next));
                init.SeccompListenerFd = next++;
            }
            if (ConsoleSocket is not null)
            {
                fds.Add(new ChildFd(ConsoleSocket, next));
                init.ConsoleSocketFd = next++;
            }
            // Never /proc/self/exe itself: an image whose entrypoint is "#!/proc/self/exe" would
            // make the container's process the host's binary, open for writing (CVE-2019-5736).
            _log.Debug($"{what}: protecting the executable");
            using var protectedExe = ProtectedExecutable.Open(ScratchDir);
            fds.Add(new ChildFd(protectedExe, next));
            var exe = $"/proc/self/fd/{next++}";
            _log.Debug($"{what}: spawning");
            using (bootRead)
            using (syncChild)
            {
                _intermediatePid = Processes.Spawn(exe, new[] { "berth", "init" },
                    new[] { $"_BERTH_BOOTSTRAP={fdBase}", $"_BERTH_SYNC={fdBase + 1}" }, fds);
            }
            Files.WriteAll(bootWrite, boot.Encode(), "bootstrap pipe");
        }

        WhileChildStarts?.Invoke();
        _log.Debug($"{what}: spawned");
        bool affinitySet = false;
        void InitialAffinity(int pid)
        {
            // Before the cgroup join, as the spec's "initial" affinity asks.
            if (InitialCpus is not null && !affinitySet)
                ProcessAttributes.SetAffinity(pid, CpuList.Parse(InitialCpus, "process.execCPUAffinity.initial"));
            affinitySet = true;
        }

        while (true)
        {
            var msg = sync.Receive();
            if (msg is null) throw new RuntimeException($"init exited before it was ready{ExitOfIntermediate()}");
            var m = msg.Value;
            _log.Debug($"{what}: message {m.Type}");
            switch (m.Type)
            {
                case SyncType.UsermapRequest:
                    WriteIdMaps(m.Pid);
                    sync.Send(SyncType.UsermapDone);
                    break;
                case SyncType.PlaceRequest:
                    // The cgroups exist (WhileChildStarts made them); the stage joins them itself.
                    InitialAffinity(m.Pid);
                    sync.Send(SyncType.PlaceGo);
                    break;
                case SyncType.CgroupRequest:
                    InitialAffinity(m.Pid);
                    BeforePlacement?.Invoke(m.Pid);
                    sync.Send(SyncType.CgroupDone);
                    break;
                case SyncType.ChildPid:
                    InitPid = m.Pid;
                    InitStartTime = ProcStat.Read(m.Pid)?.StartTime
                        ?? throw new RuntimeException($"init (pid {m.Pid}) died before it started");
                    // The intermediate process exits right after reporting; reap it.
                    Processes.Wait(_intermediatePid);
                    _intermediatePid = 0;
                    if (ListenerState is not null) init.SeccompListenerState = ListenerState(m.Pid);
                    init.HostPid = m.Pid;
                    sync.Send(SyncType.InitConfig, JsonOut.Document(init));
                    break;
                case SyncType.RuntimeHooks:
                    RuntimeHooks?.Invoke(InitPid);
                    sync.Send(SyncType.RuntimeHooksDone);
                    break;
                case SyncType.Error:
                    throw new RuntimeException(m.Text);
                case SyncType.Ready:
                    _ready = true;
                    return;
                default:
                    throw new RuntimeException($"sync socket: unexpected message {m.Type}");
            }
        }
    }

    /// <summary>
    /// The stage joins every cgroup itself (native/nsenter.c, place_self: the launcher moving
    /// it would wait out an RCU grace period): v1 through <c>tasks</c>; v2 by having init born
    /// in it, unless a user namespace is involved — clone3 checks write access to the cgroup
    /// with the credentials the stage has then, which are no longer the host's — in which case
    /// through <c>cgroup.procs</c> before any namespace is entered.
    /// </summary>
    void PlanPlacement(Bootstrap boot)
    {
        bool userns = (CloneFlags & Namespaces.CLONE_NEWUSER) != 0 || Joins.Any(j => j.Flag == Namespaces.CLONE_NEWUSER);
        foreach (var dir in CgroupDirs)
        {
            if (dir != UnifiedCgroupDir) boot.Placement.Add((PlaceKind.WriteSelf, Path.Join(dir, "tasks")));
            else if (userns) boot.Placement.Add((PlaceKind.WriteSelf, Path.Join(dir, "cgroup.procs")));
            else boot.Placement.Add((PlaceKind.CloneInto, dir));
        }
    }

    string ExitOfIntermediate()
    {
        if (_intermediatePid <= 0) return "";
        var r = Processes.Wait(_intermediatePid);
        _intermediatePid = 0;
        return r is { } w ? (w.Status.Signal != 0 ? $" (killed by {Signals.Name(w.Status.Signal)})" : $" (exit status {w.Status.Code})") : "";
    }

    /// <summary>Root writes any map directly; newuidmap/newgidmap are only for rootless callers.</summary>
    void WriteIdMaps(int pid)
    {
        static string Lines(List<IdMapping>? maps) =>
            string.Concat((maps ?? new()).Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n"));
        foreach (var (file, maps, field) in new[] { ("uid_map", UidMappings, "linux.uidMappings"), ("gid_map", GidMappings, "linux.gidMappings") })
        {
            try
            {
                Files.WriteFile($"/proc/{pid}/{file}", Lines(maps));
            }
            catch (LinuxException e)
            {
                throw new RuntimeException($"{field}: writing /proc/{pid}/{file}: {Errnos.Describe(e.Errno)}", e);
            }
        }
    }

    /// <summary>Ends what was started unless init reached Ready (then it belongs to the container).</summary>
    public void Dispose()
    {
        if (_ready) return;
        if (InitPid > 0 && Pidfd.OpenIfAlive(InitPid, InitStartTime) is { } fd)
            using (fd) Pidfd.SendSignal(fd, Signals.SIGKILL);
        if (_intermediatePid > 0)
        {
            if (Pidfd.Open(_intermediatePid) is { } ifd) using (ifd) Pidfd.SendSignal(ifd, Signals.SIGKILL);
            try { Processes.Wait(_intermediatePid); } catch (LinuxException) { }
        }
        // A killed init is our child (CLONE_PARENT): reap it.
        if (InitPid > 0) try { Processes.Wait(InitPid); } catch (LinuxException) { }
    }
}
