using Berth.Oci.Runtime;

namespace Berth.Runtime.Process;

/// <summary>What the launcher tells init over the sync socket: the validated spec and the host facts it resolved.</summary>
public sealed class InitConfig
{
    public string Id { get; set; } = "";
    public Spec Spec { get; set; } = new();
    /// <summary>Absolute host path of the bundle (relative bind sources are relative to it).</summary>
    public string Bundle { get; set; } = "";
    /// <summary>Absolute host path of the rootfs.</summary>
    public string Rootfs { get; set; } = "";
    /// <summary>O_PATH descriptor of exec.fifo in init, or -1 for no start barrier.</summary>
    public int FifoFd { get; set; } = -1;
    public bool NoPivot { get; set; }
    public int PreserveFds { get; set; }
    /// <summary>The container's cgroup in each hierarchy, for a `cgroup` mount inside it.</summary>
    public List<CgroupDir> Cgroups { get; set; } = new();
}

/// <summary>A hierarchy's name ("memory", "name=systemd", "unified"), its mount options, and the container's directory in it.</summary>
public sealed class CgroupDir
{
    public string Name { get; set; } = "";
    public bool Unified { get; set; }
    public string Dir { get; set; } = "";
}
