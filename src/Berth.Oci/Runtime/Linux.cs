using System.Text.Json.Serialization;

namespace Berth.Oci.Runtime;

// config-linux.md

public sealed class Linux
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
}

public sealed class IdMapping
{
    [JsonPropertyName("containerID")]
    public uint ContainerId { get; set; }
    [JsonPropertyName("hostID")]
    public uint HostId { get; set; }
    public uint Size { get; set; }
}

public sealed class TimeOffsets
{
    public TimeOffset? Monotonic { get; set; }
    public TimeOffset? Boottime { get; set; }
}

public sealed class TimeOffset
{
    public long Secs { get; set; }
    public uint Nanosecs { get; set; }
}

public sealed class LinuxNamespace
{
    public string? Type { get; set; }
    public string? Path { get; set; }
}

public sealed class Device
{
    public string? Path { get; set; }
    public string? Type { get; set; }
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public uint? FileMode { get; set; }
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }
}

public sealed class IntelRdt
{
    [JsonPropertyName("closID")]
    public string? ClosId { get; set; }
    public string? L3CacheSchema { get; set; }
    public string? MemBwSchema { get; set; }
    public List<string>? Schemata { get; set; }
    [JsonPropertyName("enableMonitoring")]
    public bool? EnableMonitoring { get; set; }
}

public sealed class Personality
{
    public string? Domain { get; set; }
    public List<string>? Flags { get; set; }
}

public sealed class MemoryPolicy
{
    public string? Mode { get; set; }
    public string? Nodes { get; set; }
    public List<string>? Flags { get; set; }
}

public sealed class NetDevice
{
    public string? Name { get; set; }
}
