using Berth.Oci.Json;
using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Protocol;
using Berth.Runtime.Rootfs;

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
        var msg = sync.Receive();
        if (msg is not { Type: SyncType.InitConfig } m) return 1;
        var cfg = JsonIn.Parse(m.Payload, "init config", InitConfig.Read);

        string step = "start";
        string path;
        List<string> env;
        try
        {
            (path, env) = Prepare(cfg, s => step = s);
            sync.Send(SyncType.Ready);
        }
        catch (Exception e)
        {
            try { sync.SendText(SyncType.Error, $"init: {step}: {e.Message}"); } catch (Exception) { }
            return 1;
        }
        sync.Dispose();

        if (cfg.FifoFd >= 0) WaitForStart(cfg.FifoFd);

        var process = cfg.Spec.Process!;
        try
        {
            if (process.ExecCpuAffinity?.Final is { } final)
                ProcessAttributes.SetAffinity(0, CpuList.Parse(final, "process.execCPUAffinity.final"));
            Signals.ResetForExec();
            // Nothing of ours may reach the container's process (CVE-2024-21626): everything past
            // stdio and the preserved descriptors closes at execve.
            Files.CloseOnExecFrom(3 + cfg.PreserveFds);
            Processes.Exec(path, process.Args!, env);
        }
        catch (Exception e)
        {
            Log.Stderr($"berth: init: exec {process.Args![0]}: {e.Message}");
        }
        return 127;
    }

    /// <summary>Everything before the barrier. Returns the resolved executable and the final environment.</summary>
    static (string Path, List<string> Env) Prepare(InitConfig cfg, Action<string> step)
    {
        var spec = cfg.Spec;
        var ns = SpecValidator.ValidateNamespaces(spec.Linux?.Namespaces);
        bool userns = ns.Has("user");

        if (ns.New("network"))
        {
            step("bring up lo");
            Sockets.BringUpLoopback();
        }

        RootfsSetup.BeforePivot(cfg, userns, step);

        step(cfg.NoPivot ? "move root" : "pivot_root");
        if (cfg.NoPivot) RootfsSetup.MoveRoot(cfg.Rootfs);
        else RootfsSetup.Pivot(cfg.Rootfs);

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

        var process = spec.Process!;
        step($"chdir {process.Cwd}");
        Mounts.Chdir(process.Cwd!);

        ProcessSetup.Apply(process, spec.Linux, step);

        step($"look up {process.Args![0]}");
        var path = Executable.Find(process.Args[0], process.Env);

        var env = ProcessSetup.SwitchUser(process, SetgroupsAllowed(), step);
        env.AddRange(cfg.ExtraEnv);
        Files.Umask(process.User?.Umask ?? 0x12 /* 022 */);
        return (path, env);
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
