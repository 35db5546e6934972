using Berth.Engine.Network;
using Berth.Engine.Store;

namespace Berth.Engine.Specs;

/// <summary>What `berth run`/`create` asks for, parsed and checked by the CLI: docker's and podman's flags as data.</summary>
public sealed class RunOptions
{
    public string Image { get; set; } = "";
    /// <summary>CMD… after the image; empty for the image's own.</summary>
    public List<string> Command { get; set; } = new();
    /// <summary>--entrypoint: null for the image's; "" clears it.</summary>
    public string? Entrypoint { get; set; }
    public string? Name { get; set; }
    public bool Detach { get; set; }
    public bool Remove { get; set; }
    public bool Interactive { get; set; }
    public bool Tty { get; set; }
    public List<string> Env { get; set; } = new();
    public List<MountRequest> Mounts { get; set; } = new();
    public string? WorkDir { get; set; }
    public string? User { get; set; }
    public string? Hostname { get; set; }
    public Dictionary<string, string> Labels { get; set; } = new();
    public List<string> CapAdd { get; set; } = new();
    public List<string> CapDrop { get; set; } = new();
    /// <summary>--security-opt seccomp=unconfined|FILE, no-new-privileges[=true|false].</summary>
    public List<string> SecurityOpts { get; set; } = new();
    public bool ReadOnly { get; set; } = true;
    public bool Privileged { get; set; }
    public long? Memory { get; set; }
    public double? Cpus { get; set; }
    public long? PidsLimit { get; set; }
    /// <summary>--ulimit TYPE=SOFT[:HARD].</summary>
    public List<string> Ulimits { get; set; } = new();
    public bool Init { get; set; }
    public string? StopSignal { get; set; }
    public int? StopTimeout { get; set; }
    /// <summary>missing, always or never.</summary>
    public string Pull { get; set; } = "missing";
    public string? Platform { get; set; }
    public string? Runtime { get; set; }
    /// <summary>none, host, or a network name (bridge networking: <see cref="Networking.INetworking"/>); null for the networking's default.</summary>
    public string? Network { get; set; }
    public List<PortMapping> Ports { get; set; } = new();
    public List<string> AddHosts { get; set; } = new();
    public List<string> Dns { get; set; } = new();
}
