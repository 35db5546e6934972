using System.Text.Json.Serialization;

namespace Berth.Engine.Network;

/// <summary>
/// What Setup has done for one container, in STATE/containers/ID.json, written before each CNI call
/// and after each plugin's result, so that Teardown can undo a Setup killed at any point: every
/// network it may have touched, the conflist as it was (the network may be removed meanwhile), and
/// the newest result of its chain (DEL's prevResult).
/// </summary>
internal sealed class ContainerRecord
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public List<string> Aliases { get; set; } = new();
    public string Netns { get; set; } = "";
    public string HostsFile { get; set; } = "";
    public string Hostname { get; set; } = "";
    public List<string> AddHosts { get; set; } = new();
    public List<PortMapping> Ports { get; set; } = new();
    public List<NetworkRecord> Networks { get; set; } = new();
    /// <summary>
    /// The plugin Setup is running (pid and /proc start time), 0 when none: a plugin whose CLI was
    /// killed runs on, and its ADD must not finish after Teardown's DEL.
    /// </summary>
    public int PluginPid { get; set; }
    public ulong PluginStartTime { get; set; }
    /// <summary>False until every network is attached and the files are written.</summary>
    public bool Complete { get; set; }
}

internal sealed class NetworkRecord
{
    public string Name { get; set; } = "";
    public string Interface { get; set; } = "";
    /// <summary>The conflist (JSON text) the plugins were called with.</summary>
    public string Conflist { get; set; } = "";
    /// <summary>The result of the last plugin of the chain that answered (JSON text), null before the first.</summary>
    public string? Result { get; set; }
    /// <summary>The ports given to this network's plugins (those with the portMappings capability).</summary>
    public List<PortMapping> Ports { get; set; } = new();
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerRecord))]
[JsonSerializable(typeof(List<NetworkInfo>))]
[JsonSerializable(typeof(NetworkInfo))]
internal sealed partial class StateJson : JsonSerializerContext;

/// <summary>`berth network ls --format json` and `inspect`: NetworkInfo as JSON (source-generated, no reflection).</summary>
public static class NetworkJson
{
    public static string Of(IReadOnlyList<NetworkInfo> networks) =>
        System.Text.Json.JsonSerializer.Serialize(networks.ToList(), StateJson.Default.ListNetworkInfo) + "\n";
}
