// config-linux.md, "Control groups"
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>linux.resources: cgroup limits.</summary>
public sealed class Resources : JsonModel
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

    public static Resources Read(JsonIn o) => new()
    {
        Devices = o.Array("devices", DeviceCgroup.Read),
        Memory = o.Object("memory", MemoryResources.Read),
        Cpu = o.Object("cpu", CpuResources.Read),
        Pids = o.Object("pids", PidsResources.Read),
        BlockIO = o.Object("blockIO", BlockIo.Read),
        HugepageLimits = o.Array("hugepageLimits", HugepageLimit.Read),
        Network = o.Object("network", NetworkResources.Read),
        Rdma = o.Map("rdma", RdmaResources.Read),
        Unified = o.StringMap("unified"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("devices", Devices);
        w.Opt("memory", Memory);
        w.Opt("cpu", Cpu);
        w.Opt("pids", Pids);
        w.Opt("blockIO", BlockIO);
        w.Opt("hugepageLimits", HugepageLimits);
        w.Opt("network", Network);
        w.Opt("rdma", Rdma);
        w.Opt("unified", Unified);
    }
}

/// <summary>linux.resources.devices[]: an allow or deny rule.</summary>
public sealed class DeviceCgroup : JsonModel
{
    public bool? Allow { get; set; }
    public string? Type { get; set; }
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public string? Access { get; set; }

    public static DeviceCgroup Read(JsonIn o) => new()
    {
        Allow = o.Bool("allow"),
        Type = o.String("type"),
        Major = o.Int64("major"),
        Minor = o.Int64("minor"),
        Access = o.String("access"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("allow", Allow);
        w.Opt("type", Type);
        w.Opt("major", Major);
        w.Opt("minor", Minor);
        w.Opt("access", Access);
    }
}

/// <summary>linux.resources.memory.</summary>
public sealed class MemoryResources : JsonModel
{
    public long? Limit { get; set; }
    public long? Reservation { get; set; }
    public long? Swap { get; set; }
    public long? Kernel { get; set; }
    public long? KernelTcp { get; set; }
    public ulong? Swappiness { get; set; }
    public bool? DisableOomKiller { get; set; }
    public bool? UseHierarchy { get; set; }
    public bool? CheckBeforeUpdate { get; set; }

    public static MemoryResources Read(JsonIn o) => new()
    {
        Limit = o.Int64("limit"),
        Reservation = o.Int64("reservation"),
        Swap = o.Int64("swap"),
        Kernel = o.Int64("kernel"),
        KernelTcp = o.Int64("kernelTCP"),
        Swappiness = o.UInt64("swappiness"),
        DisableOomKiller = o.Bool("disableOOMKiller"),
        UseHierarchy = o.Bool("useHierarchy"),
        CheckBeforeUpdate = o.Bool("checkBeforeUpdate"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("limit", Limit);
        w.Opt("reservation", Reservation);
        w.Opt("swap", Swap);
        w.Opt("kernel", Kernel);
        w.Opt("kernelTCP", KernelTcp);
        w.Opt("swappiness", Swappiness);
        w.Opt("disableOOMKiller", DisableOomKiller);
        w.Opt("useHierarchy", UseHierarchy);
        w.Opt("checkBeforeUpdate", CheckBeforeUpdate);
    }
}

/// <summary>linux.resources.cpu.</summary>
public sealed class CpuResources : JsonModel
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

    public static CpuResources Read(JsonIn o) => new()
    {
        Shares = o.UInt64("shares"),
        Quota = o.Int64("quota"),
        Burst = o.UInt64("burst"),
        Period = o.UInt64("period"),
        RealtimeRuntime = o.Int64("realtimeRuntime"),
        RealtimePeriod = o.UInt64("realtimePeriod"),
        Cpus = o.String("cpus"),
        Mems = o.String("mems"),
        Idle = o.Int64("idle"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("shares", Shares);
        w.Opt("quota", Quota);
        w.Opt("burst", Burst);
        w.Opt("period", Period);
        w.Opt("realtimeRuntime", RealtimeRuntime);
        w.Opt("realtimePeriod", RealtimePeriod);
        w.Opt("cpus", Cpus);
        w.Opt("mems", Mems);
        w.Opt("idle", Idle);
    }
}

/// <summary>linux.resources.pids.</summary>
public sealed class PidsResources : JsonModel
{
    public long? Limit { get; set; }

