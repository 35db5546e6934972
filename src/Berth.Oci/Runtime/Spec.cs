// runtime-spec config.json (config.md), v1.2: property names are the spec's.
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>config.json (config.md).</summary>
public sealed class Spec : JsonModel
{
    public string? OciVersion { get; set; }
    public Process? Process { get; set; }
    public Root? Root { get; set; }
    public string? Hostname { get; set; }
    public string? Domainname { get; set; }
    public List<Mount>? Mounts { get; set; }
    public Hooks? Hooks { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public Linux? Linux { get; set; }

    public static Spec Read(JsonIn o) => new()
    {
        OciVersion = o.String("ociVersion"),
        Process = o.Object("process", Process.Read),
        Root = o.Object("root", Root.Read),
        Hostname = o.String("hostname"),
        Domainname = o.String("domainname"),
        Mounts = o.Array("mounts", Mount.Read),
        Hooks = o.Object("hooks", Hooks.Read),
        Annotations = o.StringMap("annotations"),
        Linux = o.Object("linux", Linux.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("ociVersion", OciVersion);
        w.Opt("process", Process);
        w.Opt("root", Root);
        w.Opt("hostname", Hostname);
        w.Opt("domainname", Domainname);
        w.Opt("mounts", Mounts);
        w.Opt("hooks", Hooks);
        w.Opt("annotations", Annotations);
        w.Opt("linux", Linux);
    }
}

/// <summary>root: the container's root file system.</summary>
public sealed class Root : JsonModel
{
    public string? Path { get; set; }
    public bool? Readonly { get; set; }

    public static Root Read(JsonIn o) => new()
    {
        Path = o.String("path"),
        Readonly = o.Bool("readonly"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("path", Path);
        w.Opt("readonly", Readonly);
    }
}

/// <summary>mounts[]: one mount, in order.</summary>
public sealed class Mount : JsonModel
{
    public string? Destination { get; set; }
    public string? Source { get; set; }
    public string? Type { get; set; }
    public List<string>? Options { get; set; }
    public List<IdMapping>? UidMappings { get; set; }
    public List<IdMapping>? GidMappings { get; set; }

    public static Mount Read(JsonIn o) => new()
    {
        Destination = o.String("destination"),
        Source = o.String("source"),
        Type = o.String("type"),
        Options = o.Strings("options"),
        UidMappings = o.Array("uidMappings", IdMapping.Read),
        GidMappings = o.Array("gidMappings", IdMapping.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("destination", Destination);
        w.Opt("source", Source);
        w.Opt("type", Type);
        w.Opt("options", Options);
        w.Opt("uidMappings", UidMappings);
        w.Opt("gidMappings", GidMappings);
    }
}

/// <summary>process: what runs in the container.</summary>
public sealed class Process : JsonModel
{
    public bool? Terminal { get; set; }
    public Box? ConsoleSize { get; set; }
    public User? User { get; set; }
    public List<string>? Args { get; set; }
    public string? CommandLine { get; set; }
    public List<string>? Env { get; set; }
    public string? Cwd { get; set; }
    public Capabilities? Capabilities { get; set; }
    public List<Rlimit>? Rlimits { get; set; }
    public bool? NoNewPrivileges { get; set; }
    public string? ApparmorProfile { get; set; }
    public int? OomScoreAdj { get; set; }
    public Scheduler? Scheduler { get; set; }
    public string? SelinuxLabel { get; set; }
    public IoPriority? IoPriority { get; set; }
    public CpuAffinity? ExecCpuAffinity { get; set; }

    public static Process Read(JsonIn o) => new()
    {
        Terminal = o.Bool("terminal"),
        ConsoleSize = o.Object("consoleSize", Box.Read),
        User = o.Object("user", User.Read),
        Args = o.Strings("args"),
        CommandLine = o.String("commandLine"),
        Env = o.Strings("env"),
        Cwd = o.String("cwd"),
        Capabilities = o.Object("capabilities", Capabilities.Read),
        Rlimits = o.Array("rlimits", Rlimit.Read),
        NoNewPrivileges = o.Bool("noNewPrivileges"),
        ApparmorProfile = o.String("apparmorProfile"),
        OomScoreAdj = o.Int32("oomScoreAdj"),
        Scheduler = o.Object("scheduler", Scheduler.Read),
        SelinuxLabel = o.String("selinuxLabel"),
        IoPriority = o.Object("ioPriority", IoPriority.Read),
        ExecCpuAffinity = o.Object("execCPUAffinity", CpuAffinity.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("terminal", Terminal);
        w.Opt("consoleSize", ConsoleSize);
        w.Opt("user", User);
        w.Opt("args", Args);
        w.Opt("commandLine", CommandLine);
        w.Opt("env", Env);
        w.Opt("cwd", Cwd);
        w.Opt("capabilities", Capabilities);
        w.Opt("rlimits", Rlimits);
        w.Opt("noNewPrivileges", NoNewPrivileges);
        w.Opt("apparmorProfile", ApparmorProfile);
        w.Opt("oomScoreAdj", OomScoreAdj);
        w.Opt("scheduler", Scheduler);
        w.Opt("selinuxLabel", SelinuxLabel);
        w.Opt("ioPriority", IoPriority);
        w.Opt("execCPUAffinity", ExecCpuAffinity);
    }
}

/// <summary>process.consoleSize.</summary>
public sealed class Box : JsonModel
{
    public uint? Height { get; set; }
    public uint? Width { get; set; }

    public static Box Read(JsonIn o) => new()
    {
        Height = o.UInt32("height"),
        Width = o.UInt32("width"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("height", Height);
        w.Opt("width", Width);
    }
}

/// <summary>process.user (POSIX).</summary>
public sealed class User : JsonModel
{
    public uint? Uid { get; set; }
    public uint? Gid { get; set; }
    public uint? Umask { get; set; }
    public List<uint>? AdditionalGids { get; set; }
    public string? Username { get; set; }

    public static User Read(JsonIn o) => new()
    {
        Uid = o.UInt32("uid"),
        Gid = o.UInt32("gid"),
        Umask = o.UInt32("umask"),
        AdditionalGids = o.UInt32s("additionalGids"),
        Username = o.String("username"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("uid", Uid);
        w.Opt("gid", Gid);
        w.Opt("umask", Umask);
        w.Opt("additionalGids", AdditionalGids);
        w.Opt("username", Username);
    }
}

/// <summary>process.capabilities: the five sets, by name.</summary>
public sealed class Capabilities : JsonModel
{
    public List<string>? Bounding { get; set; }
    public List<string>? Effective { get; set; }
    public List<string>? Inheritable { get; set; }
    public List<string>? Permitted { get; set; }
    public List<string>? Ambient { get; set; }

    public static Capabilities Read(JsonIn o) => new()
    {
        Bounding = o.Strings("bounding"),
        Effective = o.Strings("effective"),
        Inheritable = o.Strings("inheritable"),
        Permitted = o.Strings("permitted"),
        Ambient = o.Strings("ambient"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("bounding", Bounding);
        w.Opt("effective", Effective);
        w.Opt("inheritable", Inheritable);
        w.Opt("permitted", Permitted);
        w.Opt("ambient", Ambient);
    }
}

/// <summary>process.rlimits[].</summary>
public sealed class Rlimit : JsonModel
{
    public string? Type { get; set; }
    public ulong? Hard { get; set; }
    public ulong? Soft { get; set; }

    public static Rlimit Read(JsonIn o) => new()
    {
        Type = o.String("type"),
        Hard = o.UInt64("hard"),
        Soft = o.UInt64("soft"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("type", Type);
        w.Opt("hard", Hard);
        w.Opt("soft", Soft);
    }
}

/// <summary>process.scheduler (sched_setattr).</summary>
public sealed class Scheduler : JsonModel
{
    public string? Policy { get; set; }
    public int? Nice { get; set; }
    public int? Priority { get; set; }
    public List<string>? Flags { get; set; }
    public ulong? Runtime { get; set; }
    public ulong? Deadline { get; set; }
    public ulong? Period { get; set; }

    public static Scheduler Read(JsonIn o) => new()
    {
        Policy = o.String("policy"),
        Nice = o.Int32("nice"),
        Priority = o.Int32("priority"),
        Flags = o.Strings("flags"),
        Runtime = o.UInt64("runtime"),
        Deadline = o.UInt64("deadline"),
        Period = o.UInt64("period"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("policy", Policy);
        w.Opt("nice", Nice);
        w.Opt("priority", Priority);
        w.Opt("flags", Flags);
        w.Opt("runtime", Runtime);
        w.Opt("deadline", Deadline);
        w.Opt("period", Period);
    }
}

/// <summary>process.ioPriority.</summary>
public sealed class IoPriority : JsonModel
{
    public string? Class { get; set; }
    public int? Priority { get; set; }

    public static IoPriority Read(JsonIn o) => new()
    {
        Class = o.String("class"),
        Priority = o.Int32("priority"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("class", Class);
        w.Opt("priority", Priority);
    }
}

/// <summary>process.execCPUAffinity.</summary>
public sealed class CpuAffinity : JsonModel
{
    public string? Initial { get; set; }
    public string? Final { get; set; }

    public static CpuAffinity Read(JsonIn o) => new()
    {
        Initial = o.String("initial"),
        Final = o.String("final"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("initial", Initial);
        w.Opt("final", Final);
    }
}

/// <summary>hooks: commands run at points of the lifecycle.</summary>
public sealed class Hooks : JsonModel
{
    public List<Hook>? Prestart { get; set; }
    public List<Hook>? CreateRuntime { get; set; }
    public List<Hook>? CreateContainer { get; set; }
    public List<Hook>? StartContainer { get; set; }
    public List<Hook>? Poststart { get; set; }
    public List<Hook>? Poststop { get; set; }

    public static Hooks Read(JsonIn o) => new()
    {
        Prestart = o.Array("prestart", Hook.Read),
        CreateRuntime = o.Array("createRuntime", Hook.Read),
        CreateContainer = o.Array("createContainer", Hook.Read),
        StartContainer = o.Array("startContainer", Hook.Read),
        Poststart = o.Array("poststart", Hook.Read),
        Poststop = o.Array("poststop", Hook.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("prestart", Prestart);
        w.Opt("createRuntime", CreateRuntime);
        w.Opt("createContainer", CreateContainer);
        w.Opt("startContainer", StartContainer);
        w.Opt("poststart", Poststart);
        w.Opt("poststop", Poststop);
    }
}

/// <summary>One hook command.</summary>
public sealed class Hook : JsonModel
{
    public string? Path { get; set; }
    public List<string>? Args { get; set; }
    public List<string>? Env { get; set; }
    public int? Timeout { get; set; }

    public static Hook Read(JsonIn o) => new()
    {
        Path = o.String("path"),
        Args = o.Strings("args"),
        Env = o.Strings("env"),
        Timeout = o.Int32("timeout"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("path", Path);
        w.Opt("args", Args);
        w.Opt("env", Env);
        w.Opt("timeout", Timeout);
    }
}
