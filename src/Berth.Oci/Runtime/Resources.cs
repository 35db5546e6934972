using System.Text.Json.Serialization;

namespace Berth.Oci.Runtime;

// config-linux.md, "Control groups".

public sealed class Resources
{
    public List<DeviceCgroup>? Devices { get; set; }
    public MemoryResources? Memory { get; set; }
    public CpuResources? Cpu { get; set; }
    public PidsResources? Pids { get; set; }
    public BlockIo? BlockIO { get; set; }
    public List<HugepageLimit>? HugepageLimits { get; set; }
    public NetworkResources? Network { get; set; }
    public Dictionary<string, RdmaResources>? Rdma { get; set; }
    public Dictionary<string, string>? Unified { get; set; }
}

public sealed class DeviceCgroup
{
    public bool Allow { get; set; }
    public string? Type { get; set; }
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public string? Access { get; set; }
}

public sealed class MemoryResources
{
    public long? Limit { get; set; }
    public long? Reservation { get; set; }
    public long? Swap { get; set; }
    public long? Kernel { get; set; }
    [JsonPropertyName("kernelTCP")]
    public long? KernelTcp { get; set; }
    public ulong? Swappiness { get; set; }
    [JsonPropertyName("disableOOMKiller")]
    public bool? DisableOomKiller { get; set; }
    public bool? UseHierarchy { get; set; }
    public bool? CheckBeforeUpdate { get; set; }
}

public sealed class CpuResources
{
    public ulong? Shares { get; set; }
    public long? Quota { get; set; }
    public ulong? Burst { get; set; }
    public ulong? Period { get; set; }
    public long? RealtimeRuntime { get; set; }
    public ulong? RealtimePeriod { get; set; }
    public string? Cpus { get; set; }
    public string? Mems { get; set; }
    public long? Idle { get; set; }
}

public sealed class PidsResources
{
    public long? Limit { get; set; }
}

public sealed class BlockIo
{
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
    public List<WeightDevice>? WeightDevice { get; set; }
    public List<ThrottleDevice>? ThrottleReadBpsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleWriteBpsDevice { get; set; }
    [JsonPropertyName("throttleReadIOPSDevice")]
    public List<ThrottleDevice>? ThrottleReadIopsDevice { get; set; }
    [JsonPropertyName("throttleWriteIOPSDevice")]
    public List<ThrottleDevice>? ThrottleWriteIopsDevice { get; set; }
}

public sealed class WeightDevice
{
    public long Major { get; set; }
    public long Minor { get; set; }
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
}

public sealed class ThrottleDevice
{
    public long Major { get; set; }
    public long Minor { get; set; }
    public ulong Rate { get; set; }
}

public sealed class HugepageLimit
{
    public string? PageSize { get; set; }
    public ulong Limit { get; set; }
}

public sealed class NetworkResources
{
    [JsonPropertyName("classID")]
    public uint? ClassId { get; set; }
    public List<InterfacePriority>? Priorities { get; set; }
}

public sealed class InterfacePriority
{
    public string? Name { get; set; }
    public uint Priority { get; set; }
}

public sealed class RdmaResources
{
    public uint? HcaHandles { get; set; }
    public uint? HcaObjects { get; set; }
}
