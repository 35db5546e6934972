using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Berth.Linux;

namespace Berth.Engine.Network;

/// <summary>
/// CNI networks (podman's CNI backend): conflists in <paramref name="configDir"/>, who is attached
/// and what the plugins answered in <paramref name="stateDir"/>, plugins from <paramref name="pluginDir"/>
/// (CNI_PATH, colon-separated). Every change of the state (create, remove, setup, teardown) holds an
/// flock on STATE/lock, so concurrent CLIs serialise; state files are replaced by rename.
/// </summary>
public sealed class Networks(string configDir, string stateDir, string pluginDir = "/usr/lib/cni")
{
    public const string DefaultConfigDir = "/etc/berth/net.d";
    public const string DefaultNetwork = "berth";
    const string DefaultSubnet = "10.88.0.0/16", DefaultBridge = "berth0";

    readonly string _configDir = Path.GetFullPath(configDir);
    readonly string _stateDir = Path.GetFullPath(stateDir);
    readonly CniPlugins _cni = new(pluginDir);

    string ContainersDir => Path.Combine(_stateDir, "containers");
    string IpamDir => Path.Combine(_stateDir, "ipam");

    // ---- networks ----

    /// <summary>
    /// Writes NAME.conflist (see <see cref="Conflist.Build"/>). <paramref name="subnet"/> null: the
    /// first 10.89.N.0/24 that no network here and no host route uses. <paramref name="bridge"/> null:
    /// the first berthN that no network here names and no host interface has. The bridge itself
    /// is made by the bridge plugin when the first container attaches.
    /// </summary>
    public NetworkInfo Create(string name, string? subnet, string? gateway, bool @internal, IReadOnlyDictionary<string, string> labels, string? bridge = null)
    {
        CheckName(name);
        if (bridge is not null) CheckInterfaceName(bridge);
        foreach (var k in labels.Keys)
            if (k.Length == 0 || k.Any(char.IsControl)) throw new NetworkException($"--label {PortMapping.Quote(k)}: not a label name");
        IPNetwork? wanted = subnet is null ? null : Subnets.Parse(subnet, "--subnet");
        if (gateway is not null && wanted is null) throw new NetworkException("--gateway needs --subnet");
        // The plugins the list names must be here, or the first container would find out.
        foreach (var type in new[] { "bridge", "host-local", "portmap", "firewall", "tuning" }) _cni.Find(name, type);
        using var _ = Lock();
        EnsureDefault();
        return CreateLocked(name, wanted, gateway, @internal, labels, bridge).Info(Array.Empty<string>());
    }

