using System.Text.Json;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Protocol;

/// <summary>What the launcher tells init over the sync socket: the validated spec and the host facts it resolved.</summary>
public sealed class InitConfig : IJsonWritable
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
    /// <summary>Added to process.env (LISTEN_FDS/LISTEN_PID for socket activation).</summary>
    public List<string> ExtraEnv { get; set; } = new();
    /// <summary>The container's cgroup in each hierarchy, for a `cgroup` mount inside it.</summary>
    public List<CgroupDir> Cgroups { get; set; } = new();

    public static InitConfig Read(JsonIn o) => new()
    {
        Id = o.String("id") ?? "",
        Spec = o.Object("spec", Spec.Read) ?? new(),
        Bundle = o.String("bundle") ?? "",
        Rootfs = o.String("rootfs") ?? "",
        FifoFd = o.Int32("fifoFd") ?? -1,
        NoPivot = o.Bool("noPivot") ?? false,
        PreserveFds = o.Int32("preserveFds") ?? 0,
        ExtraEnv = o.Strings("extraEnv") ?? new(),
        Cgroups = o.Array("cgroups", CgroupDir.Read) ?? new(),
    };

    public void Write(Utf8JsonWriter w)
    {
        w.WriteString("id", Id);
        w.Opt("spec", Spec);
        w.WriteString("bundle", Bundle);
        w.WriteString("rootfs", Rootfs);
        w.WriteNumber("fifoFd", FifoFd);
        w.WriteBoolean("noPivot", NoPivot);
        w.WriteNumber("preserveFds", PreserveFds);
        w.Opt("extraEnv", ExtraEnv);
        w.Opt("cgroups", Cgroups);
    }
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
