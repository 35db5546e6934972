using Berth.Linux;
using Berth.Linux.Security;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Security;

/// <summary>linux.seccomp compiled to the BPF program init loads, with the seccomp(2) flags to load it with.</summary>
public sealed record CompiledSeccomp(byte[] Program, uint Flags, bool Notify);

/// <summary>
/// Turns the OCI seccomp object into a BPF program through libseccomp, in the launcher, so a
/// bad profile fails create before anything is spawned.
/// </summary>
public static class SeccompCompiler
{
    static readonly Dictionary<string, string> ArchNames = new()
    {
        ["SCMP_ARCH_X86"] = "x86", ["SCMP_ARCH_X86_64"] = "x86_64", ["SCMP_ARCH_X32"] = "x32",
        ["SCMP_ARCH_ARM"] = "arm", ["SCMP_ARCH_AARCH64"] = "aarch64", ["SCMP_ARCH_MIPS"] = "mips",
        ["SCMP_ARCH_MIPS64"] = "mips64", ["SCMP_ARCH_MIPS64N32"] = "mips64n32", ["SCMP_ARCH_MIPSEL"] = "mipsel",
        ["SCMP_ARCH_MIPSEL64"] = "mipsel64", ["SCMP_ARCH_MIPSEL64N32"] = "mipsel64n32", ["SCMP_ARCH_PPC"] = "ppc",
        ["SCMP_ARCH_PPC64"] = "ppc64", ["SCMP_ARCH_PPC64LE"] = "ppc64le", ["SCMP_ARCH_S390"] = "s390",
        ["SCMP_ARCH_S390X"] = "s390x", ["SCMP_ARCH_PARISC"] = "parisc", ["SCMP_ARCH_PARISC64"] = "parisc64",
        ["SCMP_ARCH_RISCV64"] = "riscv64",
    };

    static readonly Dictionary<string, SeccompOp> Ops = new()
    {
        ["SCMP_CMP_NE"] = SeccompOp.NotEqual, ["SCMP_CMP_LT"] = SeccompOp.LessThan, ["SCMP_CMP_LE"] = SeccompOp.LessOrEqual,
        ["SCMP_CMP_EQ"] = SeccompOp.Equal, ["SCMP_CMP_GE"] = SeccompOp.GreaterOrEqual, ["SCMP_CMP_GT"] = SeccompOp.GreaterThan,
        ["SCMP_CMP_MASKED_EQ"] = SeccompOp.MaskedEqual,
    };