    Conflist CreateLocked(string name, IPNetwork? wanted, string? gateway, bool @internal, IReadOnlyDictionary<string, string> labels, string? bridge)
    {
        var existing = ReadAll();
        if (existing.Any(c => c.Name == name) || File.Exists(ConfigFile(name)))
            throw new NetworkException($"network {name}: already exists");
        var used = new List<(string Name, IPNetwork Net)>();
        foreach (var c in existing)
            if (c.Subnet is { } s && IPNetwork.TryParse(s, out var n)) used.Add((c.Name, n));
        IPNetwork net;
        if (wanted is { } w)
        {
            if (used.FirstOrDefault(u => Subnets.Overlap(u.Net, w)) is { Name: not null } clash)
                throw new NetworkException($"--subnet {w}: overlaps network {clash.Name} ({clash.Net})");
            if (name != DefaultNetwork && Subnets.HostRoutes().FirstOrDefault(r => Subnets.Overlap(r, w)) is { PrefixLength: > 0 } route &&
                !existing.Any(c => c.Subnet == route.ToString()))
                throw new NetworkException($"--subnet {w}: overlaps the host's route to {route}");
            net = w;
        }
        else
        {
            var routes = Subnets.HostRoutes();
            net = Enumerable.Range(0, 256).Select(i => new IPNetwork(new IPAddress(new byte[] { 10, 89, (byte)i, 0 }), 24))
                .Cast<IPNetwork?>()
                .FirstOrDefault(c => !used.Any(u => Subnets.Overlap(u.Net, c!.Value)) && !routes.Any(r => Subnets.Overlap(r, c!.Value)))
                ?? throw new NetworkException($"network {name}: every subnet of 10.89.0.0/16 is taken (give --subnet)");
        }
        IPAddress gw;
        if (gateway is null) gw = Subnets.FirstHost(net);
        else if (!Subnets.TryParseAddress(gateway, out gw!) || !net.Contains(gw) || gw.Equals(net.BaseAddress))
            throw new NetworkException($"--gateway {PortMapping.Quote(gateway)}: not a host address of {net}");
        var bridges = existing.Select(c => c.BridgeName).Where(b => b is not null).ToHashSet();
        if (bridge is not null && bridges.Contains(bridge)) throw new NetworkException($"--interface-name {bridge}: used by another network");
        bridge ??= name == DefaultNetwork ? DefaultBridge
            : Enumerable.Range(1, 10000).Select(i => $"berth{i}").First(b => !bridges.Contains(b) && !Directory.Exists("/sys/class/net/" + b));
        var json = Conflist.Build(name, bridge, net, gw, @internal, labels, IpamDir);
        FileSystem.CreateDirectory(_configDir);
        var file = ConfigFile(name);
        WriteAtomic(file, CniPlugins.SerializeIndented(json));
        return new Conflist(file, json);
    }

