using System.Text;
using Berth.Oci.Json;
using Berth.Linux;
using Berth.Oci;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Protocol;
using Berth.Runtime.Security;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `create`: everything that can fail is resolved here or in init before the exec barrier,
/// and a failure leaves nothing behind — no state dir, cgroup or process.
/// </summary>
public sealed class Launcher
{
    readonly StateStore _store;
    readonly Log _log;

    public Launcher(StateStore store, Log log)
    {
        _store = store;
        _log = log;
    }

    /// <summary>A container waiting at its exec barrier, with its state directory still locked.</summary>
    public sealed record Created(ContainerDir Dir, ContainerRecord Record);

    public Created Create(CreateOptions o)
    {
        _log.Debug("create: start");
        ContainerId.Validate(o.Id);
        var bundle = Path.GetFullPath(o.Bundle);
        var spec = LoadSpec(bundle);
        _log.Debug("create: spec loaded");
        var rootfs = Path.GetFullPath(Path.Combine(bundle, spec.Root!.Path!));
        if (!Directory.Exists(rootfs))
            throw new RuntimeException($"root.path: {rootfs}: {(File.Exists(rootfs) ? "is not a directory" : "no such directory")}");

        Lsm.Check(spec);
        var caps = CapabilityResolver.Resolve(spec.Process!.Capabilities, Linux.Security.Capabilities.OwnBounding(), _log);
        var seccomp = spec.Linux?.Seccomp is { } profile ? new SeccompCache(_store.Root).Get(profile, _log) : null;
        _log.Debug("create: security resolved");
        using var listener = seccomp is { Notify: true } ? ConnectListener(spec.Linux!.Seccomp!.ListenerPath!) : null;
        using var ns = NamespacePlan.From(spec);
        var placement = Placement.Plan(spec.Linux?.CgroupsPath, o.Id, Hierarchy.Discover());
        var record = new ContainerRecord
        {
            Id = o.Id,
            Bundle = bundle,
            Rootfs = rootfs,
            Created = Rfc3339Nano(DateTime.UtcNow),
            Owner = Processes.EffectiveUid == 0 ? "" : Processes.EffectiveUid.ToString(),
            Annotations = spec.Annotations,
            Cgroups = placement.Dirs.Select(d => d.Dir).ToList(),
            CreatedCgroups = placement.Missing.Reverse().ToList(),
        };

        // From here on the record on disk names every cgroup before it exists: a launcher killed
        // at any point leaves `delete --force` what it needs.
        _log.Debug("create: planned");
        var dir = _store.Create(o.Id, record);
        _log.Debug("create: state dir");
        var spawned = new Spawned();
        try
        {
            using var fifo = MakeExecFifo(dir.FifoPath, spec);

            // Socket activation (sd_listen_fds): fds 3.. are passed on, renumbered for pid 1.
            int listenFds = ListenFds();
            var init = new InitConfig
            {
                Id = o.Id,
                Spec = spec,
                Bundle = bundle,
                Rootfs = rootfs,
                NoPivot = o.NoPivot,
                PreserveFds = Math.Max(o.PreserveFds, listenFds),
                NoNewKeyring = o.NoNewKeyring,
                Capabilities = caps,
                SeccompProgram = seccomp is null ? null : Convert.ToBase64String(seccomp.Program),
                SeccompFlags = seccomp?.Flags ?? 0,
                ExtraEnv = listenFds > 0 ? new() { $"LISTEN_FDS={listenFds}", "LISTEN_PID=1" } : new(),
                Cgroups = placement.Dirs.Select(d => new CgroupDir { Name = d.Hierarchy.Name, Unified = d.Hierarchy.Unified, Dir = d.Dir }).ToList(),
            };
            Launch(spec, ns, init, fifo, listener, placement, spawned);
            _log.Debug("create: init ready");

            record.Pid = spawned.InitPid;
            record.PidStartTime = spawned.InitStartTime;
            dir.Write(record);
            if (o.PidFile is not null) WritePidFile(o.PidFile, record.Pid);
            return new Created(dir, record);
        }
        catch
        {
            spawned.Kill();
            try
            {
                Destroyer.Destroy(dir, record, _log);
            }
            catch (Exception e)
            {
                _log.Warn($"cleaning up after a failed create: {e.Message}");
            }
            dir.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The start barrier. Init holds an O_PATH descriptor from before pivot_root and reopens it
    /// for writing, which the kernel permits only if its (possibly user-namespaced) root may write:
    /// mode 0622, owned by the container's root.
    /// </summary>
    static SafeFd MakeExecFifo(string path, Spec spec)
    {
        Files.MkFifo(path);
        Files.Chmod(path, 0x192 /* 0622 */);
        uint uid = HostIdOf(spec.Linux?.UidMappings, 0), gid = HostIdOf(spec.Linux?.GidMappings, 0);
        if (uid != 0 || gid != 0) Files.Chown(path, uid, gid);
        return Files.Open(path, O.PATH);
    }

    /// <summary>The host id that container id <paramref name="id"/> maps to (itself without a mapping).</summary>
    public static uint HostIdOf(List<IdMapping>? maps, uint id)
    {
        if (maps is null || maps.Count == 0) return id;
        foreach (var m in maps)
            if (m is { ContainerId: uint c, HostId: uint h, Size: uint n } && id >= c && id - c < n) return h + (id - c);
        return 65534; // overflow id: unmapped
    }

    public static Spec LoadSpec(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RuntimeException($"bundle: {path}: {e.Message}");
        }
        try
        {
            var spec = SpecReader.Parse(json);
            SpecValidator.Validate(spec);
            return spec;
        }
        catch (SpecException e)
        {
            throw new RuntimeException($"config.json: {e.Message}", e);
        }
    }

    /// <summary>Processes started so far, so a failed create can end them.</summary>
    sealed class Spawned
    {
        public int IntermediatePid;
        public int InitPid;
        public ulong InitStartTime;

        public void Kill()
        {
            if (InitPid > 0 && Pidfd.OpenIfAlive(InitPid, InitStartTime) is { } fd)
                using (fd) Pidfd.SendSignal(fd, Signals.SIGKILL);
            if (IntermediatePid > 0)
            {
                Interop.Kill(IntermediatePid);
                try { Processes.Wait(IntermediatePid); } catch (LinuxException) { }
            }
        }
    }

    void Launch(Spec spec, NamespacePlan ns, InitConfig init, SafeFd fifo, SafeFd? listener, Placement placement, Spawned spawned)
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
            fds.Add(new ChildFd(fifo, fdBase + 2));
            init.FifoFd = fdBase + 2;
            var boot = new Bootstrap
            {
                SyncFd = fdBase + 1,
                CloneFlags = ns.CloneFlags,
                TimeOffsets = NamespacePlan.TimeOffsets(spec.Linux?.TimeOffsets),
            };
            int next = fdBase + 3;
            foreach (var (flag, fd) in ns.Joins)
            {
                fds.Add(new ChildFd(fd, next));
                boot.Joins.Add((flag, next++));
            }
            if (listener is not null)
            {
                fds.Add(new ChildFd(listener, next));
                init.SeccompListenerFd = next++;
            }

            // From a sealed copy whenever a process of the container could see init running:
            // a new pid namespace has no other process until init execs (CVE-2019-5736).
            using var sealedCopy = ns.Set.New("pid") ? null : SealedExecutable.Create();
            var exe = "/proc/self/exe";
            if (sealedCopy is not null)
            {
                fds.Add(new ChildFd(sealedCopy, next));
                exe = $"/proc/self/fd/{next++}";
            }
            _log.Debug("create: spawning");
            using (bootRead)
            using (syncChild)
            {
                spawned.IntermediatePid = Processes.Spawn(exe, new[] { "berth", "init" },
                    new[] { $"_BERTH_BOOTSTRAP={fdBase}", $"_BERTH_SYNC={fdBase + 1}" }, fds);
            }
            _log.Debug("create: spawned");
            Files.WriteAll(bootWrite, boot.Encode(), "bootstrap pipe");
        }

