using System.Text.Json;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Supply.Signing;

/// <summary>
/// cosign's "simple signing" payload, what a sigstore image signature signs:
/// <c>{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":{…}}</c>.
/// Read strictly, as containers/image reads it: exactly these critical fields, an integer timestamp.
/// </summary>
public sealed record SimpleSigningPayload(string DockerReference, Digest ManifestDigest, IReadOnlyDictionary<string, string> Optional)
{
    public const string SignatureType = "cosign container image signature";
    public const string MediaType = "application/vnd.dev.cosign.simplesigning.v1+json";

    /// <summary>The payload bytes: keys in Go's (sorted) order, as cosign and containers/image write them.</summary>
    public static byte[] Create(Digest manifestDigest, string dockerReference, IReadOnlyDictionary<string, string>? annotations, DateTimeOffset? now = null)
    {
        var optional = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in annotations ?? new Dictionary<string, string>()) optional[k] = v;
        optional.TryAdd("creator", "berth");
        optional.TryAdd("timestamp", (now ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds());
        return JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("critical");
            w.WriteStartObject("identity");
            w.WriteString("docker-reference", dockerReference);
            w.WriteEndObject();
            w.WriteStartObject("image");
            w.WriteString("docker-manifest-digest", manifestDigest.ToString());
            w.WriteEndObject();
            w.WriteString("type", SignatureType);
            w.WriteEndObject();
            w.WriteStartObject("optional");
            foreach (var (k, v) in optional)
                if (v is long n) w.WriteNumber(k, n);
                else w.WriteString(k, (string)v);
            w.WriteEndObject();
            w.WriteEndObject();
        });
    }

    public static SimpleSigningPayload Parse(ReadOnlySpan<byte> payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var root = doc.RootElement;
            Exact(root, "payload", "critical", "optional");
            var critical = root.GetProperty("critical");
            Exact(critical, "critical", "identity", "image", "type");
            var type = Str(critical.GetProperty("type"), "critical.type");
            if (type != SignatureType) throw new SupplyException($"payload: critical.type: {Quote(type)}, not {Quote(SignatureType)}");
            var image = critical.GetProperty("image");
            Exact(image, "critical.image", "docker-manifest-digest");
            var digest = Digest.Parse(Str(image.GetProperty("docker-manifest-digest"), "critical.image.docker-manifest-digest"), "critical.image.docker-manifest-digest");
            var identity = critical.GetProperty("identity");
            Exact(identity, "critical.identity", "docker-reference");
            var reference = Str(identity.GetProperty("docker-reference"), "critical.identity.docker-reference");
            var optional = new Dictionary<string, string>();
            var opt = root.GetProperty("optional");
            // cosign writes "optional": null when it was given no annotations.
            if (opt.ValueKind == JsonValueKind.Object)
                foreach (var p in opt.EnumerateObject())
                {
                    if (p.Name == "timestamp" && (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt64(out _)))
                        throw new SupplyException("payload: optional.timestamp: not an integer");
                    optional[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            else if (opt.ValueKind != JsonValueKind.Null) throw new SupplyException("payload: optional: not an object");
            return new SimpleSigningPayload(reference, digest, optional);
        }
        catch (Exception e) when (e is JsonException or Oci.SpecException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SupplyException($"payload: not a simple-signing payload ({e.Message})");
        }
    }

    static string Quote(string s) => "\"" + s + "\"";

    static string Str(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new SupplyException($"payload: {field}: not a string");

    static void Exact(JsonElement e, string what, params string[] names)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new SupplyException($"payload: {what}: not an object");
        var seen = new HashSet<string>();
        foreach (var p in e.EnumerateObject())
        {
            if (!names.Contains(p.Name)) throw new SupplyException($"payload: {what}: unexpected field {Quote(p.Name)}");
            if (!seen.Add(p.Name)) throw new SupplyException($"payload: {what}: duplicate field {Quote(p.Name)}");
        }
        foreach (var n in names)
            if (!seen.Contains(n)) throw new SupplyException($"payload: {what}: missing field {Quote(n)}");
    }
}
