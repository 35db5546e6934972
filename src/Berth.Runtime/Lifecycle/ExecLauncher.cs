using System.Runtime.InteropServices;
using Berth.Linux;
using Berth.Oci;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Init;
using Berth.Runtime.Protocol;
using Berth.Runtime.Security;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `berth exec`: a new process in a running container, through the same nsenter stage as
/// create — every namespace of the container joined (user first; pid through the fork), its
/// cgroups joined, then caps, seccomp (the container's profile), no_new_privs, user, env and
/// cwd applied by init.
/// </summary>
public sealed class ExecLauncher
{
    readonly StateStore _store;
    readonly Log _log;

    public ExecLauncher(StateStore store, Log log)
    {
        _store = store;
        _log = log;
    }

    public int Exec(ExecOptions o)
    {
        // Armed first: a signal from here on reaches the process (held until it runs), never
        // the default action on the launcher.
        using var forwarder = o.Detach ? null : new SignalForwarder(_log);
        ContainerRecord r;
        Spec spec;
        using (var dir = _store.Open(o.Id, exclusive: false) ?? throw RuntimeException.NotExist(o.Id))
        {
            r = dir.Read() ?? throw new RuntimeException($"cannot exec in a container that is still being created: {o.Id}");
            switch (StatusProbe.Of(r, dir.FifoExists))
            {
                case Status.Stopped: throw new RuntimeException("cannot exec in a stopped container");
                case Status.Paused: throw new RuntimeException("cannot exec in a paused container");
                case Status.Creating: throw new RuntimeException($"cannot exec in a container that is still being created: {o.Id}");
            }
            spec = dir.ReadSpec() ?? throw new RuntimeException($"container {o.Id}: its config.json in the state directory is missing or unreadable");
        }

        InitSpawn.CheckPreserveFds(o.PreserveFds);
        var process = BuildProcess(o, spec, r.Rootfs);
        var field = o.ProcessFile is null ? "process" : "--process";
        try
        {
            SpecValidator.ValidateProcess(process, field);
            // The container's own user namespace: its maps are in its config.
            if (spec.Linux is { } linux && SpecValidator.ValidateNamespaces(linux.Namespaces).New("user"))
                SpecValidator.ValidateUserMapped(process, linux, field);
        }
        catch (SpecException e)
        {
            throw new RuntimeException(o.User is not null && e.Field.StartsWith($"{field}.user.") ? $"--user: {e.Message}" : e.Message, e);
        }
        bool proxy = process.Terminal == true && o.ConsoleSocket is null && !o.Detach;
        using var console = Launcher.ConsoleSocketFor(process.Terminal == true, o.ConsoleSocket, proxy);
        SafeFd? ours = null, theirs = null;
        if (proxy) (ours, theirs) = Sockets.UnixStreamPair();
        var execSpec = new Spec { OciVersion = spec.OciVersion, Process = process, Linux = spec.Linux, Root = spec.Root, Annotations = spec.Annotations };
        Lsm.Check(execSpec);

        var caps = CapabilityResolver.Resolve(process.Capabilities, Linux.Security.Capabilities.OwnBounding(), _log);
        var seccomp = spec.Linux?.Seccomp is { } profile ? new SeccompCache(_store).Get(profile, _log) : null;
        using var listener = seccomp is { Notify: true } ? Launcher.ConnectListener(spec.Linux!.Seccomp!.ListenerPath!) : null;

        // Every namespace the container has, by its init's /proc entries: the init stays the
        // reference for as long as the container runs.
        using var init = Pidfd.OpenIfAlive(r.Pid, r.PidStartTime) ?? throw RuntimeException.NotRunning(o.Id);
        var joins = new List<(int, SafeFd)>();
        try
        {
            foreach (var ns in spec.Linux?.Namespaces ?? new())
            {
                var (flag, procName) = Namespaces.ByType[ns.Type!];
                joins.Add((flag, NamespaceFiles.OpenChecked($"/proc/{r.Pid}/ns/{procName}", flag)));
            }
            // The pid may have been reused while the files were opened.
            if (!ProcStat.IsAlive(r.Pid, r.PidStartTime)) throw RuntimeException.NotRunning(o.Id);

            Processes.SetDumpable(false);
            if (!o.Detach) Processes.BecomeSubreaper();
            var cfg = new InitConfig
            {
                Id = o.Id,
                Exec = true,
                Spec = execSpec,
                Bundle = r.Bundle,
                Rootfs = r.Rootfs,
                PreserveFds = o.PreserveFds,
                Capabilities = caps,
                SeccompProgram = seccomp?.Program,
                SeccompFlags = seccomp?.Flags ?? 0,
            };
            using var spawn = new InitSpawn(_log)
            {
                Joins = joins,
                SeccompListener = listener,
                CgroupDirs = r.Cgroups,
                // v2 directories have no tasks file; the container's cgroups exist while it runs.
                UnifiedCgroupDir = r.Cgroups.FirstOrDefault(d => !File.Exists(Path.Join(d, "tasks"))),
                InitialCpus = process.ExecCpuAffinity?.Initial,
                ConsoleSocket = console ?? theirs,
            };
            if (listener is not null)
                spawn.ListenerState = pid => Launcher.ListenerStateFor(spec, o.Id, r.Bundle, pid, Status.Running);

            TerminalProxy? tty = null;
            try
            {
                // Returns once the process has exec'd (or failed to).
                spawn.Run(cfg, "exec");
                theirs?.Dispose();
                if (o.PidFile is not null) Launcher.WritePidFile(o.PidFile, spawn.InitPid);
                if (o.Detach) return 0;
                forwarder!.DeliverTo(Pidfd.OpenIfAlive(spawn.InitPid, spawn.InitStartTime));
                if (ours is not null) tty = new TerminalProxy(Sockets.ReceiveFd(ours));
                var status = Containers.WaitFor(spawn.InitPid).ShellCode;
                tty?.Drain();
                return status;
            }
            finally
            {
                tty?.Dispose();
                ours?.Dispose();
                theirs?.Dispose();
            }
        }
        finally
        {
            foreach (var (_, fd) in joins) fd.Dispose();
        }
    }

