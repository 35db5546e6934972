using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux;
using Berth.Linux.Security;
using Berth.Oci.Runtime;
using Capabilities = Berth.Linux.Security.Capabilities;
using Berth.Runtime.Protocol;

namespace Berth.Runtime.Init;

/// <summary>
/// The last steps before execve, on the main thread, in the order that is the security
/// (DESIGN.md): no_new_privs → seccomp when noNewPrivileges is false (loading it then needs
/// CAP_SYS_ADMIN, so before the drop) → bounding set → groups, gid, uid (keeping the
/// permitted set) → capset and ambient → seccomp when noNewPrivileges is true → listener fd to
/// the seccomp agent → execve (signal state reset and close-on-exec come just before the
/// second seccomp point, see Run).
/// They run after the exec barrier, so the container's profile never has to allow init's own
/// barrier work. Everything is prepared (and checked) before the barrier, and nothing here
/// allocates managed memory once the filter is loaded.
/// </summary>
public sealed unsafe class ExecSequence : IDisposable
{
    readonly Processes.PreparedExec _exec;
    readonly SeccompLoader.Program? _seccomp;
    readonly uint _seccompFlags;
    readonly bool _noNewPrivs;
    readonly CapabilitySets? _caps;
    readonly int _lastCap;
    readonly uint _uid, _gid;
    readonly uint[]? _groups;
    readonly int _listenerSocket;
    readonly byte* _listenerState;
    readonly int _listenerStateLength;
    readonly int _keepFds;
    readonly ulong[]? _finalCpus;

    public ExecSequence(InitConfig cfg, string path, List<string> env, bool setgroupsAllowed)
    {
        var p = cfg.Spec.Process!;
        _noNewPrivs = p.NoNewPrivileges == true;
        _caps = cfg.Capabilities;
        _lastCap = Capabilities.LastCap();
        _uid = p.User?.Uid ?? 0;
        _gid = p.User?.Gid ?? 0;
        _groups = setgroupsAllowed ? (p.User?.AdditionalGids ?? new()).ToArray() : null;
        if (!setgroupsAllowed && p.User?.AdditionalGids is { Count: > 0 })
            throw new RuntimeException("process.user.additionalGids: this user namespace denies setgroups");
        _keepFds = 3 + cfg.PreserveFds;
        if (p.ExecCpuAffinity?.Final is { } final) _finalCpus = ProcessAttributes.CpuMask(CpuList.Parse(final, "process.execCPUAffinity.final"));
        if (cfg.SeccompProgram is { } program)
        {
            _seccomp = new SeccompLoader.Program(Convert.FromBase64String(program));
            _seccompFlags = cfg.SeccompFlags;
        }
        _listenerSocket = cfg.SeccompListenerFd;
        if (cfg.SeccompListenerState is { } state)
        {
            var bytes = Encoding.UTF8.GetBytes(state);
            _listenerState = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
            bytes.CopyTo(new Span<byte>(_listenerState, bytes.Length));
            _listenerStateLength = bytes.Length;
        }
        _exec = new Processes.PreparedExec(path, cfg.Spec.Process!.Args!, env);
    }

    /// <summary>Runs the sequence and execs; returns only with a description of what failed.</summary>
    public string Run()
    {
        try
        {
            if (_noNewPrivs) Capabilities.SetNoNewPrivileges();
            if (_seccomp is not null && !_noNewPrivs && LoadSeccomp() is { } e1) return e1;

            if (_caps is { } caps)
            {
                for (int cap = 0; cap <= _lastCap; cap++)
                    if ((caps.Bounding & (1UL << cap)) == 0) Capabilities.DropBounding(cap);
                Capabilities.KeepCaps(true);
            }
            if (_groups is not null) ThreadCredentials.SetGroups(_groups);
            ThreadCredentials.SetGid(_gid);
            ThreadCredentials.SetUid(_uid);
            if (_caps is { } c)
            {
                Capabilities.Set(c.Effective, c.Permitted, c.Inheritable);
                Capabilities.ClearAmbient();
                for (int cap = 0; cap <= _lastCap; cap++)
                    if ((c.Ambient & (1UL << cap)) != 0) Capabilities.RaiseAmbient(cap);
            }

            if (_finalCpus is not null) ProcessAttributes.SetAffinity(0, _finalCpus);
            // Signal reset and close-on-exec before the filter rather than after: the effect at
            // execve is the same, and the container's profile then only has to allow execve.
            Signals.ResetForExec();
            Files.CloseOnExecFrom(_keepFds);

            if (_seccomp is not null && _noNewPrivs && LoadSeccomp() is { } e2) return e2;

            return $"execve: {Errnos.Describe(_exec.TryExec())}";
        }
        catch (LinuxException e)
        {
            return e.Message;
        }
    }

    /// <summary>Installs the filter; with a NOTIFY action, hands the listener fd to the agent.</summary>
    string? LoadSeccomp()
    {
        long rc = SeccompLoader.TryLoad(_seccomp!, _seccompFlags);
        if (rc < 0) return $"seccomp(SET_MODE_FILTER): {Errnos.Describe((int)-rc)}";
        if ((_seccompFlags & SeccompLoader.FlagNewListener) == 0) return null;
        int listener = (int)rc;
        int err = Sockets.TrySendFd(_listenerSocket, _listenerState, _listenerStateLength, listener);
        Files.Close(listener);
        Files.Close(_listenerSocket);
        return err == 0 ? null : $"sending the seccomp listener fd to linux.seccomp.listenerPath: {Errnos.Describe(err)}";
    }

    public void Dispose()
    {
        _exec.Dispose();
        _seccomp?.Dispose();
        if (_listenerState != null) NativeMemory.Free(_listenerState);
    }
}
