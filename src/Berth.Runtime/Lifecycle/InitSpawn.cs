using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Init;
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
    /// <summary>mounts[] index → the detached tree of its bind source (Rootfs.BindSources).</summary>
    public IReadOnlyList<(int Index, SafeFd Tree, bool Directory)> BindTrees { get; init; } = Array.Empty<(int, SafeFd, bool)>();
    /// <summary>Where init sends the pty master when the process has a terminal.</summary>
    public SafeFd? ConsoleSocket { get; set; }
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

    /// <summary>--preserve-fds N: fds 3 to 3+N-1 go to the container, so each must be open here.</summary>
    public static void CheckPreserveFds(int count)
    {
        const int Most = 1 << 16;
        if (count > Most) throw new RuntimeException($"--preserve-fds: {count} is more than {Most}");
        for (int fd = 3; fd < 3 + count; fd++)
            if (!Files.IsOpen(fd)) throw new RuntimeException($"--preserve-fds: {count} asks for fds 3 to {2 + count}, but fd {fd} is not open");
    }

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
            foreach (var (index, tree, directory) in BindTrees)
            {
                fds.Add(new ChildFd(tree, next));
                init.BindTrees[index] = (next++, directory);
            }
            // Never /proc/self/exe itself: an image whose entrypoint is "#!/proc/self/exe" would
            // make the container's process the host's binary, open for writing (CVE-2019-5736).
            _log.Debug($"{what}: protecting the executable");
            using var protectedExe = ProtectedExecutable.Open();
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
        byte[]? plan = null;
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
                    // While the stage enters its namespaces: the plan, unless it needs init's pid.
                    if (!PlanNeedsPid(init)) plan = PlanBuilder.Build(init).Encode();
                    break;
                case SyncType.CgroupRequest:
                    InitialAffinity(m.Pid);
                    BeforePlacement?.Invoke(m.Pid);
                    sync.Send(SyncType.CgroupDone);
                    break;
                case SyncType.ChildPid:
                    InitPid = m.Pid;
                    if (plan is null)
                    {
                        if (ListenerState is not null) init.SeccompListenerState = ListenerState(m.Pid);
                        init.HostPid = m.Pid;
                        plan = PlanBuilder.Build(init).Encode();
                    }
                    sync.Send(SyncType.Plan, plan);
                    _log.Debug($"{what}: plan sent ({plan.Length} bytes)");
                    // Init is our child (CLONE_PARENT) and unreaped: its pid cannot be reused meanwhile.
                    InitStartTime = ProcStat.Read(m.Pid)?.StartTime
                        ?? throw new RuntimeException($"init (pid {m.Pid}) died before it started");
                    // The intermediate process exits right after reporting; reap it.
                    Processes.Wait(_intermediatePid);
                    _intermediatePid = 0;
                    break;
                case SyncType.InitFailed:
                    throw new RuntimeException(InitFailure.Decode(m.Payload).Message);
                case SyncType.RuntimeHooks:
                    RuntimeHooks?.Invoke(InitPid);
                    sync.Send(SyncType.RuntimeHooksDone);
                    break;
                case SyncType.Error:
                    throw new RuntimeException(m.Text);
                case SyncType.Ready:
                    // Without a start barrier (exec) init goes on to execve: its end of the socket
                    // closes then (close-on-exec), or a failure of the last steps arrives first.
                    if (Fifo is null) AwaitExec(sync);
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

    /// <summary>Hook state documents and the seccomp agent's carry init's pid: those plans wait for it.</summary>
    bool PlanNeedsPid(InitConfig init) =>
        ListenerState is not null || init.Spec.Hooks?.CreateContainer is { Count: > 0 } || init.Spec.Hooks?.StartContainer is { Count: > 0 };

    static void AwaitExec(SyncSocket sync)
    {
        var after = sync.Receive();
        if (after is { Type: SyncType.InitFailed } f) throw new RuntimeException(InitFailure.Decode(f.Payload).Message);
        if (after is not null) throw new RuntimeException($"sync socket: unexpected message {after.Value.Type} after ready");
    }

    string ExitOfIntermediate()
    {
        if (_intermediatePid <= 0) return "";
        var r = Processes.Wait(_intermediatePid);
        _intermediatePid = 0;
        return r is { } w ? (w.Status.Signal != 0 ? $" (killed by {Signals.Name(w.Status.Signal)})" : $" (exit status {w.Status.Code})") : "";
    }

    /// <summary>
    /// The kernel's rules for who writes a child's maps: root (CAP_SETUID/CAP_SETGID over the
    /// parent namespace) writes any map directly; another caller may write only its own id,
    /// once, and gid_map only after setgroups is denied; anything more — several ranges, ids
    /// from /etc/subuid — goes through the setuid helpers newuidmap and newgidmap (uidmap).
    /// </summary>
    void WriteIdMaps(int pid)
    {
        bool privileged = Processes.EffectiveUid == 0;
        foreach (var (file, maps, field, own) in new[]
        {
            ("uid_map", UidMappings, "linux.uidMappings", Processes.EffectiveUid),
            ("gid_map", GidMappings, "linux.gidMappings", Processes.EffectiveGid),
        })
        {
            var list = maps ?? new();
            bool direct = privileged || (list.Count == 1 && list[0].HostId == own && list[0].Size == 1);
            try
            {
                if (direct)
                {
                    if (!privileged && file == "gid_map") Files.WriteFile($"/proc/{pid}/setgroups", "deny");
                    Files.WriteFile($"/proc/{pid}/{file}", string.Concat(list.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n")));
                }
                else
                {
                    RunIdMapHelper(file == "uid_map" ? "newuidmap" : "newgidmap", pid, list, field);
                }
            }
            catch (LinuxException e)
            {
                throw new RuntimeException($"{field}: writing /proc/{pid}/{file}: {Errnos.Describe(e.Errno)}", e);
            }
        }
    }

    static void RunIdMapHelper(string tool, int pid, List<IdMapping> maps, string field)
    {
        var path = new[] { "/usr/bin", "/bin", "/usr/sbin", "/sbin" }.Select(d => Path.Join(d, tool)).FirstOrDefault(File.Exists)
            ?? throw new RuntimeException($"{field}: mapping more than this user's own id needs {tool} (Debian's uidmap package), which is not installed");
        var args = new List<string> { tool, pid.ToString() };
        foreach (var m in maps) args.AddRange(new[] { m.ContainerId.ToString()!, m.HostId.ToString()!, m.Size.ToString()! });
        var (outRead, outWrite) = Files.Pipe();
        int child;
        using (outWrite)
            child = Processes.Spawn(path, args, new[] { "PATH=/usr/sbin:/usr/bin:/sbin:/bin" },
                new[] { new ChildFd(outWrite, 1), new ChildFd(outWrite, 2) });
        string output;
        using (outRead) output = System.Text.Encoding.UTF8.GetString(Files.ReadToEnd(outRead)).Trim().ReplaceLineEndings(" ");
        var status = Processes.Wait(child)!.Value.Status;
        if (status.Code != 0 || status.Signal != 0)
            throw new RuntimeException($"{field}: {tool} refused the mapping (exit {status.ShellCode}){(output.Length > 0 ? ": " + output : "")}");
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