    /// <summary>Every network of the config directory (the default one made if missing), by name.</summary>
    public IReadOnlyList<NetworkInfo> List()
    {
        using var _ = Lock();
        EnsureDefault();
        var records = Records();
        return ReadAll().OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => c.Info(Attached(records, c.Name))).ToList();
    }

    public NetworkInfo Inspect(string name)
    {
        using var _ = Lock();
        EnsureDefault();
        return Find(name).Info(Attached(Records(), name));
    }

    /// <summary>
    /// Removes a network: its conflist, its IPAM data and its bridge. Refused while containers are
    /// attached, unless <paramref name="force"/>, which detaches them first (CNI DEL). The default
    /// network is refused.
    /// </summary>
    public void Remove(string name, bool force = false)
    {
        if (name == DefaultNetwork) throw new NetworkException($"network {name}: is the default network and cannot be removed");
        using var _ = Lock();
        var conf = Find(name);
        var records = Records();
        var attached = Attached(records, name);
        if (attached.Count > 0 && !force)
            throw new NetworkException($"network {name}: in use by {attached.Count} container(s): {string.Join(", ", attached)} (use -f to detach them)");
        foreach (var rec in records.Where(r => r.Networks.Any(n => n.Name == name)))
        {
            var errors = new List<string>();
            var net = rec.Networks.First(n => n.Name == name);
            Delete(rec, net, errors);
            if (errors.Count > 0) throw new NetworkException(errors[0]);
            rec.Networks.Remove(net);
            SaveRecord(rec);
            RewritePeers(rec, new[] { name });
            // Its own file loses the peers it had on that network.
            if (rec.Complete)
            {
                try { HostsFiles.WriteInPlace(rec.HostsFile, RenderHosts(rec, Records()), create: false); }
                catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR) { }
            }
        }
        FileSystem.Delete(conf.File);
        RemoveTree(Path.Combine(IpamDir, name));
        if (conf.BridgeName is { } bridge && !ReadAll().Any(c => c.BridgeName == bridge)) DeleteLink(bridge);
    }

    /// <summary>Removes every network but the default with no container attached; their names.</summary>
    public IReadOnlyList<string> Prune()
    {
        List<string> names;
        using (Lock())
        {
            var records = Records();
            names = ReadAll().Select(c => c.Name).Where(n => n != DefaultNetwork && Attached(records, n).Count == 0).OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
        foreach (var n in names) Remove(n);
        return names;
    }

    /// <summary>The ids of the containers attached to <paramref name="network"/> (fully or by a Setup that has not finished or was killed).</summary>
    public string[] Peers(string network)
    {
        using var _ = Lock();
        return Attached(Records(), network).ToArray();
    }

    /// <summary>The ports published for a container, with the host ports Setup picked for HOST 0.</summary>
    public IReadOnlyList<PortMapping> PublishedPorts(string containerId) =>
        ReadRecord(containerId)?.Ports ?? (IReadOnlyList<PortMapping>)Array.Empty<PortMapping>();

    /// <summary>A container's attachments as Setup returned them; empty when it has none.</summary>
    public IReadOnlyList<Attachment> Attachments(string containerId) =>
        ReadRecord(containerId) is { } rec ? rec.Networks.Where(n => n.Result is not null).Select(ToAttachment).ToList() : Array.Empty<Attachment>();

    // ---- containers ----

    /// <summary>
    /// Attaches a container's netns to each of <see cref="ContainerNetworkRequest.Networks"/> (eth0, eth1…)
    /// with its conflist's plugins, publishes its ports on the first, writes its hosts file and
    /// resolv.conf, and adds it to its peers' hosts files. On failure everything done is undone
    /// and the error is one line naming the network and the plugin. No networks (--network none):
    /// the loopback plugin only, and the files.
    /// </summary>
    public IReadOnlyList<Attachment> Setup(ContainerNetworkRequest r)
    {
        CheckId(r.ContainerId);
        // No network (--network none): lo only, and the two files.
        if (r.Networks.Count == 0 && r.Ports.Count > 0) throw new NetworkException($"container {r.ContainerId}: -p needs a network (not --network none)");
        if (r.Networks.Distinct().Count() != r.Networks.Count) throw new NetworkException($"container {r.ContainerId}: a network is named twice");
        foreach (var a in r.AddHosts) HostsFiles.ParseAddHost(a);
        var resolv = HostsFiles.RenderResolvConf(FileSystem.TryReadText("/etc/resolv.conf"), r.Dns);
        if (!NetNs.Exists(r.NetnsPath)) throw new NetworkException($"container {r.ContainerId}: {r.NetnsPath} is not a network namespace");

        using var _ = Lock();
        if (ReadRecord(r.ContainerId) is { } old)
        {
            if (old.Complete) throw new NetworkException($"container {r.ContainerId}: already attached to {string.Join(", ", old.Networks.Select(n => n.Name))}");
            // A Setup killed half-way: undo it, then start again.
            TeardownLocked(old);
        }
        if (r.Networks.Contains(DefaultNetwork)) EnsureDefault();
        var all = ReadAll();
        var confs = r.Networks.Select(n => all.FirstOrDefault(c => c.Name == n) ?? throw new NetworkException($"network {n}: no such network")).ToList();
        foreach (var c in confs)
            foreach (var p in c.Plugins) _cni.Find(c.Name, p["type"]!.GetValue<string>());
        _cni.Find("lo", "loopback");
        var records = Records();
        var ports = AssignPorts(r, records);

        var rec = new ContainerRecord
        {
            Id = r.ContainerId, Name = r.Name, Aliases = r.Aliases.ToList(), Netns = r.NetnsPath, HostsFile = r.HostsFile,
            Hostname = r.Hostname, AddHosts = r.AddHosts.ToList(), Ports = ports,
            Networks = confs.Select((c, i) => new NetworkRecord
            {
                Name = c.Name, Interface = $"eth{i}", Conflist = CniPlugins.Serialize(c.Json), Ports = i == 0 ? ports : new(),
            }).ToList(),
        };
        var bridgesBefore = confs.Select(c => c.BridgeName).Where(b => b is not null && !Directory.Exists("/sys/class/net/" + b)).ToList();
        // Recorded before any plugin runs: a CLI killed from here on leaves what Teardown needs.
        SaveRecord(rec);
        void Started(int pid)
        {
            rec.PluginPid = pid;
            rec.PluginStartTime = ProcStat.Read(pid)?.StartTime ?? 0;
            SaveRecord(rec);
        }
        try
        {
            var lo = new JsonObject { ["cniVersion"] = Conflist.CniVersion, ["name"] = "lo", ["type"] = "loopback" };
            _cni.Exec("lo", "ADD", lo, r.ContainerId, r.NetnsPath, "lo", Started);
            foreach (var net in rec.Networks)
            {
                var conf = Conflist.Parse(net.Name, net.Conflist);
                JsonNode? prev = null;
                foreach (var plugin in conf.Plugins)
                {
                    prev = _cni.Exec(net.Name, "ADD", CniPlugins.Derive(plugin, conf.Name, conf.Version, prev, net.Ports), r.ContainerId, r.NetnsPath, net.Interface, Started)
                        ?? throw new NetworkException($"network {net.Name}: CNI plugin {plugin["type"]} ADD: printed no result");
                    net.Result = CniPlugins.Serialize(prev);
                    rec.PluginPid = 0;
                    SaveRecord(rec);
                }
            }
            var attachments = rec.Networks.Select(ToAttachment).ToList();
            HostsFiles.WriteInPlace(r.HostsFile, RenderHosts(rec, Records()), create: true);
            HostsFiles.WriteInPlace(r.ResolvConf, resolv, create: true);
            rec.Complete = true;
            SaveRecord(rec);
            RewritePeers(rec, r.Networks);
            return attachments;
        }
        catch (Exception)
        {
            try { TeardownLocked(rec); }
            catch (Exception) { /* the first error is the one to report; the record stays for a later Teardown */ }
            // A bridge this Setup made, no other container uses: gone too.
            var left = Records();
            foreach (var c in confs.Where(c => bridgesBefore.Contains(c.BridgeName)))
                if (!left.Any(x => x.Networks.Any(n => all.Any(o => o.Name == n.Name && o.BridgeName == c.BridgeName))))
                {
                    try { DeleteLink(c.BridgeName!); }
                    catch (NetworkException) { /* the Setup's error is the one to report */ }
                }
            throw;
        }
    }

    /// <summary>
    /// Detaches a container from every network Setup attached (or began to): CNI DEL of each plugin
    /// in reverse order with the stored result as prevResult, so host-local releases the address
    /// and portmap, firewall and bridge their iptables rules. Idempotent; works when the netns is gone
    /// (see <see cref="StandIn"/>) and after a Setup that was killed at any point.
    /// </summary>
    public void Teardown(ContainerNetworkRequest r) => Teardown(r.ContainerId);

    public void Teardown(string containerId)
    {
        CheckId(containerId);
        using var _ = Lock();
        if (ReadRecord(containerId) is { } rec) TeardownLocked(rec);
    }

    void TeardownLocked(ContainerRecord rec)
    {
        WaitForPlugin(rec);
        var errors = new List<string>();
        for (int i = rec.Networks.Count - 1; i >= 0; i--) Delete(rec, rec.Networks[i], errors);
        if (errors.Count > 0) throw new NetworkException(errors[0] + (errors.Count > 1 ? $" (and {errors.Count - 1} more)" : ""));
        FileSystem.Delete(RecordFile(rec.Id));
        RewritePeers(rec, rec.Networks.Select(n => n.Name).ToList());
    }

    /// <summary>
    /// CNI CHECK of every network a container is attached to (each plugin, the stored result as
    /// prevResult): an error naming the plugin when an interface, address or rule has gone. Skipped
    /// for a conflist with "disableCheck" (spec).
    /// </summary>
    public void Check(string containerId)
    {
        CheckId(containerId);
        using var _ = Lock();
        var rec = ReadRecord(containerId) ?? throw new NetworkException($"container {containerId}: not attached to any network");
        if (!rec.Complete) throw new NetworkException($"container {containerId}: its network setup did not finish (tear it down)");
        foreach (var net in rec.Networks)
        {
            var conf = Conflist.Parse(net.Name, net.Conflist);
            if (conf.Json["disableCheck"] is JsonValue v && v.TryGetValue(out bool off) && off) continue;
            var prev = net.Result is null ? null : JsonNode.Parse(net.Result);
            foreach (var plugin in conf.Plugins)
                _cni.Exec(net.Name, "CHECK", CniPlugins.Derive(plugin, conf.Name, conf.Version, prev, net.Ports), rec.Id, rec.Netns, net.Interface);
        }
    }

    /// <summary>The plugin a killed Setup left running: given time to finish its ADD (which DEL then undoes), killed after that.</summary>
    static void WaitForPlugin(ContainerRecord rec)
    {
        if (rec.PluginPid <= 0) return;
        for (int i = 0; i < 600 && ProcStat.IsAlive(rec.PluginPid, rec.PluginStartTime); i++) Thread.Sleep(50);
        using var pidfd = Pidfd.OpenIfAlive(rec.PluginPid, rec.PluginStartTime);
        if (pidfd is null) return;
        Pidfd.SendSignal(pidfd, 9);
        Pidfd.WaitExit(pidfd, 5000);
    }

    /// <summary>DEL of one network's chain, last plugin first (spec: "Deleting a network attachment").</summary>
    void Delete(ContainerRecord rec, NetworkRecord net, List<string> errors)
    {
        Conflist conf;
        try { conf = Conflist.Parse(net.Name, net.Conflist); }
        catch (NetworkException e) { errors.Add(e.Message); return; }
        JsonNode? prev = net.Result is null ? null : JsonNode.Parse(net.Result);
        var netns = NetNs.Exists(rec.Netns) && HasInterface(rec.Netns, net.Interface) ? rec.Netns : null;
        // bridge 1.1.1 finds the addresses whose ipMasq rules it removes on the container's eth0:
        // with the netns (or the interface) gone it would leave them. So DEL then runs in a stand-in
        // namespace whose eth0 holds the addresses ADD gave (deleted by the plugin as the real one would be).
        var standIn = netns is null ? StandIn(rec, net) : null;
        try
        {
            foreach (var plugin in conf.Plugins.Reverse())
            {
                try { _cni.Exec(net.Name, "DEL", CniPlugins.Derive(plugin, conf.Name, conf.Version, prev, net.Ports), rec.Id, netns ?? standIn ?? "", net.Interface); }
                catch (NetworkException e) { errors.Add(e.Message); }
            }
        }
        finally
        {
            if (standIn is not null) NetNs.Remove(standIn);
        }
    }

    static bool HasInterface(string netns, string name) => RunTool("nsenter", "--net=" + netns, "--", "ip", "link", "show", name) is null;

    /// <summary>A netns with <paramref name="net"/>'s interface and addresses (a veth pair: both ends inside); null when there are none or it cannot be made.</summary>
    string? StandIn(ContainerRecord rec, NetworkRecord net)
    {
        var addresses = ToAttachment(net).Addresses;
        if (addresses.Count == 0) return null;
        var path = Path.Combine(_stateDir, "standin", $"{rec.Id}-{net.Interface}");
        try
        {
            if (File.Exists(path)) NetNs.Remove(path);
            NetNs.Create(path);
            var commands = new List<string[]> { new[] { "ip", "link", "add", net.Interface, "type", "veth", "peer", "name", "berth-standin" } };
            commands.AddRange(addresses.Select(a => new[] { "ip", "addr", "add", a, "dev", net.Interface }));
            foreach (var c in commands)
                if (RunTool("nsenter", new[] { "--net=" + path, "--" }.Concat(c).ToArray()) is { } err)
                    throw new NetworkException(err);
            return path;
        }
        catch (Exception e) when (e is NetworkException or LinuxException)
        {
            try { NetNs.Remove(path); } catch (LinuxException) { }
            return null;
        }
    }

    // ---- ports ----

    /// <summary>
    /// portmap only writes DNAT rules, so nothing would tell a user that a host port is taken:
    /// each is bound here once (and released) to see, and checked against every other container's.
    /// A host port 0 gets one the kernel picks.
    /// </summary>
    static List<PortMapping> AssignPorts(ContainerNetworkRequest r, List<ContainerRecord> records)
    {
        var taken = records.Where(x => x.Id != r.ContainerId).SelectMany(x => x.Ports).ToList();
        var result = new List<PortMapping>();
        foreach (var p in r.Ports)
        {
            if (p.ContainerPort is < 1 or > 65535 || p.HostPort is < 0 or > 65535 || p.Protocol is not ("tcp" or "udp" or "sctp"))
                throw new NetworkException($"-p {p}: not a valid port mapping");
            var ip = p.HostIp.Length == 0 ? IPAddress.Any : Subnets.TryParseAddress(p.HostIp, out var a) ? a : throw new NetworkException($"-p {p}: \"{p.HostIp}\" is not an IP address");
            bool Clash(PortMapping o, int port) => o.Protocol == p.Protocol && o.HostPort == port && (o.HostIp == p.HostIp || o.HostIp.Length == 0 || p.HostIp.Length == 0);
            int hostPort = p.HostPort;
            if (hostPort != 0)
            {
                if (taken.Concat(result).Any(o => Clash(o, hostPort)))
                    throw new NetworkException($"-p {p}: host port {hostPort}/{p.Protocol} is already published by another container");
                if (p.Protocol != "sctp" && Probe(ip, hostPort, p.Protocol) is { } err)
                    throw new NetworkException($"-p {p}: host port {hostPort}/{p.Protocol} is already in use on {(p.HostIp.Length == 0 ? "0.0.0.0" : p.HostIp)} ({err})");
            }
            else
            {
                for (int i = 0; i < 64 && hostPort == 0; i++)
                {
                    int picked = Probe(ip, 0, p.Protocol == "udp" ? "udp" : "tcp", out int port) is null ? port : 0;
                    if (picked != 0 && !taken.Concat(result).Any(o => Clash(o, picked))) hostPort = picked;
                }
                if (hostPort == 0) throw new NetworkException($"-p {p}: no free host port found");
            }
            result.Add(p with { HostPort = hostPort, HostIp = p.HostIp });
        }
        return result;
    }

    static string? Probe(IPAddress ip, int port, string protocol) => Probe(ip, port, protocol, out _);

    static string? Probe(IPAddress ip, int port, string protocol, out int bound)
    {
        bound = 0;
        try
        {
            using var s = new Socket(ip.AddressFamily, protocol == "udp" ? SocketType.Dgram : SocketType.Stream, protocol == "udp" ? ProtocolType.Udp : ProtocolType.Tcp);
            s.Bind(new IPEndPoint(ip, port));
            bound = ((IPEndPoint)s.LocalEndPoint!).Port;
            return null;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }
    }

    // ---- hosts files ----

    static Attachment ToAttachment(NetworkRecord net)
    {
        var result = net.Result is null ? null : JsonNode.Parse(net.Result) as JsonObject;
        var interfaces = result?["interfaces"] as JsonArray ?? new JsonArray();
        int index = -1;
        for (int i = 0; i < interfaces.Count; i++)
            if (interfaces[i]?["name"]?.GetValue<string>() == net.Interface && interfaces[i]?["sandbox"] is not null) index = i;
        var addresses = new List<string>();
        string? gateway = null;
        foreach (var ip in (result?["ips"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            // An address without "interface" is the container's too (spec: the field is optional).
            if (ip["interface"] is JsonValue v && v.TryGetValue(out int idx) && index >= 0 && idx != index) continue;
            if (ip["address"]?.GetValue<string>() is { } address) addresses.Add(address);
            gateway ??= ip["gateway"]?.GetValue<string>();
        }
        var mac = index >= 0 ? interfaces[index]?["mac"]?.GetValue<string>() : null;
        return new Attachment(net.Name, net.Interface, addresses, gateway, mac);
    }

    static IEnumerable<string> NamesOf(ContainerRecord rec, bool withHostname) =>
        (withHostname ? new[] { rec.Hostname } : Array.Empty<string>()).Concat(new[] { rec.Name }).Concat(rec.Aliases)
            .Where(n => !string.IsNullOrEmpty(n)).Distinct();

    static string RenderHosts(ContainerRecord rec, List<ContainerRecord> records)
    {
        var own = new List<HostsFiles.Entry>();
        foreach (var a in rec.Networks.Select(ToAttachment).SelectMany(a => a.Addresses).Distinct())
            own.Add(new(a.Split('/')[0], NamesOf(rec, withHostname: true).ToList()));
        var peers = new List<HostsFiles.Entry>();
        foreach (var other in records.Where(o => o.Id != rec.Id && o.Complete).OrderBy(o => o.Name, StringComparer.Ordinal))
            foreach (var net in other.Networks.Where(n => rec.Networks.Any(m => m.Name == n.Name)))
                foreach (var a in ToAttachment(net).Addresses)
                    peers.Add(new(a.Split('/')[0], NamesOf(other, withHostname: false).ToList()));
        return HostsFiles.RenderHosts(own, rec.AddHosts, peers);
    }

    /// <summary>Rewrites the hosts file of every complete container sharing one of <paramref name="networks"/> with <paramref name="changed"/>.</summary>
    void RewritePeers(ContainerRecord changed, IReadOnlyList<string> networks)
    {
        var records = Records();
        foreach (var peer in records.Where(p => p.Id != changed.Id && p.Complete && p.Networks.Any(n => networks.Contains(n.Name))))
        {
            // A peer whose files the engine already removed has nothing to update.
            try { HostsFiles.WriteInPlace(peer.HostsFile, RenderHosts(peer, records), create: false); }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR) { }
        }
    }

    // ---- state ----

    string ConfigFile(string name) => Path.Combine(_configDir, name + ".conflist");
    string RecordFile(string id) => Path.Combine(ContainersDir, id + ".json");

    /// <summary>The default network, made with its conflist the first time anything asks for networks.</summary>
    void EnsureDefault()
    {
        if (File.Exists(ConfigFile(DefaultNetwork)) || ReadAll().Any(c => c.Name == DefaultNetwork)) return;
        CreateLocked(DefaultNetwork, Subnets.Parse(DefaultSubnet, "subnet"), null, false, new Dictionary<string, string>(), DefaultBridge);
    }

    Conflist Find(string name) =>
        ReadAll().FirstOrDefault(c => c.Name == name) ?? throw new NetworkException($"network {name}: no such network");

    /// <summary>The conflists of the config directory (*.conflist, *.json), by file name; unreadable ones are skipped as libcni skips them.</summary>
    List<Conflist> ReadAll()
    {
        if (!Directory.Exists(_configDir)) return new();
        var list = new List<Conflist>();
        foreach (var f in FileSystem.NonDirectories(_configDir).Where(f => f.EndsWith(".conflist") || f.EndsWith(".json")).Order(StringComparer.Ordinal))
        {
            try { list.Add(Conflist.Read(Path.Combine(_configDir, f))); }
            catch (NetworkException) { }
        }
        return list;
    }

    static List<string> Attached(List<ContainerRecord> records, string network) =>
        records.Where(r => r.Networks.Any(n => n.Name == network)).Select(r => r.Id).Order(StringComparer.Ordinal).ToList();

    List<ContainerRecord> Records()
    {
        if (!Directory.Exists(ContainersDir)) return new();
        var list = new List<ContainerRecord>();
        foreach (var f in FileSystem.NonDirectories(ContainersDir))
        {
            // Every writer holds the lock we hold: a temporary file is one a killed CLI left.
            if (f.StartsWith('.') && f.EndsWith(".tmp")) FileSystem.TryDelete(Path.Combine(ContainersDir, f));
            else if (f.EndsWith(".json") && !f.StartsWith('.') && ReadRecord(f[..^5]) is { } r) list.Add(r);
        }
        return list;
    }

    ContainerRecord? ReadRecord(string id)
    {
        if (FileSystem.TryReadText(RecordFile(id)) is not { } text) return null;
        try { return JsonSerializer.Deserialize(text, StateJson.Default.ContainerRecord); }
        catch (JsonException e) { throw new NetworkException($"{RecordFile(id)}: not a network state file: {e.Message}"); }
    }

    void SaveRecord(ContainerRecord rec) => WriteAtomic(RecordFile(rec.Id), JsonSerializer.Serialize(rec, StateJson.Default.ContainerRecord));

    static void WriteAtomic(string path, string content)
    {
        FileSystem.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            FileSystem.WriteNew(tmp, Encoding.UTF8.GetBytes(content));
            FileSystem.Rename(tmp, path);
        }
        catch
        {
            FileSystem.TryDelete(tmp);
            throw;
        }
    }

    sealed class Held(SafeFd fd) : IDisposable
    {
        public void Dispose() => fd.Dispose();
    }

    IDisposable Lock()
    {
        FileSystem.CreateDirectory(_stateDir, 0x1c0);
        var fd = Files.Open(Path.Combine(_stateDir, "lock"), O.RDWR | O.CREAT | O.NOFOLLOW, 0x180);
        try { Files.Flock(fd, exclusive: true); }
        catch { fd.Dispose(); throw; }
        return new Held(fd);
    }

    static void RemoveTree(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var d in FileSystem.Directories(dir)) RemoveTree(Path.Combine(dir, d));
        foreach (var f in FileSystem.NonDirectories(dir)) FileSystem.Delete(Path.Combine(dir, f));
        FileSystem.DeleteDirectory(dir);
    }

    /// <summary>`ip link delete` of a bridge no network uses any more; nothing if it is not there.</summary>
    static void DeleteLink(string name)
    {
        if (!Directory.Exists("/sys/class/net/" + name)) return;
        if (RunTool("ip", "link", "delete", name) is { } err && Directory.Exists("/sys/class/net/" + name))
            throw new NetworkException(err);
    }

    /// <summary>Runs a host tool (ip, nsenter); null when it succeeds, else one line saying how it failed.</summary>
    static string? RunTool(string file, params string[] args)
    {
        var what = $"{file} {string.Join(' ', args)}";
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { return $"{what}: {e.Message}"; }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(30_000))
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                return $"{what}: no answer within 30 s";
            }
            p.WaitForExit();
            return p.ExitCode == 0 ? null : $"{what}: {err.Result.Trim().Replace('\n', ' ')}";
        }
    }

    // ---- names ----

    static void CheckName(string name)
    {
        if (name.Length is 0 or > 128 || !char.IsAsciiLetterOrDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            throw new NetworkException($"network name {PortMapping.Quote(name)}: must be 1-128 of [a-zA-Z0-9_.-], starting with a letter or digit");
    }

    static void CheckInterfaceName(string name)
    {
        if (name.Length is 0 or > 15 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            throw new NetworkException($"--interface-name {PortMapping.Quote(name)}: must be 1-15 of [a-zA-Z0-9_.-]");
    }

    static void CheckId(string id)
    {
        if (id.Length is 0 or > 242 || id[0] == '.' || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '+'))
            throw new NetworkException($"container id {PortMapping.Quote(id)}: not a valid container id");
    }
}
