// config-linux.md
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>linux (config-linux.md).</summary>
public sealed class Linux : JsonModel
{
    public List<IdMapping>? UidMappings { get; set; }
    public List<IdMapping>? GidMappings { get; set; }
    public TimeOffsets? TimeOffsets { get; set; }
    public Dictionary<string, string>? Sysctl { get; set; }
    public Resources? Resources { get; set; }
    public string? CgroupsPath { get; set; }
    public List<LinuxNamespace>? Namespaces { get; set; }
    public List<Device>? Devices { get; set; }
    public Seccomp? Seccomp { get; set; }
    public string? RootfsPropagation { get; set; }
    public List<string>? MaskedPaths { get; set; }
    public List<string>? ReadonlyPaths { get; set; }
    public string? MountLabel { get; set; }
    public IntelRdt? IntelRdt { get; set; }
    public Personality? Personality { get; set; }
    public MemoryPolicy? MemoryPolicy { get; set; }
    public Dictionary<string, NetDevice>? NetDevices { get; set; }

    public static Linux Read(JsonIn o) => new()
    {
        UidMappings = o.Array("uidMappings", IdMapping.Read),
        GidMappings = o.Array("gidMappings", IdMapping.Read),
        TimeOffsets = o.Object("timeOffsets", TimeOffsets.Read),
        Sysctl = o.StringMap("sysctl"),
        Resources = o.Object("resources", Resources.Read),
        CgroupsPath = o.String("cgroupsPath"),
        Namespaces = o.Array("namespaces", LinuxNamespace.Read),
        Devices = o.Array("devices", Device.Read),
        Seccomp = o.Object("seccomp", Seccomp.Read),
        RootfsPropagation = o.String("rootfsPropagation"),
        MaskedPaths = o.Strings("maskedPaths"),
        ReadonlyPaths = o.Strings("readonlyPaths"),
        MountLabel = o.String("mountLabel"),
        IntelRdt = o.Object("intelRdt", IntelRdt.Read),
        Personality = o.Object("personality", Personality.Read),
        MemoryPolicy = o.Object("memoryPolicy", MemoryPolicy.Read),
        NetDevices = o.Map("netDevices", NetDevice.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("uidMappings", UidMappings);
        w.Opt("gidMappings", GidMappings);
        w.Opt("timeOffsets", TimeOffsets);
        w.Opt("sysctl", Sysctl);
        w.Opt("resources", Resources);
        w.Opt("cgroupsPath", CgroupsPath);
        w.Opt("namespaces", Namespaces);
        w.Opt("devices", Devices);
        w.Opt("seccomp", Seccomp);
        w.Opt("rootfsPropagation", RootfsPropagation);
        w.Opt("maskedPaths", MaskedPaths);
        w.Opt("readonlyPaths", ReadonlyPaths);
        w.Opt("mountLabel", MountLabel);
        w.Opt("intelRdt", IntelRdt);
        w.Opt("personality", Personality);
        w.Opt("memoryPolicy", MemoryPolicy);
        w.Opt("netDevices", NetDevices);
    }
}

/// <summary>A uid or gid range mapping.</summary>
public sealed class IdMapping : JsonModel
{
    public uint? ContainerId { get; set; }
    public uint? HostId { get; set; }
    public uint? Size { get; set; }

    /// <summary>The host id that <paramref name="id"/> maps to through <paramref name="maps"/>, or null if no range holds it.</summary>
    public static uint? Map(IEnumerable<IdMapping> maps, uint id)
    {
        foreach (var m in maps)
            if (m is { ContainerId: uint c, HostId: uint h, Size: uint n } && id >= c && id - c < n) return h + (id - c);
        return null;
    }

    public static IdMapping Read(JsonIn o) => new()
    {
        ContainerId = o.UInt32("containerID"),
        HostId = o.UInt32("hostID"),
        Size = o.UInt32("size"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("containerID", ContainerId);
        w.Opt("hostID", HostId);
        w.Opt("size", Size);
    }
}

/// <summary>linux.timeOffsets.</summary>
public sealed class TimeOffsets : JsonModel
{
    public TimeOffset? Monotonic { get; set; }
    public TimeOffset? Boottime { get; set; }

