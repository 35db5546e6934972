using System.Text.Json;

namespace Berth.Serve.Admission;

/// <summary>
/// Kubernetes' ImagePolicyWebhook review (imagepolicy.k8s.io/v1alpha1, kind ImageReview): the API
/// server posts spec.containers[].image, the pod's image-policy annotations and its namespace, and
/// reads status.allowed and status.reason back. Answered 200 either way: a refusal is a status.
/// </summary>
public sealed record ImageReview(IReadOnlyList<string> Images, IReadOnlyList<(string Key, string Value)> Annotations, string? Namespace)
{
    public const string ApiVersion = "imagepolicy.k8s.io/v1alpha1";
    public const string Kind = "ImageReview";

    public static ImageReview Parse(JsonElement r)
    {
        if (r.ValueKind != JsonValueKind.Object) throw new ServeException(400, "ImageReview: a JSON object is expected");
        string? S(JsonElement e, string k) => e.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (S(r, "apiVersion") != ApiVersion) throw new ServeException(400, $"ImageReview: apiVersion: \"{S(r, "apiVersion")}\", not {ApiVersion}");
        if (S(r, "kind") != Kind) throw new ServeException(400, $"ImageReview: kind: \"{S(r, "kind")}\", not {Kind}");
        if (!r.TryGetProperty("spec", out var spec) || spec.ValueKind != JsonValueKind.Object) throw new ServeException(400, "ImageReview: spec: missing");
        var images = new List<string>();
        if (spec.TryGetProperty("containers", out var cs))
        {
            if (cs.ValueKind != JsonValueKind.Array) throw new ServeException(400, "ImageReview: spec.containers: an array is expected");
            int i = 0;
            foreach (var c in cs.EnumerateArray())
            {
                var image = c.ValueKind == JsonValueKind.Object ? S(c, "image") : null;
                if (string.IsNullOrWhiteSpace(image)) throw new ServeException(400, $"ImageReview: spec.containers[{i}].image: missing");
                images.Add(image);
                i++;
            }
        }
        var annotations = new List<(string, string)>();
        if (spec.TryGetProperty("annotations", out var an) && an.ValueKind == JsonValueKind.Object)
            foreach (var p in an.EnumerateObject())
                if (p.Value.ValueKind == JsonValueKind.String) annotations.Add((p.Name, p.Value.GetString()!));
        return new ImageReview(images.Distinct(StringComparer.Ordinal).ToList(), annotations.OrderBy(a => a.Item1, StringComparer.Ordinal).ToList(), S(spec, "namespace"));
    }

    public static void WriteResponse(Utf8JsonWriter w, bool allowed, string reason)
    {
        w.WriteStartObject();
        w.WriteString("apiVersion", ApiVersion);
        w.WriteString("kind", Kind);
        w.WriteStartObject("status");
        w.WriteBoolean("allowed", allowed);
        if (reason.Length > 0) w.WriteString("reason", reason);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