    static bool SameKey(string a, string b)
    {
        int ia = a.IndexOf('='), ib = b.IndexOf('=');
        return ia >= 0 && ib >= 0 && a.AsSpan(0, ia).SequenceEqual(b.AsSpan(0, ib));
    }

    /// <summary>
    /// runc's rules: --process replaces everything; otherwise the container's own process is
    /// the base, with the command, --env added, and --cwd, --user, --cap, --no-new-privs,
    /// --apparmor and --process-label overriding.
    /// </summary>
    Oci.Runtime.Process BuildProcess(ExecOptions o, Spec spec, string rootfs)
    {
        if (o.ProcessFile is not null)
        {
            byte[] json;
            try { json = RegularFile.Read(o.ProcessFile, SpecReader.MaxBytes, followLinks: true); }
            catch (LinuxException e) { throw new RuntimeException($"--process: {e.Message}", e); }
            try { return SpecReader.Parse(json, "--process", Oci.Runtime.Process.Read); }
            catch (SpecException e) { throw new RuntimeException($"--process: {e.Message}", e); }
        }
        if (o.Args.Count == 0) throw new RuntimeException("exec: a command is required (or --process FILE)");
        var b = spec.Process!;
        var p = new Oci.Runtime.Process
        {
            Terminal = o.Tty,
            Args = o.Args.ToList(),
            // --env K=V replaces K of process.env (runc's rule), and adds it otherwise.
            Env = (b.Env ?? new()).Where(e => !o.Env.Any(x => SameKey(x, e))).Concat(o.Env).ToList(),
            Cwd = o.Cwd ?? b.Cwd,
            User = new User { Uid = b.User?.Uid, Gid = b.User?.Gid, Umask = b.User?.Umask, AdditionalGids = b.User?.AdditionalGids },
            Capabilities = b.Capabilities,
            Rlimits = b.Rlimits,
            NoNewPrivileges = b.NoNewPrivileges == true || o.NoNewPrivs,
            ApparmorProfile = o.Apparmor ?? b.ApparmorProfile,
            SelinuxLabel = o.ProcessLabel ?? b.SelinuxLabel,
            OomScoreAdj = null,
            Scheduler = b.Scheduler,
            IoPriority = b.IoPriority,
        };
        foreach (var env in o.Env)
            if (!env.Contains('=')) throw new RuntimeException($"--env: \"{env}\" is not KEY=VALUE");
        if (o.User is not null) (p.User.Uid, p.User.Gid) = UserSpec.Resolve(o.User, rootfs);
        if (o.AdditionalGids.Count > 0)
            p.User.AdditionalGids = o.AdditionalGids.Select(g => UserSpec.ResolveGroup(g, rootfs)).ToList();
        if (o.Caps.Count > 0)
        {
            var caps = p.Capabilities ?? new Capabilities();
            List<string> With(List<string>? set) => (set ?? new()).Concat(o.Caps).Distinct().ToList();
            // runc's rule: ambient needs inheritable, which --cap does not add, so ambient
            // grows only if the spec already has an inheritable set.
            p.Capabilities = new Capabilities
            {
                Bounding = With(caps.Bounding), Effective = With(caps.Effective), Permitted = With(caps.Permitted),
                Inheritable = caps.Inheritable, Ambient = caps.Inheritable is null ? caps.Ambient : With(caps.Ambient),
            };
        }
        return p;
    }
}
