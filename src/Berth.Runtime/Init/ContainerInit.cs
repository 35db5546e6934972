using Berth.Oci.Json;
using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Protocol;
using Berth.Runtime.Rootfs;
using Berth.Runtime.Security;
using Berth.Runtime.Lifecycle;
using Berth.Linux.Security;

namespace Berth.Runtime.Init;

/// <summary>
/// `berth init`: runs inside every namespace (native/nsenter.c put it there), builds the
/// container's world, reports ready over the sync socket, waits at the exec barrier, and
/// execs the container's process. Every step that can fail runs before the barrier, and its
/// failure reaches the launcher as "init: &lt;step&gt;: &lt;error&gt;".
/// </summary>
public static class ContainerInit
{
    public static int Run()
    {
        var syncEnv = Environment.GetEnvironmentVariable("_BERTH_SYNC");
        if (syncEnv is null || !int.TryParse(syncEnv, out int syncFd))
        {
            Log.Stderr("berth: init is started by `berth create` or `berth run`, not by hand");
            return 2;
        }

        using var sync = new SyncSocket(new SafeFd(syncFd));
        string step = "start";
        InitConfig cfg;
        ExecSequence last;
        try
        {
            step = "reading the init config";
            var msg = sync.Receive(SyncSocket.InitConfigMessage);
            if (msg is not { Type: SyncType.InitConfig } m) return 1;
            cfg = JsonIn.Parse(m.Payload, "init config", InitConfig.Read);
            last = Prepare(cfg, s => step = s, () =>
            {
                sync.Send(SyncType.RuntimeHooks);
                var reply = sync.Receive();
                if (reply is not { Type: SyncType.RuntimeHooksDone }) throw new RuntimeException("the launcher did not run the runtime hooks");
            });
            sync.Send(SyncType.Ready);
        }
        catch (Exception e)
        {
            // Whatever failed — an expected error or a bug — reaches the launcher as one line.
            var what = e is RuntimeException or LinuxException or Oci.SpecException ? e.Message : $"internal error: {e.GetType().Name}: {e.Message}";
            var line = $"init: {step}: {what}".ReplaceLineEndings(" ");
            if (line.Length > 16384) line = line[..16384] + "…";
            try { sync.SendText(SyncType.Error, line); } catch (Exception) { }
            return 1;
        }
        sync.Dispose();

        if (cfg.FifoFd >= 0) WaitForStart(cfg.FifoFd);

        // startContainer: in the container, after start, before the process runs. A failure
        // stops the container (runtime-spec lifecycle, step 9).
        if (cfg.Spec.Hooks?.StartContainer is { Count: > 0 } sc)
        {
            try
            {
                HookRunner.RunAll(sc, "startContainer", HookRunner.StateFor(cfg.Id, Status.Created, cfg.HostPid, cfg.Bundle, cfg.Spec.Annotations));
            }
            catch (RuntimeException e)
            {
                Log.Stderr($"berth: init: {e.Message}");
                return 1;
            }
        }

        // Returns only if a step failed; `start` has returned by now, so the container's stderr
        // is the one place left to say what happened.
        var failure = last.Run();
        Log.Stderr($"berth: init: {failure}");
        return 127;
    }

    /// <summary>Everything before the barrier; returns the prepared last steps.</summary>
    static ExecSequence Prepare(InitConfig cfg, Action<string> step, Action runtimeHooks)
    {
        var spec = cfg.Spec;
        var ns = SpecValidator.ValidateNamespaces(spec.Linux?.Namespaces);
        bool userns = ns.Has("user");

        if (!cfg.Exec) BuildWorld(cfg, ns, userns, step, runtimeHooks);
        else ConsoleSetup.Setup(cfg, spec.Process!, bindDevConsole: false, step);

        var process = spec.Process!;
        step($"chdir {process.Cwd}");
        Mounts.Chdir(process.Cwd!);
        // A cwd reached through a descriptor that points outside the root (/proc/self/fd/N,
        // CVE-2024-21626) shows as unreachable: the process must start inside its root.
        var cwd = Directory.GetCurrentDirectory();
        if (!cwd.StartsWith('/') || cwd.Contains("(unreachable)"))
            throw new RuntimeException($"process.cwd {process.Cwd} resolves outside the container's root");

        ProcessSetup.Apply(process, spec.Linux, step);

        if (!cfg.NoNewKeyring)
        {
            step("session keyring");
            JoinSessionKeyring(cfg.Id);
        }

        step("LSM labels");
        Lsm.SetExecLabels(process);

        step($"look up {process.Args![0]}");
        var path = Executable.Find(process.Args[0], process.Env);

        step("process.user");
        if (userns) ProcessSetup.CheckMapped(process);
        var env = ProcessSetup.Environment(process);
        env.AddRange(cfg.ExtraEnv);
        Files.Umask(process.User?.Umask ?? 0x12 /* 022 */);

        step("prepare exec");
        return new ExecSequence(cfg, path, env, SetgroupsAllowed());
    }

