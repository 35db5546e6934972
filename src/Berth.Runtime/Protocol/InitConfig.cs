using Berth.Oci.Runtime;
using Berth.Linux.Security;

namespace Berth.Runtime.Protocol;

/// <summary>What the launcher knows when it builds init's plan (PlanBuilder): the validated spec and the host facts it resolved.</summary>
public sealed class InitConfig
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
    /// <summary>The compiled linux.seccomp program (BPF) and its seccomp(2) flags.</summary>
    public byte[]? SeccompProgram { get; set; }
    public uint SeccompFlags { get; set; }
    /// <summary>A socket connected to linux.seccomp.listenerPath, and the state document to send with the listener fd.</summary>
    public int SeccompListenerFd { get; set; } = -1;
    public string? SeccompListenerState { get; set; }
    /// <summary>A socket to send the pty master to (process.terminal), or -1.</summary>
    public int ConsoleSocketFd { get; set; } = -1;
    /// <summary>mounts[] index → init's descriptor of that bind mount's detached source tree, and whether it is a directory.</summary>
    public Dictionary<int, (int Fd, bool Directory)> BindTrees { get; } = new();
    /// <summary>--no-new-keyring: keep the caller's session keyring.</summary>
    public bool NoNewKeyring { get; set; }
}

/// <summary>A hierarchy's name ("memory", "name=systemd", "unified") and the container's directory in it.</summary>
public sealed class CgroupDir
{
    public string Name { get; set; } = "";
    public bool Unified { get; set; }
    public string Dir { get; set; } = "";
}
