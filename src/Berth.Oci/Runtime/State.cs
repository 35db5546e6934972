using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>
/// runtime-spec state (runtime.md, "State"), plus the fields runc prints and its clients read:
/// created (RFC 3339 with nanoseconds), rootfs, owner.
/// </summary>
public sealed class State : JsonModel
{
    public string OciVersion { get; set; } = SpecVersion.Current;
    public string Id { get; set; } = "";
    public int Pid { get; set; }
    public string Status { get; set; } = "";
    public string Bundle { get; set; } = "";
    public string Rootfs { get; set; } = "";
    public string Created { get; set; } = "";
    public string Owner { get; set; } = "";
    public Dictionary<string, string>? Annotations { get; set; }

    public static State Read(JsonIn o) => new()
    {
        OciVersion = o.String("ociVersion") ?? "",
        Id = o.String("id") ?? "",
        Pid = o.Int32("pid") ?? 0,
        Status = o.String("status") ?? "",
        Bundle = o.String("bundle") ?? "",
        Rootfs = o.String("rootfs") ?? "",
        Created = o.String("created") ?? "",
        Owner = o.String("owner") ?? "",
        Annotations = o.StringMap("annotations"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.WriteString("ociVersion", OciVersion);
        w.WriteString("id", Id);
        w.WriteNumber("pid", Pid);
        w.WriteString("status", Status);
        w.WriteString("bundle", Bundle);
        w.WriteString("rootfs", Rootfs);
        w.WriteString("created", Created);
        w.WriteString("owner", Owner);
        w.Opt("annotations", Annotations);
    }
}

public static class SpecVersion
{
    /// <summary>The runtime-spec version Berth implements.</summary>
    public const string Current = "1.2.0";
}

/// <summary>runtime.md's status values.</summary>
public static class Status
{
    public const string Creating = "creating", Created = "created", Running = "running", Stopped = "stopped", Paused = "paused";
}
