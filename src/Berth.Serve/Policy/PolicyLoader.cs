using System.Security.Cryptography;
using System.Text;
using Berth.Linux;
using Berth.Supply;
using Berth.Supply.Signing;
using Berth.Supply.Vulnerabilities;
using YamlDotNet.RepresentationModel;

namespace Berth.Serve.Policy;

/// <summary>
/// Reads the service's policy file (YAML, YamlDotNet's representation model: no reflection, so
/// AOT-clean). Every field is checked on load and an unknown one is an error, not ignored — a typo
/// in `max_severity` must not silently turn a gate off. Errors read "FILE:LINE: FIELD: why".
/// <code>
/// trusted_keys: [keys/release.pub, "-----BEGIN PUBLIC KEY-----…"]
/// require: {signature: true, sbom: true, max_severity: high, provenance_builder: ID, provenance_source: github.com/o/r}
/// repositories:
///   "registry.example.com/team/*": {require: {max_severity: medium}, trusted_keys: [team.pub]}
/// plugins:
///   scanners: [berth]
///   verifiers: [berth, {name: notation, command: [/usr/local/bin/notation-plugin], timeout_seconds: 30}]
/// </code>
/// </summary>
public static class PolicyLoader
{
    public const long MaxPolicyBytes = 4 << 20;
    static readonly string[] TopFields = ["trusted_keys", "require", "repositories", "plugins"];
    static readonly string[] RequireFields = ["signature", "sbom", "max_severity", "provenance_builder", "provenance_source"];
    static readonly string[] OverrideFields = ["require", "trusted_keys"];
    static readonly string[] PluginFields = ["name", "command", "timeout_seconds"];
    static readonly string[] Severities = ["critical", "high", "medium", "low", "none"];

    public static ServePolicy Load(string path)
    {
        byte[] bytes;
        try { bytes = FileSystem.ReadBytes(path, MaxPolicyBytes); }
        catch (LinuxException e) { throw new PolicyException($"{path}: {e.Message}"); }
        return Parse(Encoding.UTF8.GetString(bytes), path, Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/", ReadKeyFile);
    }

    static byte[] ReadKeyFile(string path) => FileSystem.ReadBytes(path, 1 << 20);

    /// <summary>Parses policy text; <paramref name="readFile"/> reads the key files it names (relative to <paramref name="baseDir"/>).</summary>
    public static ServePolicy Parse(string text, string source, string baseDir, Func<string, byte[]> readFile)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlDotNet.Core.YamlException e) { throw new PolicyException($"{source}:{e.Start.Line}: {e.Message}"); }
        var p = new Parser(source, baseDir, readFile);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" })
            throw new PolicyException($"{source}: empty: a policy needs at least a require: section");
        if (stream.Documents.Count > 1) throw new PolicyException($"{source}:{stream.Documents[1].RootNode.Start.Line}: one YAML document is expected");
        var root = p.Mapping(stream.Documents[0].RootNode, "policy", TopFields);
        var require = root.TryGetValue("require", out var r) ? p.Require(r, "require") : new Requirements();
        var keys = root.TryGetValue("trusted_keys", out var k) ? p.Keys(k, "trusted_keys") : [];
        var overrides = new List<RepositoryOverride>();
        if (root.TryGetValue("repositories", out var repos))
        {
            if (repos is not YamlMappingNode rm) throw p.Error(repos, "repositories", "a mapping of repository patterns is expected");
            foreach (var (key, value) in rm.Children)
            {
                var text1 = p.Scalar(key, "repositories");
                var field = $"repositories.{text1}";
                var pattern = RepositoryPattern.TryParse(text1, out var why) ?? throw p.Error(key, field, why!);
                if (overrides.Any(o => o.Pattern.Text == text1)) throw p.Error(key, field, "given twice");
                var o = p.Mapping(value, field, OverrideFields);
                overrides.Add(new RepositoryOverride(pattern,
                    o.TryGetValue("require", out var orq) ? p.Require(orq, $"{field}.require") : new Requirements(),
                    o.TryGetValue("trusted_keys", out var ok) ? p.Keys(ok, $"{field}.trusted_keys") : null, key.Start.Line));
            }
        }
        IReadOnlyList<PluginSpec> scanners = [new PluginSpec("berth", null, TimeSpan.Zero, 0)], verifiers = [new PluginSpec("berth", null, TimeSpan.Zero, 0)];
        if (root.TryGetValue("plugins", out var plugins))
        {
            var pm = p.Mapping(plugins, "plugins", ["scanners", "verifiers"]);
            if (pm.TryGetValue("scanners", out var s)) scanners = p.Plugins(s, "plugins.scanners");
            if (pm.TryGetValue("verifiers", out var v)) verifiers = p.Plugins(v, "plugins.verifiers");
        }

        // A signature requirement nothing can satisfy is a policy error, not a deny-everything.
        bool external = verifiers.Any(v => v.Command is not null);
        if (require.Signature == true && keys.Count == 0 && !external)
            throw p.Error(r!, "require.signature", "true, but no trusted_keys are given");
        foreach (var o in overrides)
            if (o.Require.Over(require).Signature == true && (o.TrustedKeys ?? keys).Count == 0 && !external)
                throw new PolicyException($"{source}:{o.Line}: repositories.{o.Pattern}.require.signature: true, but no trusted_keys are given");

