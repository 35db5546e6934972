namespace Berth.Engine.Network;

/// <summary>
/// What the engine asks of the networks for one container: its netns (made by <see cref="NetNs"/>),
/// the networks to join in order (eth0, eth1, …), the ports to publish (on the first network), and the
/// files Setup writes and the engine bind-mounts: /etc/hosts and /etc/resolv.conf.
/// </summary>
public sealed record ContainerNetworkRequest(
    string ContainerId,
    string Name,
    IReadOnlyList<string> Aliases,
    string NetnsPath,
    IReadOnlyList<string> Networks,
    IReadOnlyList<PortMapping> Ports,
    string HostsFile,
    string ResolvConf,
    string Hostname,
    IReadOnlyList<string> AddHosts /* host:ip */,
    IReadOnlyList<string> Dns);

/// <summary>A container's interface on one network, from the CNI ADD result.</summary>
public sealed record Attachment(string Network, string Interface, IReadOnlyList<string> Addresses /* CIDR */, string? Gateway, string? Mac);

/// <summary>A network as `berth network inspect` shows it; Subnet/Gateway/Bridge are null for a conflist Berth did not write and cannot read them from.</summary>
public sealed record NetworkInfo(
    string Name,
    string Driver,
    string? Bridge,
    string? Subnet,
    string? Gateway,
    bool Internal,
    IReadOnlyDictionary<string, string> Labels,
    string ConfigFile,
    IReadOnlyList<string> Plugins,
    IReadOnlyList<string> Containers);
