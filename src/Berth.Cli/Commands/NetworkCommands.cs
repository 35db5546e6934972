using System.Text;
using Berth.Engine.Network;
using Berth.Runtime;

namespace Berth.Cli.Commands;

/// <summary>`berth network create|ls|inspect|rm|prune` (podman's names and flags).</summary>
public static class NetworkCommands
{
    const string Usage = "network: usage: berth network create|ls|inspect|rm|prune|attach|detach [--store DIR] [--network-config-dir DIR] [--cni-plugin-dir DIR] ...";

    /// <summary>The store's default, as the engine's: STORE/networks holds the network state.</summary>
    public const string DefaultStore = "/var/lib/berth";

    public static int Run(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[0].StartsWith('-')) throw new UsageException(Usage);
        var sub = args[0];
        var flags = new List<Flag>
        {
            new("store", null, true), new("network-config-dir", null, true), new("cni-plugin-dir", null, true),
        };
        switch (sub)
        {
            case "create":
                flags.AddRange(new Flag[]
                {
                    new("subnet", null, true), new("gateway", null, true), new("internal"), new("label", null, true, Repeated: true),
                    new("interface-name", null, true), new("driver", 'd', true),
                });
                break;
            case "ls" or "list": flags.AddRange(new Flag[] { new("format", null, true), new("quiet", 'q') }); break;
            case "inspect": flags.Add(new("format", 'f', true)); break;
            case "rm" or "remove": flags.Add(new("force", 'f')); break;
            case "prune": flags.Add(new("force", 'f')); break;
            case "attach":
                flags.AddRange(new Flag[]
                {
                    new("netns", null, true), new("name", null, true), new("alias", null, true, Repeated: true), new("publish", 'p', true, Repeated: true),
                    new("hosts-file", null, true), new("resolv-conf", null, true), new("hostname", null, true),
                    new("add-host", null, true, Repeated: true), new("dns", null, true, Repeated: true),
                });
                break;
            case "detach": break;
            default: throw new UsageException($"network: unknown command \"{sub}\" ({Usage})");
        }
        var cl = CommandLine.Parse(args.Skip(1).ToList(), flags, stopAtPositional: false);
        var store = cl.Value("store") ?? DefaultStore;
        var configDir = cl.Value("network-config-dir") ?? Env("BERTH_NETWORK_CONFIG_DIR") ?? Networks.DefaultConfigDir;
        var pluginDir = cl.Value("cni-plugin-dir") ?? Env("CNI_PATH") ?? "/usr/lib/cni";
        var networks = new Networks(configDir, Path.Combine(store, "networks"), pluginDir);
        try
        {
            return Run(sub, cl, networks);
        }
        catch (Exception e) when (e is NetworkException or Linux.LinuxException)
        {
            throw new RuntimeException($"network {sub}: {e.Message}".ReplaceLineEndings(" "), e);
        }
    }

    static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    static int Run(string sub, CommandLine cl, Networks networks)
    {
        void Count(int min, int max, string what)
        {
            if (cl.Positional.Count < min) throw new UsageException($"network {sub}: {what} is required");
            if (cl.Positional.Count > max) throw new UsageException($"network {sub}: unexpected arguments: {string.Join(' ', cl.Positional.Skip(max))}");
        }
        switch (sub)
        {
            case "create":
            {
                Count(1, 1, "a network name");
                if (cl.Value("driver") is { } d && d != "bridge") throw new UsageException($"network create: --driver {d}: only bridge is supported");
                var labels = new Dictionary<string, string>();
                foreach (var l in cl.Values("label"))
                {
                    int eq = l.IndexOf('=');
                    labels[eq < 0 ? l : l[..eq]] = eq < 0 ? "" : l[(eq + 1)..];
                }
                var info = networks.Create(cl.Positional[0], cl.Value("subnet"), cl.Value("gateway"), cl.Has("internal"), labels, cl.Value("interface-name"));
                Output.Write(info.Name + "\n");
                return 0;
            }
            case "ls" or "list":
            {
                Count(0, 0, "");
                var list = networks.List();
                var format = cl.Value("format") ?? "table";
                if (cl.Has("quiet")) Output.Write(string.Concat(list.Select(n => n.Name + "\n")));
                else if (format == "json") Output.Write(NetworkJson.Of(list));
                else if (format == "table")
                {
                    var sb = new StringBuilder($"{"NAME",-20} {"DRIVER",-8} {"SUBNET",-18} {"GATEWAY",-15} {"BRIDGE",-15} CONTAINERS\n");
                    foreach (var n in list)
                        sb.Append($"{n.Name,-20} {n.Driver,-8} {n.Subnet ?? "-",-18} {n.Gateway ?? "-",-15} {n.Bridge ?? "-",-15} {n.Containers.Count}\n");
                    Output.Write(sb.ToString());
                }
                else throw new UsageException($"network ls: --format {format}: expected table or json");
                return 0;
            }
            case "inspect":
            {
                Count(1, int.MaxValue, "a network name");
                Output.Write(NetworkJson.Of(cl.Positional.Select(networks.Inspect).ToList()));
                return 0;
            }
            case "rm" or "remove":
            {
                Count(1, int.MaxValue, "a network name");
                foreach (var name in cl.Positional)
                {
                    networks.Remove(name, cl.Has("force"));
                    Output.Write(name + "\n");
                }
                return 0;
            }
            case "attach":
            {
                // Low level, for scripts and tests: what `run --network` does for a container's netns.
                Count(2, int.MaxValue, "a container id and a network");
                string Need(string flag) => cl.Value(flag) ?? throw new UsageException($"network attach: --{flag} is required");
                var id = cl.Positional[0];
                var ports = cl.Values("publish").SelectMany(PortMapping.Parse).ToList();
                var request = new ContainerNetworkRequest(id, cl.Value("name") ?? id, cl.Values("alias"), Need("netns"), cl.Positional.Skip(1).ToList(), ports,
                    Need("hosts-file"), Need("resolv-conf"), cl.Value("hostname") ?? id, cl.Values("add-host"), cl.Values("dns"));
                foreach (var a in networks.Setup(request))
                    Output.Write($"{a.Network} {a.Interface} {string.Join(',', a.Addresses)} {a.Gateway ?? "-"} {a.Mac ?? "-"}\n");
                return 0;
            }
            case "detach":
                Count(1, 1, "a container id");
                networks.Teardown(cl.Positional[0]);
                return 0;
            default: // prune
            {
                Count(0, 0, "");
                Output.Write(string.Concat(networks.Prune().Select(n => n + "\n")));
                return 0;
            }
        }
    }
}