        // The hash names what decides: the text and the keys it reads (a key file may change under the same text).
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(text));
        foreach (var key in keys.Concat(overrides.SelectMany(o => o.TrustedKeys ?? []))) sha.AppendData(key.Pem);
        var hash = "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
        return new ServePolicy(source, hash, require, keys, overrides, scanners, verifiers);
    }

    sealed class Parser(string source, string baseDir, Func<string, byte[]> readFile)
    {
        public PolicyException Error(YamlNode node, string field, string why) => new($"{source}:{node.Start.Line}: {field}: {why}");

        public string Scalar(YamlNode node, string field) =>
            node is YamlScalarNode { Value: { } v } ? v : throw Error(node, field, "a plain value is expected");

        public Dictionary<string, YamlNode> Mapping(YamlNode node, string field, string[] allowed)
        {
            if (node is not YamlMappingNode m) throw Error(node, field, $"a mapping is expected ({string.Join(", ", allowed)})");
            var d = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
            foreach (var (k, v) in m.Children)
            {
                var name = Scalar(k, field);
                var path = field == "policy" ? name : $"{field}.{name}";
                if (!allowed.Contains(name)) throw Error(k, path, $"unknown field (expected {string.Join(", ", allowed)})");
                if (!d.TryAdd(name, v)) throw Error(k, path, "given twice");
            }
            return d;
        }

        public Requirements Require(YamlNode node, string field)
        {
            var m = Mapping(node, field, RequireFields);
            bool? Bool(string f) => m.TryGetValue(f, out var n) ? Scalar(n, $"{field}.{f}") switch
            {
                "true" or "True" or "yes" => true,
                "false" or "False" or "no" => false,
                var b => throw Error(n, $"{field}.{f}", $"\"{b}\" is not true or false"),
            } : null;
            string? Text(string f)
            {
                if (!m.TryGetValue(f, out var n)) return null;
                var s = Scalar(n, $"{field}.{f}");
                return s.Length == 0 ? throw Error(n, $"{field}.{f}", "empty") : s;
            }
            Severity? max = null;
            if (m.TryGetValue("max_severity", out var ms))
            {
                var s = Scalar(ms, $"{field}.max_severity").ToLowerInvariant();
                if (!Severities.Contains(s)) throw Error(ms, $"{field}.max_severity", $"\"{s}\" is not one of {string.Join(", ", Severities)}");
                max = Supply.Vulnerabilities.Severities.Parse(s);
            }
            var source1 = Text("provenance_source");
            var builder = Text("provenance_builder");
            if (source1 is not null && builder is null && !m.ContainsKey("provenance_builder"))
                throw Error(m["provenance_source"], $"{field}.provenance_source", "needs provenance_builder");
            return new Requirements(Bool("signature"), Bool("sbom"), max, builder, source1);
        }

        public List<TrustedKey> Keys(YamlNode node, string field)
        {
            if (node is not YamlSequenceNode seq) throw Error(node, field, "a list of public keys (PEM files or PEM text) is expected");
            var keys = new List<TrustedKey>();
            int i = 0;
            foreach (var item in seq.Children)
            {
                var f = $"{field}[{i++}]";
                var value = Scalar(item, f).Trim();
                byte[] pem;
                string name;
                if (value.StartsWith("-----BEGIN", StringComparison.Ordinal))
                {
                    pem = Encoding.UTF8.GetBytes(value + "\n");
                    name = f;
                }
                else
                {
                    var path = Path.IsPathRooted(value) ? value : Path.Combine(baseDir, value);
                    try { pem = readFile(path); }
                    catch (LinuxException e) { throw Error(item, f, e.Message); }
                    name = value;
                }
                try { KeyFiles.ReadPublicKey(pem, f); }
                catch (SupplyException e) { throw Error(item, f, e.Message); }
                keys.Add(new TrustedKey(name, pem));
            }
            return keys;
        }

        public List<PluginSpec> Plugins(YamlNode node, string field)
        {
            if (node is not YamlSequenceNode seq) throw Error(node, field, "a list of plugins is expected");
            var list = new List<PluginSpec>();
            int i = 0;
            foreach (var item in seq.Children)
            {
                var f = $"{field}[{i++}]";
                PluginSpec spec;
                if (item is YamlScalarNode)
                    spec = new PluginSpec(Scalar(item, f), null, TimeSpan.Zero, item.Start.Line);
                else
                {
                    var m = Mapping(item, f, PluginFields);
                    var name = m.TryGetValue("name", out var n) ? Scalar(n, $"{f}.name") : throw Error(item, $"{f}.name", "missing");
                    List<string>? command = null;
                    if (m.TryGetValue("command", out var c))
                        command = c switch
                        {
                            YamlSequenceNode cs when cs.Children.Count > 0 => cs.Children.Select(x => Scalar(x, $"{f}.command")).ToList(),
                            YamlScalarNode => [Scalar(c, $"{f}.command")],
                            _ => throw Error(c, $"{f}.command", "a program and its arguments (a list) is expected"),
                        };
                    var timeout = TimeSpan.FromSeconds(60);
                    if (m.TryGetValue("timeout_seconds", out var t))
                    {
                        if (!int.TryParse(Scalar(t, $"{f}.timeout_seconds"), out var secs) || secs is < 1 or > 3600)
                            throw Error(t, $"{f}.timeout_seconds", "a whole number of seconds from 1 to 3600 is expected");
                        timeout = TimeSpan.FromSeconds(secs);
                    }
                    if (command is not null && !Path.IsPathRooted(command[0])) throw Error(c!, $"{f}.command", $"\"{command[0]}\": the program must be an absolute path");
                    spec = new PluginSpec(name, command, timeout, item.Start.Line);
                }
                if (spec.Command is null && spec.Name != "berth") throw Error(item, f, $"\"{spec.Name}\" is not a built-in plugin (berth); an external plugin needs a command");
                if (list.Any(x => x.Name == spec.Name)) throw Error(item, f, $"\"{spec.Name}\" given twice");
                list.Add(spec);
            }
            if (list.Count == 0) throw Error(node, field, "empty: name at least one plugin (berth is the built-in)");
            return list;
        }
    }
}