    /// <summary>
    /// A keyring of the container's own ("_ses.&lt;id&gt;"), so keys of the caller's session do
    /// not leak in. Permissions as runc sets them: possessor all; user view, read, search,
    /// link; group view.
    /// </summary>
    static void JoinSessionKeyring(string id)
    {
        try
        {
            int ring = Keyrings.JoinNewSession("_ses." + id);
            Keyrings.SetPermissions(ring, 0x3f1b0100);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOSYS)
        {
            // A kernel without keyrings has nothing to isolate.
        }
    }

    /// <summary>The container's world, made once by create: network, rootfs, pivot, names, sysctls, masked paths.</summary>
    static void BuildWorld(InitConfig cfg, SpecValidator.NamespaceSet ns, bool userns, Action<string> step, Action runtimeHooks)
    {
        var spec = cfg.Spec;
        if (ns.New("network"))
        {
            step("bring up lo");
            Sockets.BringUpLoopback();
        }

        RootfsSetup.BeforePivot(cfg, userns, step);

        // runtime-spec lifecycle: prestart and createRuntime in the runtime's namespace (the
        // launcher runs them), then createContainer here, in the container's, before pivot_root.
        var hooks = spec.Hooks;
        if (hooks?.Prestart is { Count: > 0 } || hooks?.CreateRuntime is { Count: > 0 })
        {
            step("runtime hooks");
            runtimeHooks();
        }
        if (hooks?.CreateContainer is { Count: > 0 } cc)
        {
            step("createContainer hooks");
            HookRunner.RunAll(cc, "createContainer", HookRunner.StateFor(cfg.Id, Status.Creating, cfg.HostPid, cfg.Bundle, spec.Annotations));
        }

        step(cfg.NoPivot ? "move root" : "pivot_root");
        if (cfg.NoPivot) RootfsSetup.MoveRoot(cfg.Rootfs);
        else RootfsSetup.Pivot(cfg.Rootfs);

        // After pivot_root, so the pty is the container's devpts; before the root turns read-only.
        ConsoleSetup.Setup(cfg, spec.Process!, bindDevConsole: true, step);

        if (!string.IsNullOrEmpty(spec.Hostname))
        {
            step("sethostname");
            Processes.SetHostname(spec.Hostname);
        }
        if (!string.IsNullOrEmpty(spec.Domainname))
        {
            step("setdomainname");
            Processes.SetDomainname(spec.Domainname);
        }

        RootfsSetup.AfterPivot(cfg, userns, step);
    }

    /// <summary>A user namespace whose setgroups file says "deny" (rootless maps) forbids setgroups(2).</summary>
    static bool SetgroupsAllowed()
    {
        try { return File.ReadAllText("/proc/self/setgroups").Trim() != "deny"; }
        catch (IOException) { return true; }
    }

    /// <summary>
    /// Blocks opening exec.fifo for writing until `start` opens it for reading, then tells
    /// `start` so with one byte. The descriptor was opened on the host before pivot_root.
    /// </summary>
    static void WaitForStart(int fifoFd)
    {
        using var path = new SafeFd(fifoFd);
        using var fifo = Files.Open($"/proc/self/fd/{fifoFd}", O.WRONLY);
        try { Files.WriteAll(fifo, "0"u8, "exec.fifo"); }
        catch (LinuxException) { /* start went away after opening: it still asked us to run */ }
    }
}
