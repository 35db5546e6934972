namespace Berth.Runtime.Cgroups;

/// <summary>The cgroup controllers Berth drives, named per version by <see cref="Controllers"/>.</summary>
public enum Controller
{
    Memory,
    Cpu,
    /// <summary>CPU accounting: v1's cpuacct, part of cpu on v2.</summary>
    Cpuacct,
    Cpuset,
    Pids,
    /// <summary>v1's blkio, v2's io.</summary>
    BlockIo,
    Hugetlb,
    NetCls,
    NetPrio,
    Rdma,
    Devices,
    Freezer,
}

public static class Controllers
{
    /// <summary>The v1 controller's name (and the name errors use).</summary>
    public static string V1Name(this Controller c) => c switch
    {
        Controller.Memory => "memory",
        Controller.Cpu => "cpu",
        Controller.Cpuacct => "cpuacct",
        Controller.Cpuset => "cpuset",
        Controller.Pids => "pids",
        Controller.BlockIo => "blkio",
        Controller.Hugetlb => "hugetlb",
        Controller.NetCls => "net_cls",
        Controller.NetPrio => "net_prio",
        Controller.Rdma => "rdma",
        Controller.Devices => "devices",
        _ => "freezer",
    };

    /// <summary>The name in cgroup.controllers on v2; null for what v2 does not have as a controller.</summary>
    public static string? V2Name(this Controller c) => c switch
    {
        Controller.Cpuacct => "cpu",
        Controller.BlockIo => "io",
        Controller.NetCls or Controller.NetPrio or Controller.Devices or Controller.Freezer => null,
        _ => c.V1Name(),
    };
}
