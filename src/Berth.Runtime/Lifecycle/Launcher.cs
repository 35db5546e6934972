using System.Text;
using Berth.Oci.Json;
using Berth.Linux;
using Berth.Oci;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Protocol;
using Berth.Runtime.Rootfs;
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

    /// <summary>
    /// A container waiting at its exec barrier, with its state directory still locked.
    /// <paramref name="TerminalReceiver"/>: for a foreground `run` whose process has a terminal
    /// and no --console-socket, the socket the pty master arrives on.
    /// </summary>
    public sealed record Created(ContainerDir Dir, ContainerRecord Record, SafeFd? TerminalReceiver);

    /// <summary><paramref name="foreground"/>: `run` without --detach, which can hold the terminal itself.</summary>
    public Created Create(CreateOptions o, bool foreground = false)
    {
        _log.Debug("create: start");
        ContainerId.Validate(o.Id);
        InitSpawn.CheckPreserveFds(o.PreserveFds);
        var bundle = Path.GetFullPath(o.Bundle);
        var (spec, specBytes) = LoadSpec(bundle);
        _log.Debug("create: spec loaded");
        var rootfs = CheckRootfs(Path.GetFullPath(Path.Combine(bundle, spec.Root!.Path!)));
        ProcMounts.CheckDestinations(spec.Mounts, bundle);

        Lsm.Check(spec);
        PassNotifySocket(spec, _log);
        bool terminal = spec.Process!.Terminal == true;
        using var console = ConsoleSocketFor(terminal, o.ConsoleSocket, foreground);
        // Berth holds the pty for the user's terminal: init sends the master to `theirs`.
        var (ours, theirs) = terminal && console is null ? Sockets.UnixStreamPair() : ((SafeFd?)null, (SafeFd?)null);
        using var _ = theirs;
        var caps = CapabilityResolver.Resolve(spec.Process!.Capabilities, Linux.Security.Capabilities.OwnBounding(), _log);
        var seccomp = spec.Linux?.Seccomp is { } profile ? new SeccompCache(_store).Get(profile, _log) : null;
        _log.Debug("create: security resolved");
        using var listener = seccomp is { Notify: true } ? ConnectListener(spec.Linux!.Seccomp!.ListenerPath!) : null;
        using var ns = NamespacePlan.From(spec);
        Sysctl.Check(spec, ns);
        using var binds = Rootfs.BindSources.Open(spec, bundle);
        var cgroups = CgroupManagers.ForNew(spec.Linux?.CgroupsPath, o.Id, o.Rootless);
        var resources = spec.Linux?.Resources;
        // Every limit checked now, before anything exists; written once the cgroups do.
        var cgroupPlan = cgroups.Plan(resources, DeviceRules.From(resources, spec.Linux?.Devices));
        ResctrlGroups.Check(spec.Linux?.IntelRdt);
        foreach (var name in spec.Linux?.NetDevices?.Keys ?? Enumerable.Empty<string>())
            if (Netlink.IndexOf(name) == 0) throw new RuntimeException($"linux.netDevices[\"{name}\"]: no such network interface on this host");
        var record = new ContainerRecord
        {
            Id = o.Id,
            Bundle = bundle,
            Rootfs = rootfs,
            Created = Rfc3339Nano(DateTime.UtcNow),
            Owner = Processes.EffectiveUid == 0 ? "" : Processes.EffectiveUid.ToString(),
            Annotations = spec.Annotations,
            Cgroups = cgroups.Dirs.ToList(),
            CreatedCgroups = cgroups.Missing.Reverse().ToList(),
            FreezerDir = cgroups.Freezer?.Dir,
            FreezerV2 = cgroups.Freezer?.Unified ?? false,
            HasPoststart = spec.Hooks?.Poststart is { Count: > 0 },
            HasPoststop = spec.Hooks?.Poststop is { Count: > 0 },
        };

        // From here on the record on disk names every cgroup before it exists: a launcher killed
        // at any point leaves `delete --force` what it needs.
        Processes.SetDumpable(false);
        var dir = _store.Create(o.Id, record);
        _log.Debug("create: state dir");
        var spawn = new InitSpawn(_log)
        {
            CloneFlags = ns.CloneFlags,
            Joins = ns.Joins,
            TimeOffsets = NamespacePlan.TimeOffsets(spec.Linux?.TimeOffsets),
            SeccompListener = listener,
            UidMappings = spec.Linux?.UidMappings,
            GidMappings = spec.Linux?.GidMappings,
            CgroupDirs = cgroups.Dirs,
            UnifiedCgroupDir = cgroups.Placed.FirstOrDefault(d => d.Hierarchy.Unified).Dir,
            // The cgroups are made while the child execs and enters its namespaces: it asks to
            // be placed only after that, so the two overlap.
            WhileChildStarts = () =>
            {
                cgroups.Create();
                // Limits and device rules are in force before init is placed: from its first step on.
                cgroups.Apply(cgroupPlan);
            },
            InitialCpus = spec.Process.ExecCpuAffinity?.Initial,
            ConsoleSocket = console ?? theirs,
            BindTrees = binds.Trees,
            BeforePlacement = pid => JoinHostResources(spec, o.Id, pid, record, dir),
        };
        try
        {
            dir.WriteSpec(specBytes);
            using var fifo = MakeExecFifo(dir.FifoPath, spec);
            // Socket activation (sd_listen_fds): fds 3.. are passed on, renumbered for pid 1.
            int listenFds = ListenFds();
            var init = new InitConfig
            {
                Id = o.Id,
                Spec = ForInit(spec),
                Bundle = bundle,
                Rootfs = rootfs,
                NoPivot = o.NoPivot,
                PreserveFds = Math.Max(o.PreserveFds, listenFds),
                NoNewKeyring = o.NoNewKeyring,
                Capabilities = caps,
                SeccompProgram = seccomp?.Program,
                SeccompFlags = seccomp?.Flags ?? 0,
                ExtraEnv = listenFds > 0 ? new() { $"LISTEN_FDS={listenFds}", "LISTEN_PID=1" } : new(),
                Cgroups = cgroups.Placed.Select(d => new CgroupDir { Name = d.Hierarchy.Name, Unified = d.Hierarchy.Unified, Dir = d.Dir }).ToList(),
            };
            spawn.Fifo = fifo;
            spawn.RuntimeHooks = pid =>
            {
                // Runtime namespace, after the mounts and before pivot_root (runtime-spec lifecycle, step 3).
                var state = HookRunner.StateFor(o.Id, Status.Creating, pid, bundle, spec.Annotations);
                HookRunner.RunAll(spec.Hooks?.Prestart, "prestart", state);
                HookRunner.RunAll(spec.Hooks?.CreateRuntime, "createRuntime", state);
            };
            if (listener is not null) spawn.ListenerState = pid => ListenerStateFor(spec, o.Id, bundle, pid, Status.Creating);
            spawn.Run(init, "create");
            _log.Debug("create: init ready");

            record.Pid = spawn.InitPid;
            record.PidStartTime = spawn.InitStartTime;
            dir.Write(record);
            if (o.PidFile is not null) WritePidFile(o.PidFile, record.Pid);
            return new Created(dir, record, ours);
        }
        catch
        {
            ours?.Dispose();
            spawn.Dispose();
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
    /// The spec as init needs it: annotations only go to the hooks init runs (createContainer,
    /// startContainer), so a config carrying megabytes of them does not send them twice.
    /// Every other field of Spec is copied: a field added to Spec belongs here too.
    /// </summary>
    static Spec ForInit(Spec spec) =>
        spec.Hooks?.CreateContainer is { Count: > 0 } || spec.Hooks?.StartContainer is { Count: > 0 } || spec.Annotations is null
            ? spec
            : new Spec
            {
                OciVersion = spec.OciVersion, Process = spec.Process, Root = spec.Root, Hostname = spec.Hostname,
                Domainname = spec.Domainname, Mounts = spec.Mounts, Hooks = spec.Hooks, Linux = spec.Linux,
            };

    /// <summary>
    /// runc's rule for root.path: an existing directory reached without a symlink anywhere on
    /// its way (one openat2 with RESOLVE_NO_SYMLINKS). Init opens it the same way, so a link
    /// planted later cannot swap the container's root either.
    /// </summary>
    static string CheckRootfs(string rootfs)
    {
        using var slash = Files.Open("/", O.PATH | O.DIRECTORY);
        try
        {
            Files.OpenAt2(slash, rootfs.TrimStart('/') is { Length: > 0 } rel ? rel : ".", O.PATH | O.DIRECTORY, Resolve.NoSymlinks | Resolve.NoMagicLinks).Dispose();
            return rootfs;
        }
        catch (LinuxException e)
        {
            throw new RuntimeException(e.Errno switch
            {
                Errno.ELOOP => $"root.path: {rootfs} is a symlink or has one on its way; give the path it resolves to",
                Errno.ENOTDIR => $"root.path: {rootfs}: is not a directory",
                Errno.ENOENT => $"root.path: {rootfs}: no such directory",
                _ => $"root.path: {e.Message}",
            }, e);
        }
    }

    /// <summary>
    /// What the launcher hands the child once its namespaces exist and before it is placed:
    /// network devices moved into its network namespace, the Intel RDT group.
    /// </summary>
    static void JoinHostResources(Spec spec, string id, int pid, ContainerRecord record, ContainerDir dir)
    {
        if (spec.Linux?.NetDevices is { Count: > 0 } devices)
        {
            using var netns = Files.Open($"/proc/{pid}/ns/net", O.RDONLY);
            foreach (var (name, dev) in devices)
            {
                try { Netlink.MoveLink(name, netns, dev?.Name ?? name); }
                catch (LinuxException e) { throw new RuntimeException($"linux.netDevices[\"{name}\"]: {e.Message}", e); }
            }
        }
        if (spec.Linux?.IntelRdt is { } rdt)
        {
            var (rdtDir, created) = ResctrlGroups.Create(rdt, id);
            if (created)
            {
                record.CreatedRdtGroup = rdtDir;
                dir.Write(record);
            }
            ResctrlGroups.Enter(rdtDir, pid);
        }
    }

    /// <summary>
    /// NOTIFY_SOCKET pass-through: the caller's sd_notify socket is bound into the container at
    /// /run/notify/notify.sock and the process is told so, so READY=1 from inside reaches the
    /// caller (systemd, conmon) directly.
    /// </summary>
    static void PassNotifySocket(Spec spec, Log log)
    {
        var socket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(socket)) return;
        if (!socket.StartsWith('/'))
        {
            log.Warn($"NOTIFY_SOCKET {socket} is not a path (abstract sockets live in the host's network namespace); not passed to the container");
            return;
        }
        const string inside = "/run/notify/notify.sock";
        (spec.Mounts ??= new()).Add(new Mount { Destination = inside, Type = "bind", Source = socket, Options = new() { "bind" } });
        var env = spec.Process!.Env ??= new();
        env.RemoveAll(e => e.StartsWith("NOTIFY_SOCKET="));
        env.Add("NOTIFY_SOCKET=" + inside);
    }

    /// <summary>
    /// runc's rules for process.terminal: a terminal needs a console socket unless Berth stays
    /// in the foreground to hold it; a console socket without a terminal is a mistake.
    /// </summary>
    public static SafeFd? ConsoleSocketFor(bool terminal, string? socketPath, bool foregroundProxy)
    {
        if (terminal && socketPath is null && !foregroundProxy)
            throw new RuntimeException("process.terminal is true: a detached container needs --console-socket to hand its terminal to");
        if (!terminal && socketPath is not null)
            throw new RuntimeException("--console-socket is only for a process with a terminal (process.terminal or --tty)");
        if (socketPath is null) return null;
        try
        {
            return Sockets.ConnectUnix(socketPath);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"--console-socket: {e.Message}", e);
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
        return IdMapping.Map(maps, id) ?? 65534; // overflow id: unmapped
    }

    public static (Spec Spec, byte[] Json) LoadSpec(string bundle)
    {
        var path = Path.Combine(bundle, "config.json");
        byte[] json;
        try
        {
            // Checked to be a regular file and read with a cap: a FIFO or a link to /dev/zero in
            // its place must not hang create or fill its memory. A symlink to a config is fine.
            json = RegularFile.Read(path, SpecReader.MaxBytes, followLinks: true);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"bundle: {e.Message}", e);
        }
        try
        {
            var spec = SpecReader.Parse(json);
            SpecValidator.Validate(spec);
            return (spec, json);
        }
        catch (SpecException e)
        {
            // Parse errors name the file already; field errors name the field under it.
            throw new RuntimeException(e.Message.StartsWith("config.json") ? e.Message : $"config.json: {e.Message}", e);
        }
    }

    internal static SafeFd ConnectListener(string path)
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
    public static string ListenerStateFor(Spec spec, string id, string bundle, int pid, string status) => System.Text.Encoding.UTF8.GetString(JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("ociVersion", SpecVersion.Current);
        w.WriteStartArray("fds");
        w.WriteStringValue("seccompFd");
        w.WriteEndArray();
        w.WriteNumber("pid", pid);
        w.Opt("metadata", spec.Linux!.Seccomp!.ListenerMetadata);
        w.WriteStartObject("state");
        new State { Id = id, Status = status, Pid = pid, Bundle = bundle, Annotations = spec.Annotations }.Write(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }));

    /// <summary>LISTEN_FDS, when systemd's LISTEN_PID names this process.</summary>
    static int ListenFds()
    {
        if (Environment.GetEnvironmentVariable("LISTEN_PID") != Environment.ProcessId.ToString()) return 0;
        return int.TryParse(Environment.GetEnvironmentVariable("LISTEN_FDS"), out int n) && n is > 0 and < 1024 ? n : 0;
    }

    /// <summary>
    /// Written to a temporary name and renamed, so a reader never sees a partial pid. The pid
    /// file's directory may be shared (/tmp): the temporary name is made anew, never followed.
    /// </summary>
    public static void WritePidFile(string path, int pid)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}");
        try
        {
            RegularFile.WriteAtomic(full, tmp, System.Text.Encoding.ASCII.GetBytes(pid.ToString()), 0x1a4 /* 0644 */);
        }
        catch (LinuxException e)
        {
            throw new RuntimeException($"--pid-file: {e.Message}", e);
        }
    }

    /// <summary>Go's RFC3339Nano: UTC, fraction without trailing zeros.</summary>
    public static string Rfc3339Nano(DateTime utc)
    {
        var frac = (utc.Ticks % TimeSpan.TicksPerSecond * 100).ToString("D9").TrimEnd('0');
        return utc.ToString("yyyy-MM-ddTHH:mm:ss") + (frac.Length > 0 ? "." + frac : "") + "Z";
    }
}
