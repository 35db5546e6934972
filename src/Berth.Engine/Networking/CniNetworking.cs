using Berth.Engine.Network;
using Berth.Linux;

namespace Berth.Engine.Networking;

/// <summary>
/// Networks as podman's CNI backend gives them: `none` and `host` as <see cref="BasicNetworking"/>
/// does; any other name (the default `berth` bridge, or one of `berth network create`; several
/// joined with commas) is a network namespace of the engine's, bind-mounted under the runtime's
/// state root, set up by the networks' CNI plugins before the runtime joins it.
/// </summary>
public sealed class CniNetworking(Networks networks, string netnsDir, string defaultNetwork = Networks.DefaultNetwork) : INetworking
{
    readonly BasicNetworking _basic = new();

    public string DefaultNetwork => defaultNetwork;

    public Networks Networks => networks;

    /// <summary>Where a container's namespace is kept: by id, so a restart or a cleanup finds it.</summary>
    public string NetnsOf(string containerId) => Path.Combine(netnsDir, containerId);

    public string? Prepare(NetworkRequest r)
    {
        if (IsBasic(r.Network)) return _basic.Prepare(r);
        var names = r.Network.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0 || names.Any(IsBasic))
            throw new EngineException($"--network {r.Network}: none and host cannot be joined with other networks");
        var path = NetnsOf(r.ContainerId);
        try
        {
            // What a killed CLI left at this id goes first: its namespace, its attachments.
            if (NetNs.Exists(path)) Undo(r.ContainerId, path);
            NetNs.Create(path);
            networks.Setup(new ContainerNetworkRequest(r.ContainerId, r.Name, r.Aliases, path, names,
                r.Ports,
                r.HostsFile, r.ResolvConf, r.Hostname, r.AddHosts, r.Dns));
            return path;
        }
        catch (Exception e) when (e is NetworkException or LinuxException)
        {
            // Setup undid its plugins; the namespace is this method's to remove.
            try { Undo(r.ContainerId, path); } catch (Exception u) when (u is NetworkException or LinuxException) { }
            throw new EngineException(e.Message, inner: e);
        }
    }

    public void Teardown(NetworkRequest r)
    {
        if (IsBasic(r.Network)) return;
        try
        {
            Undo(r.ContainerId, NetnsOf(r.ContainerId));
        }
        catch (Exception e) when (e is NetworkException or LinuxException)
        {
            throw new EngineException($"network teardown of {r.Name}: {e.Message}", inner: e);
        }
    }

    /// <summary>The host ports a container's -p got (HOST 0 asks Setup to pick one).</summary>
    public IReadOnlyList<PortMapping> PublishedPorts(string containerId) => networks.PublishedPorts(containerId);

    void Undo(string containerId, string path)
    {
        networks.Teardown(containerId);
        NetNs.Remove(path);
    }

    static bool IsBasic(string network) => network is "none" or "host";
}
