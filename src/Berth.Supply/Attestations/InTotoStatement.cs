using System.Text.Json;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Supply.Attestations;

/// <summary>An in-toto Statement v1: subjects (name + digests), a predicate type and the predicate (kept as its JSON text).</summary>
public sealed record InTotoStatement(IReadOnlyList<(string Name, Digest Digest)> Subjects, string PredicateType, string PredicateJson)
{
    public const string TypeV1 = "https://in-toto.io/Statement/v1";
    public const string PayloadType = "application/vnd.in-toto+json";

    /// <summary>An in-toto ResourceDescriptor with one digest: {KEY: value, "digest": {ALGORITHM: VALUE}} (subjects, SLSA dependencies).</summary>
    public static void WriteResourceDescriptor(Utf8JsonWriter w, string key, string value, string algorithm, string digest)
    {
        w.WriteStartObject();
        w.WriteString(key, value);
        w.WriteStartObject("digest");
        w.WriteString(algorithm, digest);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public byte[] ToJson() => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("_type", TypeV1);
        w.WriteStartArray("subject");
        foreach (var (name, d) in Subjects) WriteResourceDescriptor(w, "name", name, d.Algorithm, d.Encoded);
        w.WriteEndArray();
        w.WriteString("predicateType", PredicateType);
        w.WritePropertyName("predicate");
        w.WriteRawValue(PredicateJson);
        w.WriteEndObject();
    });

    /// <summary>Reads a statement (v1, or v0.1 as cosign still writes it).</summary>
    public static InTotoStatement Parse(ReadOnlySpan<byte> json, string what = "in-toto statement")
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray());
            var r = doc.RootElement;
            var type = r.GetProperty("_type").GetString();
            if (type is not (TypeV1 or "https://in-toto.io/Statement/v0.1")) throw new SupplyException($"{what}: _type {type} is not an in-toto statement");
            var subjects = new List<(string, Digest)>();
            foreach (var s in r.GetProperty("subject").EnumerateArray())
                foreach (var d in s.GetProperty("digest").EnumerateObject())
                    subjects.Add((s.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "", new Digest(d.Name, d.Value.GetString() ?? "")));
            var predicate = r.TryGetProperty("predicate", out var p) ? p.GetRawText() : "{}";
            return new InTotoStatement(subjects, r.GetProperty("predicateType").GetString() ?? "", predicate);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new SupplyException($"{what}: malformed ({e.Message})");
        }
    }

    public bool Names(Digest d) => Subjects.Any(s => s.Digest == d);
}

/// <summary>cosign's names for predicate types (`--type`): any other value must be a URI and is taken as it is.</summary>
public static class PredicateTypes
{
    public const string SlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
    public const string CosignSign = "https://sigstore.dev/cosign/sign/v1";

    public static string Resolve(string type) => type switch
    {
        "spdx" or "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "openvex" => "https://openvex.dev/ns",
        // Berth's builder writes SLSA v1 (cosign's "slsaprovenance" means v0.2: "slsaprovenance02" here).
        "slsaprovenance" or "slsaprovenance1" => SlsaProvenanceV1,
        "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        _ when Uri.TryCreate(type, UriKind.Absolute, out _) => type,
        _ => throw new SupplyException($"--type: {type} is neither spdx, cyclonedx, openvex, slsaprovenance, vuln, custom nor a URI"),
    };
}
