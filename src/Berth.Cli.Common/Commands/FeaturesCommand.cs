using Berth.Linux.Security;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Security;
using Capabilities = Berth.Linux.Security.Capabilities;

namespace Berth.Cli.Commands;

/// <summary>
/// `berth features` (runtime-spec features.md): what this binary implements, on this host —
/// capabilities this kernel knows, LSMs and Intel RDT only if the host has them.
/// </summary>
public static class FeaturesCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Count > 0) throw new UsageException($"features: unexpected arguments: {string.Join(' ', args)}");
        int lastCap = Capabilities.LastCap();
        var json = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("ociVersionMin", "1.0.0");
            w.WriteString("ociVersionMax", SpecVersion.Current);
            w.Opt("hooks", new[] { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" });
            w.Opt("mountOptions", Runtime.Rootfs.MountOptions.Known);
            w.WriteStartObject("linux");
            w.Opt("namespaces", new[] { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts" });
            w.Opt("capabilities", Capabilities.All.Take(lastCap + 1));
            w.WriteStartObject("cgroup");
            w.WriteBoolean("v1", true);
            w.WriteBoolean("v2", true);
            w.WriteBoolean("systemd", false);
            w.WriteBoolean("systemdUser", false);
            w.WriteBoolean("rdma", false);
            w.WriteEndObject();
            w.WriteStartObject("seccomp");
            w.WriteBoolean("enabled", true);
            w.Opt("actions", new[] { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP" });
            w.Opt("operators", new[] { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE" });
            w.Opt("archs", new[] { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64" });
            var flags = new[] { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" };
            w.Opt("knownFlags", flags);
            w.Opt("supportedFlags", flags);
            w.WriteEndObject();
            w.WriteStartObject("apparmor");
            w.WriteBoolean("enabled", Lsm.AppArmorEnabled);
            w.WriteEndObject();
            w.WriteStartObject("selinux");
            w.WriteBoolean("enabled", Lsm.SelinuxEnabled);
            w.WriteEndObject();
            w.WriteStartObject("intelRdt");
            w.WriteBoolean("enabled", false);
            w.WriteEndObject();
            w.WriteStartObject("mountExtensions");
            w.WriteStartObject("idmap");
            w.WriteBoolean("enabled", true);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("annotations");
            w.WriteString("io.github.berth.libseccomp.version", SeccompFilter.Version);
            w.WriteString("io.github.seccomp.libseccomp.version", SeccompFilter.Version);
            w.WriteEndObject();
            w.WriteEndObject();
        }, indent: "    ");
        Output.WriteLine(json);
        return 0;
    }
}
