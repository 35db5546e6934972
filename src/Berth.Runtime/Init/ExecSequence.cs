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
/// (DESIGN.md): rlimits (first, before any filter could refuse prlimit64, and only now: a
/// small RLIMIT_AS or RLIMIT_STACK would kill init itself; raising a hard limit was done and
/// checked before the barrier) → no_new_privs → seccomp when noNewPrivileges is false (loading it then needs
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
    readonly (int Resource, ulong Soft, ulong Hard)[] _rlimits;

    /// <summary>MAX_ARG_STRLEN: the kernel's limit on one argument or environment string, its NUL included.</summary>
    const int MaxArgStrlen = 32 * 4096;

    public ExecSequence(InitConfig cfg, string path, List<string> env, bool setgroupsAllowed)
    {
        var p = cfg.Spec.Process!;
        _noNewPrivs = p.NoNewPrivileges == true;
        _caps = cfg.Capabilities;
        _lastCap = Capabilities.LastCap();
        _uid = p.User?.Uid ?? 0;
        _gid = p.User?.Gid ?? 0;
        // The launcher refused these already; this is the last place before setresuid/setgroups that could.
        if (_uid == SpecValidator.NoChangeId || _gid == SpecValidator.NoChangeId || p.User?.AdditionalGids?.Contains(SpecValidator.NoChangeId) == true)
            throw new RuntimeException($"process.user: {SpecValidator.NoChangeId} is the kernel's -1 (\"leave unchanged\"), not an id");
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
        _rlimits = (p.Rlimits ?? new()).Select(r => (ProcessAttributes.Rlimits[r.Type!], r.Soft!.Value, r.Hard!.Value)).ToArray();
        CheckExecSize(path, p.Args!, env, p.Env?.Count ?? 0, _rlimits);
        _exec = new Processes.PreparedExec(path, cfg.Spec.Process!.Args!, env);
    }

    /// <summary>
    /// execve's E2BIG, found before the barrier: each string within MAX_ARG_STRLEN, and all of
    /// them with their pointers within a quarter of the stack limit the process will have
    /// (at least 128 KiB, at most 6 MiB; fs/exec.c, bprm_stack_limits).
    /// </summary>
    static void CheckExecSize(string path, List<string> args, List<string> env, int specEnv, (int Resource, ulong Soft, ulong Hard)[] rlimits)
    {
        const int RLIMIT_STACK = 3;
        ulong stack = rlimits.Where(r => r.Resource == RLIMIT_STACK).Select(r => r.Soft).DefaultIfEmpty(ProcessAttributes.GetRlimit(RLIMIT_STACK).Soft).First();
        ulong limit = Math.Max(Math.Min(6UL << 20, stack / 4), 128UL << 10);
        ulong total = (ulong)(Math.Max(args.Count, 1) + env.Count) * 8 + (ulong)Encoding.UTF8.GetByteCount(path) + 1;
        for (int i = 0; i < args.Count + env.Count; i++)
        {
            var text = i < args.Count ? args[i] : env[i - args.Count];
            int bytes = Encoding.UTF8.GetByteCount(text) + 1;
            if (bytes > MaxArgStrlen)
            {
                var field = i < args.Count ? $"process.args[{i}]" : i - args.Count < specEnv ? $"process.env[{i - args.Count}]" : "process.env";
                throw new RuntimeException($"{field}: {bytes} bytes, more than the {MaxArgStrlen} execve takes for one string (MAX_ARG_STRLEN)");
            }
            total += (ulong)bytes;
        }
        if (total > limit)
            throw new RuntimeException($"process.args and process.env: {total} bytes with their pointers, more than the {limit} execve takes with a {stack}-byte RLIMIT_STACK (E2BIG)");
    }

    /// <summary>Runs the sequence and execs; returns only with a description of what failed.</summary>
    public string Run()
    {
        try
        {
            foreach (var (resource, soft, hard) in _rlimits) ProcessAttributes.SetRlimit(resource, soft, hard, "process.rlimits");
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
