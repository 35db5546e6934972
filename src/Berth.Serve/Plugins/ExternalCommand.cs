using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Supply.Signing;

namespace Berth.Serve.Plugins;

/// <summary>
/// A plugin that is a program: one request as a JSON object on its stdin, one JSON object answered
/// on its stdout, exit status 0 (protocol "berth.serve.plugin/v1", docs/serve-plugins.md). On
/// failure it exits non-zero, with {"error": "..."} on stdout or a line on stderr. Each call is a
/// new process, killed at the timeout: a plugin holds no state Berth depends on.
/// </summary>
public sealed class ExternalCommand(string name, IReadOnlyList<string> command, TimeSpan timeout) : IScannerPlugin, ISignatureVerifierPlugin
{
    public const string Protocol = "berth.serve.plugin/v1";
    const int MaxAnswerBytes = 64 << 20;

    public string Name => name;

    public ScanOutput Scan(ScanInput input, CancellationToken cancel)
    {
        var request = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("protocol", Protocol);
            w.WriteString("kind", "scan");
            w.WriteString("image", input.Image);
            w.WriteString("digest", input.Digest.ToString());
            if (input.Sbom is not null) w.WriteBase64String("sbom", input.Sbom);
            w.WriteEndObject();
        });
        using var doc = Call("scan", request, cancel);
        var r = doc.RootElement;
        var matches = new List<ScanMatch>();
        if (r.TryGetProperty("matches", out var ms))
        {
            if (ms.ValueKind != JsonValueKind.Array) throw Bad("scan", "\"matches\" is not an array");
            int i = 0;
            foreach (var m in ms.EnumerateArray())
            {
                var where = $"matches[{i++}]";
                if (m.ValueKind != JsonValueKind.Object) throw Bad("scan", $"{where}: not an object");
                string Req(string k) => Str(m, k) is { Length: > 0 } v ? v : throw Bad("scan", $"{where}.{k}: missing");
                var severity = (Str(m, "severity") ?? "unknown").ToLowerInvariant();
                if (severity is not ("critical" or "high" or "medium" or "low" or "negligible" or "none" or "unknown"))
                    throw Bad("scan", $"{where}.severity: \"{severity}\" is not critical, high, medium, low, negligible or unknown");
                var aliases = m.TryGetProperty("aliases", out var al) && al.ValueKind == JsonValueKind.Array
                    ? al.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToList() : [];
                matches.Add(new ScanMatch(Req("id"), aliases, Req("package"), Str(m, "version") ?? "", Req("purl"), severity == "none" ? "negligible" : severity, Str(m, "fixed_in")));
            }
        }
        byte[]? sbom = null;
        if (r.TryGetProperty("sbom", out var s) && s.ValueKind == JsonValueKind.String)
        {
            try { sbom = s.GetBytesFromBase64(); }
            catch (FormatException) { throw Bad("scan", "\"sbom\" is not base64"); }
        }
        return new ScanOutput(Str(r, "database_version") ?? $"{name}:unknown", matches, sbom);
    }

    public VerifyOutput Verify(VerifyInput input, CancellationToken cancel)
    {
        var request = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("protocol", Protocol);
            w.WriteString("kind", "verify");
            w.WriteString("repository", input.Repository);
            w.WriteString("digest", input.Digest.ToString());
            w.WriteStartArray("signatures");
            foreach (var sig in input.Signatures) WriteAttachment(w, sig);
            w.WriteEndArray();
            w.WriteStartArray("trusted_keys");
            foreach (var k in input.TrustedKeys) w.WriteStringValue(Encoding.UTF8.GetString(k));
            w.WriteEndArray();
            w.WriteEndObject();
        });
        using var doc = Call("verify", request, cancel);
        var r = doc.RootElement;
        if (!r.TryGetProperty("verified", out var v) || v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Bad("verify", "\"verified\": true or false is required");
        var details = r.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Array
            ? d.EnumerateArray().Where(x => x.ValueKind == JsonValueKind.String).Select(x => x.GetString()!).ToList() : [];
        return new VerifyOutput(v.GetBoolean(), details);
    }

    static void WriteAttachment(Utf8JsonWriter w, SignatureAttachment a)
    {
        w.WriteStartObject();
        w.WriteString("media_type", a.MediaType);
        w.WriteBase64String("payload", a.Payload);
        w.WriteStartObject("annotations");
        foreach (var (k, val) in a.Annotations.OrderBy(x => x.Key, StringComparer.Ordinal)) w.WriteString(k, val);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    PluginException Bad(string kind, string why) => new($"plugin {name} ({kind}): {why}");

    static string? Str(JsonElement e, string k) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    JsonDocument Call(string kind, byte[] request, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in command.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment["BERTH_PLUGIN_PROTOCOL"] = Protocol;
        Process process;
        try { process = Process.Start(psi) ?? throw Bad(kind, "could not be started"); }
        catch (System.ComponentModel.Win32Exception e) { throw Bad(kind, $"{command[0]}: {e.Message}"); }
        using (process)
        {
            var stdout = ReadBounded(process.StandardOutput.BaseStream);
            var stderr = process.StandardError.ReadToEndAsync(cancel);
            try
            {
                process.StandardInput.BaseStream.Write(request);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It exited without reading the request: its status says why.
            }
            bool exited;
            using (cancel.Register(() => { try { process.Kill(); } catch (InvalidOperationException) { } }))
                exited = process.WaitForExit(timeout);
            if (!exited)
            {
                try { process.Kill(); } catch (InvalidOperationException) { }
                process.WaitForExit();
                throw Bad(kind, $"no answer within {timeout.TotalSeconds:0} s");
            }
            process.WaitForExit();
            cancel.ThrowIfCancellationRequested();
            byte[] output;
            try { output = stdout.GetAwaiter().GetResult(); }
            catch (InvalidDataException e) { throw Bad(kind, e.Message); }
            JsonDocument? doc = null;
            try { doc = JsonDocument.Parse(output); }
            catch (JsonException) { }
            if (process.ExitCode != 0)
            {
                var msg = doc is not null && doc.RootElement.ValueKind == JsonValueKind.Object && Str(doc.RootElement, "error") is { } err ? err
                    : FirstLine(stderr.IsCompleted ? stderr.Result : "") ?? "no error message";
                doc?.Dispose();
                throw Bad(kind, $"exit status {process.ExitCode}: {msg}");
            }
            if (doc is null) throw Bad(kind, "the answer on stdout is not JSON");
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                doc.Dispose();
                throw Bad(kind, "the answer is not a JSON object");
            }
            return doc;
        }
    }

    static string? FirstLine(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();

    /// <summary>Reads a plugin's stdout, refusing more than <see cref="MaxAnswerBytes"/>: a plugin is a program, not trusted to be small.</summary>
    static async Task<byte[]> ReadBounded(Stream s)
    {
        var ms = new MemoryStream();
        var buf = new byte[81920];
        int n;
        while ((n = await s.ReadAsync(buf).ConfigureAwait(false)) > 0)
        {
            if (ms.Length + n > MaxAnswerBytes) throw new InvalidDataException($"answer larger than {MaxAnswerBytes >> 20} MiB");
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }
}
