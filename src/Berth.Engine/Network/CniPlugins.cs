using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Berth.Engine.Network;

/// <summary>
/// Calls CNI plugins as the CNI spec 1.0 says: the plugin's network configuration on stdin,
/// CNI_COMMAND/CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME/CNI_ARGS/CNI_PATH in the environment, a
/// result or an error ({code, msg, details}) on stdout. Any plugin in the path works.
/// </summary>
internal sealed class CniPlugins(string path)
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The directories searched for plugins (CNI_PATH: colon-separated).</summary>
    public string SearchPath => path;

    /// <summary>The executable of plugin <paramref name="type"/>, or an error naming the network and the path searched.</summary>
    public string Find(string network, string type)
    {
        if (type.Length == 0 || type.Contains('/') || type is "." or "..")
            throw new NetworkException($"network {network}: {PortMapping.Quote(type)} is not a CNI plugin name");
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, type);
            if (File.Exists(candidate)) return candidate;
        }
        throw new NetworkException($"network {network}: CNI plugin \"{type}\" not found in {path}");
    }

    /// <summary>
    /// One plugin's configuration for one call (spec: "Deriving execution configuration from plugin
    /// configuration"): the conflist's entry with the list's name and cniVersion, the previous
    /// result, and runtimeConfig for each capability the plugin asks for that the runtime has.
    /// </summary>
    public static JsonObject Derive(JsonObject plugin, string name, string cniVersion, JsonNode? prevResult, IReadOnlyList<PortMapping> ports)
    {
        var conf = (JsonObject)plugin.DeepClone();
        conf["name"] = name;
        conf["cniVersion"] = cniVersion;
        conf.Remove("prevResult");
        if (prevResult is not null) conf["prevResult"] = prevResult.DeepClone();
        conf.Remove("runtimeConfig");
        if (plugin["capabilities"] is JsonObject caps && caps["portMappings"] is JsonValue v && v.TryGetValue(out bool on) && on && ports.Count > 0)
        {
            var maps = new JsonArray();
            foreach (var p in ports)
            {
                var m = new JsonObject { ["hostPort"] = p.HostPort, ["containerPort"] = p.ContainerPort, ["protocol"] = p.Protocol };
                if (p.HostIp.Length > 0) m["hostIP"] = p.HostIp;
                maps.Add((JsonNode)m);
            }
            conf["runtimeConfig"] = new JsonObject { ["portMappings"] = maps };
        }
        return conf;
    }

    /// <summary>
    /// Runs one plugin; the parsed stdout (ADD's result; null for DEL and CHECK, which print
    /// nothing). A failure is one line: network, plugin, command, the plugin's msg and details.
    /// </summary>
    public JsonNode? Exec(string network, string command, JsonObject conf, string containerId, string netns, string ifName, Action<int>? started = null)
    {
        var type = conf["type"]?.GetValue<string>() ?? throw new NetworkException($"network {network}: a plugin has no \"type\"");
        var exe = Find(network, type);
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["CNI_COMMAND"] = command;
        psi.Environment["CNI_CONTAINERID"] = containerId;
        psi.Environment["CNI_NETNS"] = netns;
        psi.Environment["CNI_IFNAME"] = ifName;
        psi.Environment["CNI_ARGS"] = "IgnoreUnknown=1";
        psi.Environment["CNI_PATH"] = path;
        // portmap, firewall and bridge's ipMasq run iptables: they need a PATH with /usr/sbin.
        var envPath = psi.Environment.TryGetValue("PATH", out var p) ? p : null;
        psi.Environment["PATH"] = string.IsNullOrEmpty(envPath) ? "/usr/sbin:/usr/bin:/sbin:/bin" : envPath + ":/usr/sbin:/sbin";

        string what = $"network {network}: CNI plugin {type} {command}";
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new NetworkException($"{what}: could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NetworkException($"{what}: {e.Message} ({exe})");
        }
        using (process)
        {
            started?.Invoke(process.Id);
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                process.StandardInput.Write(Serialize(conf));
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The plugin exited without reading its configuration: its exit status says why.
            }
            if (!process.WaitForExit(Timeout))
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                process.WaitForExit();
                throw new NetworkException($"{what}: no answer within {Timeout.TotalSeconds:0} s");
            }
            process.WaitForExit();
            var output = stdout.Result;
            if (process.ExitCode != 0) throw new NetworkException($"{what}: {ErrorText(output, stderr.Result, process.ExitCode)}");
            if (string.IsNullOrWhiteSpace(output)) return null;
            try
            {
                return JsonNode.Parse(output);
            }
            catch (JsonException e)
            {
                throw new NetworkException($"{what}: the result is not JSON: {e.Message}");
            }
        }
    }

    /// <summary>The spec's error object, {code, msg, details}, as one line; else the first line of stderr.</summary>
    static string ErrorText(string stdout, string stderr, int exitCode)
    {
        try
        {
            if (JsonNode.Parse(stdout) is JsonObject o && o["msg"] is JsonValue msg)
            {
                var sb = new StringBuilder(msg.ToString());
                if (o["details"] is JsonValue d && d.ToString() is { Length: > 0 } details) sb.Append(": ").Append(details);
                if (o["code"] is JsonValue c) sb.Append($" (CNI error code {c})");
                return OneLine(sb.ToString());
            }
        }
        catch (JsonException)
        {
        }
        var text = stderr.Trim().Length > 0 ? stderr : stdout;
        return text.Trim().Length > 0 ? OneLine(text.Trim()) : $"exit status {exitCode}";
    }

    static string OneLine(string s) => s.Replace("\r", "").Replace('\n', ' ');

    public static string Serialize(JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer)) node.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static string SerializeIndented(JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true })) node.WriteTo(writer);
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
