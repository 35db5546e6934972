using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Linux;

namespace Berth.Engine.Network;

/// <summary>
/// A CNI network configuration list (spec: "Network configuration lists") as read from the config
/// directory: kept as JSON so that fields and plugins Berth does not know survive and reach the
/// plugins unchanged. Berth's own metadata (labels, internal) sits under "args", as podman's does.
/// </summary>
internal sealed class Conflist(string file, JsonObject json)
{
    public const string CniVersion = "1.0.0";

    public string File { get; } = file;
    public JsonObject Json { get; } = json;
    public string Name => Json["name"]?.GetValue<string>() ?? "";
    public string Version => Json["cniVersion"]?.GetValue<string>() ?? CniVersion;
    public IEnumerable<JsonObject> Plugins => (Json["plugins"] as JsonArray ?? new JsonArray()).OfType<JsonObject>();

    public static Conflist Read(string file) => Parse(file, FileSystem.ReadText(file));

    public static Conflist Parse(string file, string text)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text); }
        catch (JsonException e) { throw new NetworkException($"{file}: not JSON: {e.Message}"); }
        if (node is not JsonObject o || o["name"] is not JsonValue || o["plugins"] is not JsonArray plugins || plugins.Count == 0)
            throw new NetworkException($"{file}: not a CNI conflist (needs \"name\" and \"plugins\")");
        foreach (var p in plugins)
            if (p is not JsonObject po || po["type"] is not JsonValue)
                throw new NetworkException($"{file}: every plugin needs a \"type\"");
        return new Conflist(file, o);
    }

    /// <summary>
    /// The list `network create` writes: bridge (the gateway on the bridge, masquerade unless
    /// internal, hairpin so a container reaches itself through a published port) with host-local
    /// IPAM, then portmap (-p), firewall (lets the bridge's traffic through FORWARD), tuning.
    /// </summary>
    public static JsonObject Build(string name, string bridge, IPNetwork subnet, IPAddress gateway, bool @internal,
        IReadOnlyDictionary<string, string> labels, string ipamDataDir)
    {
        var range = new JsonObject { ["subnet"] = subnet.ToString(), ["gateway"] = gateway.ToString() };
        var ipam = new JsonObject
        {
            ["type"] = "host-local",
            ["ranges"] = new JsonArray(new JsonArray(range)),
            ["routes"] = new JsonArray(),
            ["dataDir"] = ipamDataDir,
        };
        // An internal network has no way out: no default route, no masquerade, no address on the bridge (podman's).
        if (!@internal)
            ((JsonArray)ipam["routes"]!).Add((JsonNode)new JsonObject { ["dst"] = subnet.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? "0.0.0.0/0" : "::/0" });
        var labelObject = new JsonObject();
        foreach (var (k, v) in labels.OrderBy(kv => kv.Key, StringComparer.Ordinal)) labelObject[k] = v;
        return new JsonObject
        {
            ["cniVersion"] = CniVersion,
            ["name"] = name,
            ["plugins"] = new JsonArray(
                new JsonObject
                {
                    ["type"] = "bridge",
                    ["bridge"] = bridge,
                    ["isGateway"] = !@internal,
                    ["ipMasq"] = !@internal,
                    ["hairpinMode"] = true,
                    ["ipam"] = ipam,
                },
                new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } },
                new JsonObject { ["type"] = "firewall" },
                new JsonObject { ["type"] = "tuning" }),
            ["args"] = new JsonObject { ["berth_labels"] = labelObject, ["berth_internal"] = @internal ? "true" : "false" },
        };
    }

    JsonObject? Bridge => Plugins.FirstOrDefault(p => p["type"]?.GetValue<string>() == "bridge");

    public string? BridgeName => Bridge?["bridge"]?.GetValue<string>() ?? (Bridge is null ? null : "cni0");

    JsonObject? FirstRange =>
        Plugins.Select(p => p["ipam"] as JsonObject).FirstOrDefault(i => i is not null) is { } ipam
            ? (ipam["ranges"] is JsonArray { Count: > 0 } r && r[0] is JsonArray { Count: > 0 } set ? set[0] as JsonObject : ipam)
            : null;

    public string? Subnet => FirstRange?["subnet"]?.GetValue<string>();
    public string? Gateway => FirstRange?["gateway"]?.GetValue<string>() ??
        (Subnet is { } s && IPNetwork.TryParse(s, out var n) ? Subnets.FirstHost(n).ToString() : null);

    public bool Internal => Json["args"]?["berth_internal"]?.GetValue<string>() == "true";

    public IReadOnlyDictionary<string, string> Labels
    {
        get
        {
            var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
            if (Json["args"]?["berth_labels"] is JsonObject o)
                foreach (var (k, v) in o)
                    if (v is JsonValue jv && jv.TryGetValue(out string? s)) d[k] = s;
            return d;
        }
    }

    public NetworkInfo Info(IReadOnlyList<string> containers) =>
        new(Name, Plugins.First()["type"]!.GetValue<string>(), BridgeName, Subnet, Gateway, Internal, Labels, File,
            Plugins.Select(p => p["type"]!.GetValue<string>()).ToList(), containers);
}
