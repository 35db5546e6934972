using System.Text.Json;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Linux.Security;

namespace Berth.Runtime.Protocol;

/// <summary>What the launcher tells init over the sync socket: the validated spec and the host facts it resolved.</summary>
public sealed class InitConfig : IJsonWritable
{
    public string Id { get; set; } = "";
    /// <summary>Init's pid as the runtime sees it (for the state hooks read).</summary>
    public int HostPid { get; set; }
    /// <summary>`exec`: the namespaces are the container's, its root is set up; only the process is new.</summary>
    public bool Exec { get; set; }
    public Spec Spec { get; set; } = new();
    /// <summary>Absolute host path of the bundle (relative bind sources are relative to it).</summary>
    public string Bundle { get; set; } = "";
    /// <summary>Absolute host path of the rootfs.</summary>
    public string Rootfs { get; set; } = "";
    /// <summary>O_PATH descriptor of exec.fifo in init, or -1 for no start barrier.</summary>
    public int FifoFd { get; set; } = -1;
    public bool NoPivot { get; set; }
    public int PreserveFds { get; set; }
    /// <summary>Added to process.env (LISTEN_FDS/LISTEN_PID for socket activation).</summary>
    public List<string> ExtraEnv { get; set; } = new();
    /// <summary>The container's cgroup in each hierarchy, for a `cgroup` mount inside it.</summary>
    public List<CgroupDir> Cgroups { get; set; } = new();
    /// <summary>process.capabilities resolved to masks; null leaves the capabilities as they are.</summary>
    public CapabilitySets? Capabilities { get; set; }
    /// <summary>The compiled linux.seccomp program (base64 BPF) and its seccomp(2) flags.</summary>
    public string? SeccompProgram { get; set; }
    public uint SeccompFlags { get; set; }
    /// <summary>A socket connected to linux.seccomp.listenerPath, and the state document to send with the listener fd.</summary>
    public int SeccompListenerFd { get; set; } = -1;
    public string? SeccompListenerState { get; set; }
    /// <summary>A socket to send the pty master to (process.terminal), or -1.</summary>
    public int ConsoleSocketFd { get; set; } = -1;
    /// <summary>--no-new-keyring: keep the caller's session keyring.</summary>
    public bool NoNewKeyring { get; set; }

    public static InitConfig Read(JsonIn o) => new()
    {
        Id = o.String("id") ?? "",
        Exec = o.Bool("exec") ?? false,
        HostPid = o.Int32("hostPid") ?? 0,
        Spec = o.Object("spec", Spec.Read) ?? new(),
        Bundle = o.String("bundle") ?? "",
        Rootfs = o.String("rootfs") ?? "",
        FifoFd = o.Int32("fifoFd") ?? -1,
        NoPivot = o.Bool("noPivot") ?? false,
        PreserveFds = o.Int32("preserveFds") ?? 0,
        ExtraEnv = o.Strings("extraEnv") ?? new(),
        Capabilities = o.Object("capabilities", c => new CapMasks(c)) is { } m ? m.Sets : null,
        SeccompProgram = o.String("seccompProgram"),
        SeccompFlags = o.UInt32("seccompFlags") ?? 0,
        SeccompListenerFd = o.Int32("seccompListenerFd") ?? -1,
        SeccompListenerState = o.String("seccompListenerState"),
        NoNewKeyring = o.Bool("noNewKeyring") ?? false,
        ConsoleSocketFd = o.Int32("consoleSocketFd") ?? -1,
        Cgroups = o.Array("cgroups", CgroupDir.Read) ?? new(),
    };

    public void Write(Utf8JsonWriter w)
    {
        w.WriteString("id", Id);
        w.WriteBoolean("exec", Exec);
        w.WriteNumber("hostPid", HostPid);
        w.Opt("spec", Spec);
        w.WriteString("bundle", Bundle);
        w.WriteString("rootfs", Rootfs);
        w.WriteNumber("fifoFd", FifoFd);
        w.WriteBoolean("noPivot", NoPivot);
        w.WriteNumber("preserveFds", PreserveFds);
        w.Opt("extraEnv", ExtraEnv);
        if (Capabilities is { } c)
        {
            w.WriteStartObject("capabilities");
            w.WriteNumber("bounding", c.Bounding);
            w.WriteNumber("effective", c.Effective);
            w.WriteNumber("permitted", c.Permitted);
            w.WriteNumber("inheritable", c.Inheritable);
            w.WriteNumber("ambient", c.Ambient);
            w.WriteEndObject();
        }
        w.Opt("seccompProgram", SeccompProgram);
        w.WriteNumber("seccompFlags", SeccompFlags);
        w.WriteNumber("seccompListenerFd", SeccompListenerFd);
        w.Opt("seccompListenerState", SeccompListenerState);
        w.WriteBoolean("noNewKeyring", NoNewKeyring);
        w.WriteNumber("consoleSocketFd", ConsoleSocketFd);
        w.Opt("cgroups", Cgroups);
    }
}

sealed class CapMasks
{
    public CapabilitySets Sets { get; }

    public CapMasks(JsonIn o) => Sets = new CapabilitySets(
        o.UInt64("bounding") ?? 0, o.UInt64("effective") ?? 0, o.UInt64("permitted") ?? 0,
        o.UInt64("inheritable") ?? 0, o.UInt64("ambient") ?? 0);
}

/// <summary>A hierarchy's name ("memory", "name=systemd", "unified") and the container's directory in it.</summary>
public sealed class CgroupDir : IJsonWritable
{
    public string Name { get; set; } = "";
    public bool Unified { get; set; }
    public string Dir { get; set; } = "";

    public static CgroupDir Read(JsonIn o) => new()
    {
        Name = o.String("name") ?? "",
        Unified = o.Bool("unified") ?? false,
        Dir = o.String("dir") ?? "",
    };

    public void Write(Utf8JsonWriter w)
    {
        w.WriteString("name", Name);
        w.WriteBoolean("unified", Unified);
        w.WriteString("dir", Dir);
    }
}
