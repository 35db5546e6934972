using Berth.Engine.Network;
using Berth.Engine.Store;

namespace Berth.Engine.Networking;

/// <summary>
/// What the engine asks of networking for one container (the shape of Berth.Engine.Network's
/// ContainerNetworkRequest): the networks to join, published ports, and the files it writes.
/// </summary>
public sealed record NetworkRequest(
    string ContainerId, string Name, IReadOnlyList<string> Aliases, string Network, IReadOnlyList<PortMapping> Ports,
    string HostsFile, string ResolvConf, string Hostname, IReadOnlyList<string> AddHosts, IReadOnlyList<string> Dns);

/// <summary>
/// The seam between the engine and its networks. <see cref="Prepare"/> runs before the runtime
/// creates the container: it writes /etc/hosts and /etc/resolv.conf for it and returns the path
/// of the network namespace to join (null: the runtime makes a new, empty one; for host
/// networking, no namespace). <see cref="Teardown"/> undoes it and is idempotent (it runs again
/// after a CLI died half-way). <see cref="BasicNetworking"/> does none and host; CNI bridge
/// networks (Berth.Engine.Network) implement this interface too.
/// </summary>
public interface INetworking
{
    /// <summary>The network a container joins when --network is not given.</summary>
    string DefaultNetwork { get; }

    string? Prepare(NetworkRequest request);

    void Teardown(NetworkRequest request);
}
