using Berth.Engine.Network;
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Engine.Store;

/// <summary>Where a container is in its life, as the store records it; <see cref="ContainerStatus"/> is what it is now.</summary>
public enum Phase
{
    /// <summary>Being made by the CLI whose pid is <see cref="ContainerRecord.CreatorPid"/>; a dead creator leaves it incomplete.</summary>
    Creating,
    /// <summary>The runtime holds it (conmon is its monitor), its process waits for `start`.</summary>
    Created,
    /// <summary>Started once; running until the exit file says otherwise.</summary>
    Started,
    /// <summary>Exited and cleaned up (runtime state deleted, rootfs unmounted); can be started again.</summary>
    Stopped,
}

/// <summary>A mount as the user asked for it: bind (Source a host path), volume (Source a volume name), tmpfs.</summary>
public sealed record MountRequest(string Type, string Source, string Destination, bool ReadOnly, IReadOnlyList<string> Options)
{
    public bool Anonymous { get; init; }
}

/// <summary>
/// One container as the store keeps it (STORE/containers/ID/container.json, written whole by
/// temp file and rename): what the user asked for, what the engine made, and where it is.
/// </summary>
public sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string Image { get; set; } = "";
    public string ImageDigest { get; set; } = "";
    public string Created { get; set; } = "";
    public List<string> Command { get; set; } = new();
    public Phase Phase { get; set; }
    public int CreatorPid { get; set; }
    public ulong CreatorStart { get; set; }
    public int Pid { get; set; }
    public ulong PidStart { get; set; }
    public int ConmonPid { get; set; }
    public string? StartedAt { get; set; }
    public string? FinishedAt { get; set; }
    public int? ExitCode { get; set; }
    public bool OomKilled { get; set; }
    public bool Paused { get; set; }
    public bool AutoRemove { get; set; }
    public bool Tty { get; set; }
    public bool Interactive { get; set; }
    /// <summary>Run in the foreground: that CLI reads the exit file and removes it.</summary>
    public bool Attached { get; set; }
    public string Runtime { get; set; } = "";
    public string Network { get; set; } = "none";
    public string Hostname { get; set; } = "";
    public List<string> AddHosts { get; set; } = new();
    public List<string> Dns { get; set; } = new();
    public List<PortMapping> Ports { get; set; } = new();
    public List<MountRequest> Mounts { get; set; } = new();
    public Dictionary<string, string> Labels { get; set; } = new();
    public string StopSignal { get; set; } = "SIGTERM";
    public int StopTimeout { get; set; } = 10;

    public string ShortId => Id[..12];

    public byte[] ToJson() => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("Id", Id);
        w.WriteString("Name", Name);
        w.WriteString("Image", Image);
        w.WriteString("ImageDigest", ImageDigest);
        w.WriteString("Created", Created);
        Strings(w, "Command", Command);
        w.WriteString("Phase", Phase.ToString());
        w.WriteNumber("CreatorPid", CreatorPid);
        w.WriteNumber("CreatorStart", CreatorStart);
        w.WriteNumber("Pid", Pid);
        w.WriteNumber("PidStart", PidStart);
        w.WriteNumber("ConmonPid", ConmonPid);
        w.Opt("StartedAt", StartedAt);
        w.Opt("FinishedAt", FinishedAt);
        w.Opt("ExitCode", ExitCode);
        w.WriteBoolean("OomKilled", OomKilled);
        w.WriteBoolean("Paused", Paused);
        w.WriteBoolean("AutoRemove", AutoRemove);
        w.WriteBoolean("Tty", Tty);
        w.WriteBoolean("Interactive", Interactive);
        w.WriteBoolean("Attached", Attached);
        w.WriteString("Runtime", Runtime);
        w.WriteString("Network", Network);
        w.WriteString("Hostname", Hostname);
        Strings(w, "AddHosts", AddHosts);
        Strings(w, "Dns", Dns);
        w.WriteStartArray("Ports");
        foreach (var p in Ports)
        {
            w.WriteStartObject();
            w.WriteString("HostIp", p.HostIp);
            w.WriteNumber("HostPort", p.HostPort);
            w.WriteNumber("ContainerPort", p.ContainerPort);
            w.WriteString("Protocol", p.Protocol);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("Mounts");
        foreach (var m in Mounts)
        {
            w.WriteStartObject();
            w.WriteString("Type", m.Type);
            w.WriteString("Source", m.Source);
            w.WriteString("Destination", m.Destination);
            w.WriteBoolean("ReadOnly", m.ReadOnly);
            w.WriteBoolean("Anonymous", m.Anonymous);
            Strings(w, "Options", m.Options);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("Labels");
        foreach (var (k, v) in Labels) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteString("StopSignal", StopSignal);
        w.WriteNumber("StopTimeout", StopTimeout);
        w.WriteEndObject();
    });

    static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    public static ContainerRecord Parse(ReadOnlySpan<byte> json, string what) => JsonIn.Parse(json, what, o => new ContainerRecord
    {
        Id = o.String("Id") ?? "",
        Name = o.String("Name") ?? "",
        Image = o.String("Image") ?? "",
        ImageDigest = o.String("ImageDigest") ?? "",
        Created = o.String("Created") ?? "",
        Command = o.Strings("Command") ?? new(),
        Phase = Enum.TryParse<Phase>(o.String("Phase"), out var ph) ? ph : Phase.Creating,
        CreatorPid = o.Int32("CreatorPid") ?? 0,
        CreatorStart = o.UInt64("CreatorStart") ?? 0,
        Pid = o.Int32("Pid") ?? 0,
        PidStart = o.UInt64("PidStart") ?? 0,
        ConmonPid = o.Int32("ConmonPid") ?? 0,
        StartedAt = o.String("StartedAt"),
        FinishedAt = o.String("FinishedAt"),
        ExitCode = o.Int32("ExitCode"),
        OomKilled = o.Bool("OomKilled") ?? false,
        Paused = o.Bool("Paused") ?? false,
        AutoRemove = o.Bool("AutoRemove") ?? false,
        Tty = o.Bool("Tty") ?? false,
        Interactive = o.Bool("Interactive") ?? false,
        Attached = o.Bool("Attached") ?? false,
        Runtime = o.String("Runtime") ?? "",
        Network = o.String("Network") ?? "none",
        Hostname = o.String("Hostname") ?? "",
        AddHosts = o.Strings("AddHosts") ?? new(),
        Dns = o.Strings("Dns") ?? new(),
        Ports = o.Array("Ports", p => new PortMapping(p.String("HostIp") ?? "", p.Int32("HostPort") ?? 0, p.Int32("ContainerPort") ?? 0, p.String("Protocol") ?? "tcp")) ?? new(),
        Mounts = o.Array("Mounts", m => new MountRequest(m.String("Type") ?? "", m.String("Source") ?? "", m.String("Destination") ?? "", m.Bool("ReadOnly") ?? false, m.Strings("Options") ?? new())
        {
            Anonymous = m.Bool("Anonymous") ?? false,
        }) ?? new(),
        Labels = o.StringMap("Labels") ?? new(),
        StopSignal = o.String("StopSignal") ?? "SIGTERM",
        StopTimeout = o.Int32("StopTimeout") ?? 10,
    });
}
