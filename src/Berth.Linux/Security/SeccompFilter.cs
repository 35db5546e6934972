using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>A condition on one argument of a syscall (libseccomp's scmp_arg_cmp).</summary>
public readonly record struct SeccompCondition(uint Index, SeccompOp Op, ulong Value, ulong ValueTwo);

/// <summary>SCMP_CMP_* comparison operators.</summary>
public enum SeccompOp { NotEqual = 1, LessThan = 2, LessOrEqual = 3, Equal = 4, GreaterOrEqual = 5, GreaterThan = 6, MaskedEqual = 7 }

/// <summary>SECCOMP_RET_* action values as libseccomp encodes them (SCMP_ACT_*).</summary>
public static class SeccompAction
{
    public const uint KillThread = 0x00000000, KillProcess = 0x80000000, Trap = 0x00030000,
        Allow = 0x7fff0000, Log = 0x7ffc0000, Notify = 0x7fc00000;

    public static uint Errno(uint errno) => 0x00050000 | (errno & 0xffff);
    public static uint Trace(uint msg) => 0x7ff00000 | (msg & 0xffff);
}

/// <summary>
/// A filter being built with libseccomp, exported as a classic BPF program. Berth loads that
/// program itself, in native/init.c (see SeccompFlags), instead of calling seccomp_load.
/// </summary>
public sealed unsafe class SeccompFilter : IDisposable
{
    nint _ctx;

    public SeccompFilter(uint defaultAction)
    {
        _ctx = Libseccomp.seccomp_init(defaultAction);
        if (_ctx == 0) throw new LinuxException(Errno.EINVAL, "seccomp_init");
        // libseccomp must not set no_new_privs on its own: NNP is process.noNewPrivileges' call.
        int rc = Libseccomp.seccomp_attr_set(_ctx, 3 /* SCMP_FLTATR_CTL_NNP */, 0);
        if (rc < 0)
        {
            Dispose();
            Check(rc, "seccomp_attr_set(CTL_NNP)");
        }
    }

    static void Check(int rc, string op)
    {
        if (rc < 0) throw new LinuxException(-rc, op);
    }

    public static uint NativeArch => Libseccomp.seccomp_arch_native();

    /// <summary>AUDIT_ARCH_* token for a libseccomp arch name ("x86_64"), or 0 if unknown.</summary>
    public static uint ResolveArch(string name) => Libseccomp.seccomp_arch_resolve_name(name);

    /// <summary>
    /// The number libseccomp uses for <paramref name="name"/> in rules: the native one, or a
    /// negative pseudo-number for a syscall only another filter architecture has (socketcall
    /// for x86 on x86_64). Null if no architecture has it.
    /// </summary>
    public static int? ResolveSyscallForRules(string name)
    {
        int nr = Libseccomp.seccomp_syscall_resolve_name(name);
        return nr == -1 ? null : nr;
    }

    /// <summary>"major.minor.micro" of the linked libseccomp.</summary>
    public static string Version
    {
        get
        {
            var v = (uint*)Libseccomp.seccomp_version();
            return v == null ? "unknown" : $"{v[0]}.{v[1]}.{v[2]}";
        }
    }

    /// <summary>The syscall's number on <paramref name="arch"/>, or null if libseccomp does not know it there.</summary>
    public static int? ResolveSyscall(uint arch, string name)
    {
        int nr = Libseccomp.seccomp_syscall_resolve_name_arch(arch, name);
        return nr >= 0 ? nr : null;
    }

    public void AddArch(uint arch)
    {
        int rc = Libseccomp.seccomp_arch_add(_ctx, arch);
        if (rc != -Errno.EEXIST) Check(rc, "seccomp_arch_add");
    }

    public void AddRule(uint action, int syscallNr, IReadOnlyList<SeccompCondition> conditions, string describe)
    {
        var args = stackalloc ArgCmp[Math.Max(1, conditions.Count)];
        for (int i = 0; i < conditions.Count; i++)
            args[i] = new ArgCmp { Arg = conditions[i].Index, Op = (int)conditions[i].Op, DatumA = conditions[i].Value, DatumB = conditions[i].ValueTwo };
        int rc = Libseccomp.seccomp_rule_add_array(_ctx, action, syscallNr, (uint)conditions.Count, args);
        if (rc < 0) throw new LinuxException(-rc, "seccomp_rule_add", describe);
    }

    /// <summary>The filter as a classic BPF program (struct sock_filter[]), 8 bytes an instruction.</summary>
    public byte[] ExportBpf()
    {
        using var mem = new SafeFd(LinuxException.ThrowIfError(Libc.memfd_create("seccomp-bpf", 1 /* MFD_CLOEXEC */), "memfd_create"));
        Check(Libseccomp.seccomp_export_bpf(_ctx, mem.Number), "seccomp_export_bpf");
        // Read the exported program back from the start of the memfd.
        LinuxException.ThrowIfError(Libc.lseek(mem.Number, 0, 0), "lseek");
        var program = Files.ReadToEnd(mem);
        return program;
    }

    public void Dispose()
    {
        if (_ctx != 0) Libseccomp.seccomp_release(_ctx);
        _ctx = 0;
    }
}
