// config-linux.md, "Seccomp"
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>linux.seccomp.</summary>
public sealed class Seccomp : JsonModel
{
    public string? DefaultAction { get; set; }
    public uint? DefaultErrnoRet { get; set; }
    public List<string>? Architectures { get; set; }
    public List<string>? Flags { get; set; }
    public string? ListenerPath { get; set; }
    public string? ListenerMetadata { get; set; }
    public List<SeccompSyscall>? Syscalls { get; set; }

    public static Seccomp Read(JsonIn o) => new()
    {
        DefaultAction = o.String("defaultAction"),
        DefaultErrnoRet = o.UInt32("defaultErrnoRet"),
        Architectures = o.Strings("architectures"),
        Flags = o.Strings("flags"),
        ListenerPath = o.String("listenerPath"),
        ListenerMetadata = o.String("listenerMetadata"),
        Syscalls = o.Array("syscalls", SeccompSyscall.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("defaultAction", DefaultAction);
        w.Opt("defaultErrnoRet", DefaultErrnoRet);
        w.Opt("architectures", Architectures);
        w.Opt("flags", Flags);
        w.Opt("listenerPath", ListenerPath);
        w.Opt("listenerMetadata", ListenerMetadata);
        w.Opt("syscalls", Syscalls);
    }
}

/// <summary>linux.seccomp.syscalls[]: a rule for a set of syscalls.</summary>
public sealed class SeccompSyscall : JsonModel
{
    public List<string>? Names { get; set; }
    public string? Action { get; set; }
    public uint? ErrnoRet { get; set; }
    public List<SeccompArg>? Args { get; set; }

    public static SeccompSyscall Read(JsonIn o) => new()
    {
        Names = o.Strings("names"),
        Action = o.String("action"),
        ErrnoRet = o.UInt32("errnoRet"),
        Args = o.Array("args", SeccompArg.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("names", Names);
        w.Opt("action", Action);
        w.Opt("errnoRet", ErrnoRet);
        w.Opt("args", Args);
    }
}

/// <summary>A condition on one syscall argument.</summary>
public sealed class SeccompArg : JsonModel
{
    public uint? Index { get; set; }
    public ulong? Value { get; set; }
    public ulong? ValueTwo { get; set; }
    public string? Op { get; set; }

    public static SeccompArg Read(JsonIn o) => new()
    {
        Index = o.UInt32("index"),
        Value = o.UInt64("value"),
        ValueTwo = o.UInt64("valueTwo"),
        Op = o.String("op"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("index", Index);
        w.Opt("value", Value);
        w.Opt("valueTwo", ValueTwo);
        w.Opt("op", Op);
    }
}