    static readonly Dictionary<string, uint> FlagValues = new()
    {
        ["SECCOMP_FILTER_FLAG_TSYNC"] = SeccompFlags.Tsync,
        ["SECCOMP_FILTER_FLAG_LOG"] = SeccompFlags.Log,
        ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"] = SeccompFlags.SpecAllow,
        ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] = SeccompFlags.WaitKillableRecv,
    };

    const uint AuditArchX86_64 = 0xC000003E, X32SyscallBit = 0x40000000;

    /// <summary>
    /// BPF_MAXINSNS: the kernel loads no seccomp program longer than this. Every rule (a syscall
    /// name, once per condition set it is split into) costs at least one instruction, so a
    /// profile with more rules cannot load, and is refused before libseccomp spends minutes
    /// of CPU building it (its rule database grows quadratically: 50,000 rules took 100 s).
    /// </summary>
    public const int MaxInstructions = 4096;

    public static CompiledSeccomp Compile(Seccomp s, Log log)
    {
        const string F = "linux.seccomp";
        uint defaultAction = Action(s.DefaultAction, s.DefaultErrnoRet, $"{F}.defaultAction");
        using var filter = new SeccompFilter(defaultAction);

        uint native = SeccompFilter.NativeArch;
        var arches = new List<uint> { native };
        var archList = s.Architectures ?? new();
        for (int i = 0; i < archList.Count; i++)
        {
            var name = archList[i];
            uint token = name is not null && ArchNames.TryGetValue(name, out var lib) ? SeccompFilter.ResolveArch(lib) : 0;
            if (token == 0) throw new RuntimeException($"{F}.architectures[{i}]: unknown architecture \"{name}\"");
            filter.AddArch(token);
            if (!arches.Contains(token)) arches.Add(token);
        }

        uint flags = 0;
        var flagList = s.Flags ?? new();
        for (int i = 0; i < flagList.Count; i++)
            flags |= flagList[i] is { } fl && FlagValues.TryGetValue(fl, out var v) ? v
                : throw new RuntimeException($"{F}.flags[{i}]: unknown flag \"{flagList[i]}\"");

        var rules = s.Syscalls ?? new();
        long ruleCount = 0;
        for (int i = 0; i < rules.Count; i++)
            if (rules[i] is { } r) ruleCount += (long)(r.Names?.Count ?? 0) * Math.Max(1, SplitCount(r.Args));
        if (ruleCount > MaxInstructions)
            throw new RuntimeException($"{F}.syscalls: {ruleCount} rules (syscall names, times the argument conditions each splits into), more than the {MaxInstructions} a seccomp filter can hold");

        bool notify = defaultAction == SeccompAction.Notify;
        // The highest syscall number each architecture's rules name: above it, the kernel is newer than the profile.
        var maxNr = arches.ToDictionary(a => a, _ => -1);
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i] ?? throw new RuntimeException($"{F}.syscalls[{i}]: is null");
            var field = $"{F}.syscalls[{i}]";
            if (rule.Names is not { Count: > 0 }) throw new RuntimeException($"{field}.names: is required");
            uint action = Action(rule.Action, rule.ErrnoRet, $"{field}.action");
            notify |= action == SeccompAction.Notify;
            var conditions = Conditions(rule.Args, $"{field}.args");
            foreach (var name in rule.Names)
            {
                foreach (var arch in arches)
                    if (SeccompFilter.ResolveSyscall(arch, name) is { } n) maxNr[arch] = Math.Max(maxNr[arch], n);
                if (action == defaultAction) continue; // libseccomp refuses a rule that repeats the default
                if (SeccompFilter.ResolveSyscallForRules(name) is not { } nr)
                {
                    // runc's rule: a name this libseccomp does not know is skipped, not an error.
                    log.Debug($"seccomp: skipping unknown syscall \"{name}\"");
                    continue;
                }
                // libseccomp rejects two conditions on one argument in a rule; they become separate rules.
                if (conditions.Select(c => c.Index).Distinct().Count() == conditions.Count)
                    filter.AddRule(action, nr, conditions, name);
                else
                    foreach (var c in conditions) filter.AddRule(action, nr, new[] { c }, name);
            }
        }

        if (notify)
        {
            if ((flags & SeccompFlags.Tsync) != 0) throw new RuntimeException($"{F}.flags: SECCOMP_FILTER_FLAG_TSYNC cannot be combined with SCMP_ACT_NOTIFY");
            if (string.IsNullOrEmpty(s.ListenerPath)) throw new RuntimeException($"{F}.listenerPath: is required when an action is SCMP_ACT_NOTIFY");
            flags |= SeccompFlags.NewListener;
        }

        var program = filter.ExportBpf();
        if (defaultAction is not (SeccompAction.Allow or SeccompAction.Log))
            program = EnosysPrologue(maxNr).Concat(program).ToArray();
        if (program.Length / 8 > MaxInstructions)
            throw new RuntimeException($"{F}: the compiled filter has {program.Length / 8} BPF instructions, more than the kernel's limit of {MaxInstructions}");
        return new CompiledSeccomp(program, flags, notify);
    }

    /// <summary>
    /// libseccomp 2.5.4 cannot return ENOSYS for syscalls newer than the profile: they get the
    /// default action (EPERM, or a kill), and glibc then never falls back from, say, clone3 or
    /// faccessat2 to the older call. So this prologue runs first: for each architecture, a
    /// syscall number above the highest one the profile names returns ENOSYS, as a kernel
    /// without that syscall would. Everything else falls through to libseccomp's program.
    /// On x86_64, x32 numbers (bit 30 set) are compared with the x32 maximum separately.
    /// </summary>
    public static byte[] EnosysPrologue(IReadOnlyDictionary<uint, int> maxNr)
    {
        var bpf = new Bpf().Load(4);
        var known = maxNr.Where(kv => kv.Value >= 0 && kv.Key != 0x4000003E /* x32: folded into x86_64 */).ToList();
        int x32Max = maxNr.TryGetValue(0x4000003E, out var m) ? m : -1;
        for (int i = 0; i < known.Count; i++)
        {
            var (arch, max) = (known[i].Key, (uint)known[i].Value);
            var next = $"arch{i + 1}";
            bpf.JumpIfEqual(arch, $"nr{i}", next).Label($"nr{i}").Load(0);
            if (arch == AuditArchX86_64)
            {
                bpf.JumpIfGreaterOrEqual(X32SyscallBit, $"x32_{i}", $"native{i}")
                   .Label($"x32_{i}").JumpIfGreater(x32Max >= 0 ? (uint)x32Max : uint.MaxValue, "enosys", "program")
                   .Label($"native{i}");
            }
            bpf.JumpIfGreater(max, "enosys", "program").Label(next);
        }
        bpf.Jump("program").Label("enosys").Return(SeccompAction.Errno(Errno.ENOSYS)).Label("program");
        return bpf.Assemble();
    }

    static uint Action(string? name, uint? errnoRet, string field) => name switch
    {
        "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => SeccompAction.KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompAction.KillProcess,
        "SCMP_ACT_TRAP" => SeccompAction.Trap,
        "SCMP_ACT_ERRNO" => SeccompAction.Errno(errnoRet ?? Errno.EPERM),
        "SCMP_ACT_TRACE" => SeccompAction.Trace(errnoRet ?? Errno.EPERM),
        "SCMP_ACT_ALLOW" => SeccompAction.Allow,
        "SCMP_ACT_LOG" => SeccompAction.Log,
        "SCMP_ACT_NOTIFY" => SeccompAction.Notify,
        null => throw new RuntimeException($"{field}: is required"),
        _ => throw new RuntimeException($"{field}: unknown action \"{name}\""),
    };

    /// <summary>How many libseccomp rules one name of a rule becomes (two conditions on one argument are split).</summary>
    static int SplitCount(List<SeccompArg>? args)
    {
        if (args is not { Count: > 0 }) return 1;
        var indexes = args.Select(a => a?.Index).ToList();
        return indexes.Distinct().Count() == indexes.Count ? 1 : args.Count;
    }

    static List<SeccompCondition> Conditions(List<SeccompArg>? args, string field)
    {
        var list = new List<SeccompCondition>();
        if (args is null) return list;
        if (args.Count > 6) throw new RuntimeException($"{field}: more than 6 conditions");
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i] ?? throw new RuntimeException($"{field}[{i}]: is null");
            if (a.Index is not { } index) throw new RuntimeException($"{field}[{i}].index: is required");
            if (index > 5) throw new RuntimeException($"{field}[{i}].index: {index} is not an argument index (0 to 5)");
            if (a.Op is null || !Ops.TryGetValue(a.Op, out var op)) throw new RuntimeException($"{field}[{i}].op: unknown operator \"{a.Op}\"");
            list.Add(new SeccompCondition(index, op, a.Value ?? 0, a.ValueTwo ?? 0));
        }
        return list;
    }
}