    public static TimeOffsets Read(JsonIn o) => new()
    {
        Monotonic = o.Object("monotonic", TimeOffset.Read),
        Boottime = o.Object("boottime", TimeOffset.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("monotonic", Monotonic);
        w.Opt("boottime", Boottime);
    }
}

/// <summary>One clock's offset.</summary>
public sealed class TimeOffset : JsonModel
{
    public long? Secs { get; set; }
    public uint? Nanosecs { get; set; }

    public static TimeOffset Read(JsonIn o) => new()
    {
        Secs = o.Int64("secs"),
        Nanosecs = o.UInt32("nanosecs"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("secs", Secs);
        w.Opt("nanosecs", Nanosecs);
    }
}

/// <summary>linux.namespaces[]: created when path is absent, joined otherwise.</summary>
public sealed class LinuxNamespace : JsonModel
{
    public string? Type { get; set; }
    public string? Path { get; set; }

    public static LinuxNamespace Read(JsonIn o) => new()
    {
        Type = o.String("type"),
        Path = o.String("path"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("type", Type);
        w.Opt("path", Path);
    }
}

/// <summary>linux.devices[]: a node to create in the container.</summary>
public sealed class Device : JsonModel
{
    public string? Path { get; set; }
    public string? Type { get; set; }
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public uint? FileMode { get; set; }
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }

    public static Device Read(JsonIn o) => new()
    {
        Path = o.String("path"),
        Type = o.String("type"),
        Major = o.Int64("major"),
        Minor = o.Int64("minor"),
        FileMode = o.UInt32("fileMode"),
        Uid = o.UInt32("uid"),
        Gid = o.UInt32("gid"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("path", Path);
        w.Opt("type", Type);
        w.Opt("major", Major);
        w.Opt("minor", Minor);
        w.Opt("fileMode", FileMode);
        w.Opt("uid", Uid);
        w.Opt("gid", Gid);
    }
}

/// <summary>linux.intelRdt.</summary>
public sealed class IntelRdt : JsonModel
{
    public string? ClosId { get; set; }
    public string? L3CacheSchema { get; set; }
    public string? MemBwSchema { get; set; }
    public List<string>? Schemata { get; set; }
    public bool? EnableMonitoring { get; set; }

    public static IntelRdt Read(JsonIn o) => new()
    {
        ClosId = o.String("closID"),
        L3CacheSchema = o.String("l3CacheSchema"),
        MemBwSchema = o.String("memBwSchema"),
        Schemata = o.Strings("schemata"),
        EnableMonitoring = o.Bool("enableMonitoring"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("closID", ClosId);
        w.Opt("l3CacheSchema", L3CacheSchema);
        w.Opt("memBwSchema", MemBwSchema);
        w.Opt("schemata", Schemata);
        w.Opt("enableMonitoring", EnableMonitoring);
    }
}

/// <summary>linux.personality.</summary>
public sealed class Personality : JsonModel
{
    public string? Domain { get; set; }
    public List<string>? Flags { get; set; }

    public static Personality Read(JsonIn o) => new()
    {
        Domain = o.String("domain"),
        Flags = o.Strings("flags"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("domain", Domain);
        w.Opt("flags", Flags);
    }
}

/// <summary>linux.memoryPolicy (set_mempolicy).</summary>
public sealed class MemoryPolicy : JsonModel
{
    public string? Mode { get; set; }
    public string? Nodes { get; set; }
    public List<string>? Flags { get; set; }

    public static MemoryPolicy Read(JsonIn o) => new()
    {
        Mode = o.String("mode"),
        Nodes = o.String("nodes"),
        Flags = o.Strings("flags"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("mode", Mode);
        w.Opt("nodes", Nodes);
        w.Opt("flags", Flags);
    }
}

/// <summary>linux.netDevices value: the name inside the container.</summary>
public sealed class NetDevice : JsonModel
{
    public string? Name { get; set; }

    public static NetDevice Read(JsonIn o) => new()
    {
        Name = o.String("name"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("name", Name);
    }
}