        // While the child execs and enters its namespaces, make its cgroups: it asks to be
        // placed only after that, so the two overlap.
        placement.Create();
        _log.Debug("create: cgroups made");

        while (true)
        {
            var msg = sync.Receive();
            if (msg is null) throw new RuntimeException($"init exited before it was ready{ExitOf(spawned)}");
            var m = msg.Value;
            _log.Debug($"create: message {m.Type}");
            switch (m.Type)
            {
                case SyncType.UsermapRequest:
                    WriteIdMaps(m.Pid, spec.Linux!);
                    sync.Send(SyncType.UsermapDone);
                    break;
                case SyncType.CgroupRequest:
                    // Before the cgroup join, as the spec's "initial" affinity asks.
                    if (spec.Process!.ExecCpuAffinity?.Initial is { } initial)
                        ProcessAttributes.SetAffinity(m.Pid, CpuList.Parse(initial, "process.execCPUAffinity.initial"));
                    Placement.Enter(placement.Dirs.Select(d => d.Dir), m.Pid);
                    sync.Send(SyncType.CgroupDone);
                    break;
                case SyncType.ChildPid:
                    spawned.InitPid = m.Pid;
                    spawned.InitStartTime = ProcStat.Read(m.Pid)?.StartTime
                        ?? throw new RuntimeException($"init (pid {m.Pid}) died before it started");
                    // The intermediate process exits right after reporting; reap it.
                    Processes.Wait(spawned.IntermediatePid);
                    spawned.IntermediatePid = 0;
                    if (listener is not null) init.SeccompListenerState = ListenerState(spec, init, m.Pid);
                    sync.Send(SyncType.InitConfig, JsonOut.Document(init));
                    break;
                case SyncType.Error:
                    throw new RuntimeException(m.Text);
                case SyncType.Ready:
                    return;
                default:
                    throw new RuntimeException($"sync socket: unexpected message {m.Type}");
            }
        }
    }

    static string ExitOf(Spawned s)
    {
        if (s.IntermediatePid <= 0) return "";
        var r = Processes.Wait(s.IntermediatePid);
        s.IntermediatePid = 0;
        return r is { } w ? (w.Status.Signal != 0 ? $" (killed by {Signals.Name(w.Status.Signal)})" : $" (exit status {w.Status.Code})") : "";
    }

    static SafeFd ConnectListener(string path)
    {
        try
        {
            return Sockets.ConnectUnix(path);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"linux.seccomp.listenerPath: {e.Message}", e);
        }
    }

    /// <summary>
    /// The document sent with the seccomp listener fd (runtime-spec "ContainerProcessState"):
    /// which fds come along, the container's pid and metadata, and its state.
    /// </summary>
    static string ListenerState(Spec spec, InitConfig init, int pid) => System.Text.Encoding.UTF8.GetString(JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", SpecVersion.Current);
        w.WriteStartArray("fds");
        w.WriteStringValue("seccompFd");
        w.WriteEndArray();
        w.WriteNumber("pid", pid);
        w.Opt("metadata", spec.Linux!.Seccomp!.ListenerMetadata);
        w.WriteStartObject("state");
        new State { Id = init.Id, Status = Status.Creating, Pid = pid, Bundle = init.Bundle, Annotations = spec.Annotations }.Write(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }));

    /// <summary>LISTEN_FDS, when systemd's LISTEN_PID names this process.</summary>
    static int ListenFds()
    {
        if (Environment.GetEnvironmentVariable("LISTEN_PID") != Environment.ProcessId.ToString()) return 0;
        return int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), out int n) && n is > 0 and < 1024 ? n : 0;
    }

    /// <summary>Root writes any map directly; newuidmap/newgidmap are only for rootless callers.</summary>
    static void WriteIdMaps(int pid, Oci.Runtime.Linux linux)
    {
        static string Lines(List<IdMapping> maps) =>
            string.Concat(maps.Select(m => $"{m.ContainerId} {m.HostId} {m.Size}\n"));
        try
        {
            Files.WriteFile($"/proc/{pid}/uid_map", Lines(linux.UidMappings!));
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"linux.uidMappings: writing /proc/{pid}/uid_map: {Errnos.Describe(e.Errno)}", e);
        }
        try
        {
            Files.WriteFile($"/proc/{pid}/gid_map", Lines(linux.GidMappings!));
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"linux.gidMappings: writing /proc/{pid}/gid_map: {Errnos.Describe(e.Errno)}", e);
        }
    }

    /// <summary>Written to a temporary name and renamed, so a reader never sees a partial pid.</summary>
    public static void WritePidFile(string path, int pid)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}");
        File.WriteAllText(tmp, pid.ToString());
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>Go's RFC3339Nano: UTC, fraction without trailing zeros.</summary>
    public static string Rfc3339Nano(DateTime utc)
    {
        var frac = (utc.Ticks % TimeSpan.TicksPerSecond * 100).ToString("D9").TrimEnd('0');
        return utc.ToString("yyyy-MM-ddTHH:mm:ss") + (frac.Length > 0 ? "." + frac : "") + "Z";
    }

    static class Interop
    {
        public static void Kill(int pid)
        {
            if (Pidfd.Open(pid) is { } fd) using (fd) Pidfd.SendSignal(fd, Signals.SIGKILL);
        }
    }
}