    public static PidsResources Read(JsonIn o) => new()
    {
        Limit = o.Int64("limit"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("limit", Limit);
    }
}

/// <summary>linux.resources.blockIO.</summary>
public sealed class BlockIo : JsonModel
{
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }
    public List<WeightDevice>? WeightDevice { get; set; }
    public List<ThrottleDevice>? ThrottleReadBpsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleWriteBpsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleReadIopsDevice { get; set; }
    public List<ThrottleDevice>? ThrottleWriteIopsDevice { get; set; }

    public static BlockIo Read(JsonIn o) => new()
    {
        Weight = o.UInt16("weight"),
        LeafWeight = o.UInt16("leafWeight"),
        WeightDevice = o.Array("weightDevice", Runtime.WeightDevice.Read),
        ThrottleReadBpsDevice = o.Array("throttleReadBpsDevice", ThrottleDevice.Read),
        ThrottleWriteBpsDevice = o.Array("throttleWriteBpsDevice", ThrottleDevice.Read),
        ThrottleReadIopsDevice = o.Array("throttleReadIOPSDevice", ThrottleDevice.Read),
        ThrottleWriteIopsDevice = o.Array("throttleWriteIOPSDevice", ThrottleDevice.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("weight", Weight);
        w.Opt("leafWeight", LeafWeight);
        w.Opt("weightDevice", WeightDevice);
        w.Opt("throttleReadBpsDevice", ThrottleReadBpsDevice);
        w.Opt("throttleWriteBpsDevice", ThrottleWriteBpsDevice);
        w.Opt("throttleReadIOPSDevice", ThrottleReadIopsDevice);
        w.Opt("throttleWriteIOPSDevice", ThrottleWriteIopsDevice);
    }
}

/// <summary>A per-device blkio weight.</summary>
public sealed class WeightDevice : JsonModel
{
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public ushort? Weight { get; set; }
    public ushort? LeafWeight { get; set; }

    public static WeightDevice Read(JsonIn o) => new()
    {
        Major = o.Int64("major"),
        Minor = o.Int64("minor"),
        Weight = o.UInt16("weight"),
        LeafWeight = o.UInt16("leafWeight"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("major", Major);
        w.Opt("minor", Minor);
        w.Opt("weight", Weight);
        w.Opt("leafWeight", LeafWeight);
    }
}

/// <summary>A per-device blkio rate limit.</summary>
public sealed class ThrottleDevice : JsonModel
{
    public long? Major { get; set; }
    public long? Minor { get; set; }
    public ulong? Rate { get; set; }

    public static ThrottleDevice Read(JsonIn o) => new()
    {
        Major = o.Int64("major"),
        Minor = o.Int64("minor"),
        Rate = o.UInt64("rate"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("major", Major);
        w.Opt("minor", Minor);
        w.Opt("rate", Rate);
    }
}

/// <summary>linux.resources.hugepageLimits[].</summary>
public sealed class HugepageLimit : JsonModel
{
    public string? PageSize { get; set; }
    public ulong? Limit { get; set; }

    public static HugepageLimit Read(JsonIn o) => new()
    {
        PageSize = o.String("pageSize"),
        Limit = o.UInt64("limit"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("pageSize", PageSize);
        w.Opt("limit", Limit);
    }
}

/// <summary>linux.resources.network (net_cls/net_prio).</summary>
public sealed class NetworkResources : JsonModel
{
    public uint? ClassId { get; set; }
    public List<InterfacePriority>? Priorities { get; set; }

    public static NetworkResources Read(JsonIn o) => new()
    {
        ClassId = o.UInt32("classID"),
        Priorities = o.Array("priorities", InterfacePriority.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("classID", ClassId);
        w.Opt("priorities", Priorities);
    }
}

/// <summary>A net_prio priority for one interface.</summary>
public sealed class InterfacePriority : JsonModel
{
    public string? Name { get; set; }
    public uint? Priority { get; set; }

    public static InterfacePriority Read(JsonIn o) => new()
    {
        Name = o.String("name"),
        Priority = o.UInt32("priority"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("name", Name);
        w.Opt("priority", Priority);
    }
}

/// <summary>linux.resources.rdma value.</summary>
public sealed class RdmaResources : JsonModel
{
    public uint? HcaHandles { get; set; }
    public uint? HcaObjects { get; set; }

    public static RdmaResources Read(JsonIn o) => new()
    {
        HcaHandles = o.UInt32("hcaHandles"),
        HcaObjects = o.UInt32("hcaObjects"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("hcaHandles", HcaHandles);
        w.Opt("hcaObjects", HcaObjects);
    }
}
