using System.Text.Json;
using Berth.Images.Transports;
using Berth.Linux;
using static Berth.Supply.Policy.StrictJson;

namespace Berth.Supply.Policy;

/// <summary>
/// containers-policy.json(5), read as containers/image reads it: a <c>default</c> list of requirements
/// and, per transport, lists by scope; the list for an image is its transport's most specific scope
/// (the reference's identity, then its namespaces — repository, parents, registry, *.domain — then the
/// transport's ""), else <c>default</c>. Every requirement of that list must accept the image.
/// </summary>
public sealed class SignaturePolicy
{
    public IReadOnlyList<PolicyRequirement> Default { get; }

    /// <summary>transport name → scope → requirements ("" is the transport's default).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<PolicyRequirement>>> Transports { get; }

    /// <summary>Where it was read from (errors name it); null when parsed from bytes.</summary>
    public string? Path { get; }

    SignaturePolicy(IReadOnlyList<PolicyRequirement> d, IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<PolicyRequirement>>> t, string? path)
    {
        Default = d;
        Transports = t;
        Path = path;
    }

    /// <summary>
    /// The policy files podman and skopeo honour, in order: $HOME/.config/containers/policy.json, then
    /// /etc/containers/policy.json (the first that exists).
    /// </summary>
    public static IReadOnlyList<string> DefaultPaths(string? home) =>
        home is { Length: > 0 } ? [System.IO.Path.Combine(home, ".config/containers/policy.json"), SystemPath] : [SystemPath];

    public const string SystemPath = "/etc/containers/policy.json";

    /// <summary>The first of <see cref="DefaultPaths"/> that exists, or null when none does.</summary>
    public static string? FindDefault(string? home) => DefaultPaths(home).FirstOrDefault(p => File.Exists(p));

    public static SignaturePolicy Load(string path, TransportRegistry transports)
    {
        byte[] bytes;
        try
        {
            bytes = FileSystem.ReadBytes(path, 4 << 20);
        }
        catch (LinuxException e)
        {
            throw new SupplyException($"policy: {e.Message}");
        }
        try
        {
            return Parse(bytes, transports, path);
        }
        catch (SupplyException e)
        {
            throw new SupplyException($"policy {path}: {e.Message}", e);
        }
    }

    public static SignaturePolicy Parse(ReadOnlySpan<byte> json, TransportRegistry transports, string? path = null)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new SupplyException($"not JSON: {e.Message}");
        }
        using (doc)
        {
            IReadOnlyList<PolicyRequirement>? def = null;
            var byTransport = new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyList<PolicyRequirement>>>(StringComparer.Ordinal);
            foreach (var m in Object(doc.RootElement, "", ["default", "transports"]))
            {
                if (m.Name == "default") def = List(m.Value, "default");
                else
                    foreach (var t in Object(m.Value, "transports", null))
                    {
                        var transport = transports.Find(t.Name);
                        var scopes = new Dictionary<string, IReadOnlyList<PolicyRequirement>>(StringComparer.Ordinal);
                        foreach (var s in Object(t.Value, $"transports.{t.Name}", null))
                        {
                            var where = $"transports.{t.Name}[{Q(s.Name)}]";
                            // A scope its transport could never produce is refused, as containers/image refuses it.
                            if (s.Name.Length > 0 && transport?.ValidatePolicyScope(s.Name) is { } why) throw Error(where, $"is not a scope: {why}");
                            scopes[s.Name] = List(s.Value, where);
                        }
                        byTransport[t.Name] = scopes;
                    }
            }
            if (def is null) throw Error("default", "is missing (the requirements for images no scope matches)");
            return new SignaturePolicy(def, byTransport, path);
        }
    }

    static List<PolicyRequirement> List(JsonElement e, string where)
    {
        var items = StrictJson.Array(e, where);
        if (items.Count == 0) throw Error(where, "is an empty list of requirements (write [{\"type\": \"reject\"}] or [{\"type\": \"insecureAcceptAnything\"}])");
        return items.Select((x, i) => PolicyRequirement.Parse(x, $"{where}[{i}]")).ToList();
    }

    /// <summary>The requirements for <paramref name="reference"/> and the scope they came from ("default", "transports.docker[\"HOST/REPO\"]").</summary>
    public (IReadOnlyList<PolicyRequirement> Requirements, string Scope) For(ImageReference reference)
    {
        var name = reference.Transport.Name;
        if (Transports.TryGetValue(name, out var scopes))
        {
            var identity = reference.PolicyIdentity;
            if (identity.Length > 0 && scopes.TryGetValue(identity, out var exact)) return (exact, $"transports.{name}[{Q(identity)}]");
            foreach (var ns in reference.PolicyNamespaces)
                if (scopes.TryGetValue(ns, out var found)) return (found, $"transports.{name}[{Q(ns)}]");
            if (scopes.TryGetValue("", out var any)) return (any, $"transports.{name}[\"\"]");
        }
        return (Default, "default");
    }

    /// <summary>Null when every requirement for the image accepts it; else the first refusal, "TYPE: reason".</summary>
    public string? Check(PolicyImage image, PolicyContext context)
    {
        var (requirements, _) = For(image.Reference);
        foreach (var r in requirements)
            if (r.Check(image, context) is { } why) return $"{r.Type}: {why}";
        return null;
    }
}
