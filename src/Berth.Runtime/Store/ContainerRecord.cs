using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Runtime.Store;

/// <summary>
/// What Berth keeps about a container in &lt;root&gt;/&lt;id&gt;/state.json. Written before anything
/// is spawned (Pid 0, "creating") so that a launcher killed at any point leaves enough behind
/// for `delete --force` to find its cgroups.
/// </summary>
public sealed class ContainerRecord : IJsonWritable
{
    public string Id { get; set; } = "";
    public string Bundle { get; set; } = "";
    public string Rootfs { get; set; } = "";
    /// <summary>RFC 3339 with nanoseconds, UTC, as runc prints it.</summary>
    public string Created { get; set; } = "";
    public string Owner { get; set; } = "";
    public Dictionary<string, string>? Annotations { get; set; }

    /// <summary>Init's pid in the runtime's pid namespace; 0 while creating.</summary>
    public int Pid { get; set; }
    /// <summary>/proc/&lt;pid&gt;/stat field 22 at create: a reused pid will not match it.</summary>
    public ulong PidStartTime { get; set; }

    /// <summary>The container's cgroup directory in every hierarchy it was placed in.</summary>
    public List<string> Cgroups { get; set; } = new();
    /// <summary>Directories Berth created for it, deepest first: removed on delete, nothing else is.</summary>
    public List<string> CreatedCgroups { get; set; } = new();

    /// <summary>The freezer's directory (v1 freezer, or the v2 directory) and which kind it is.</summary>
    public string? FreezerDir { get; set; }
    public bool FreezerV2 { get; set; }
    /// <summary>An Intel RDT (resctrl) group Berth made for it, removed on delete.</summary>
    public string? CreatedRdtGroup { get; set; }
    /// <summary>Whether config.json has poststart / poststop hooks: start and delete read it only then.</summary>
    public bool HasPoststart { get; set; }
    public bool HasPoststop { get; set; }

    public static ContainerRecord Read(JsonIn o) => new()
    {
        Id = o.String("id") ?? "",
        Bundle = o.String("bundle") ?? "",
        Rootfs = o.String("rootfs") ?? "",
        Created = o.String("created") ?? "",
        Owner = o.String("owner") ?? "",
        Annotations = o.StringMap("annotations"),
        Pid = o.Int32("pid") ?? 0,
        PidStartTime = o.UInt64("pidStartTime") ?? 0,
        Cgroups = o.Strings("cgroups") ?? new(),
        CreatedCgroups = o.Strings("createdCgroups") ?? new(),
        FreezerDir = o.String("freezerDir"),
        FreezerV2 = o.Bool("freezerV2") ?? false,
        CreatedRdtGroup = o.String("createdRdtGroup"),
        // A record from before these were kept: assume there are hooks, and look.
        HasPoststart = o.Bool("hasPoststart") ?? true,
        HasPoststop = o.Bool("hasPoststop") ?? true,
    };

    public void Write(Utf8JsonWriter w)
    {
        w.WriteString("id", Id);
        w.WriteString("bundle", Bundle);
        w.WriteString("rootfs", Rootfs);
        w.WriteString("created", Created);
        w.WriteString("owner", Owner);
        w.Opt("annotations", Annotations);
        w.WriteNumber("pid", Pid);
        w.WriteNumber("pidStartTime", PidStartTime);
        w.Opt("cgroups", Cgroups);
        w.Opt("createdCgroups", CreatedCgroups);
        w.Opt("freezerDir", FreezerDir);
        w.WriteBoolean("freezerV2", FreezerV2);
        w.Opt("createdRdtGroup", CreatedRdtGroup);
        w.WriteBoolean("hasPoststart", HasPoststart);
        w.WriteBoolean("hasPoststop", HasPoststop);
    }
}
