using Berth.Images;
using Berth.Images.Transports;
using Berth.Linux;
using YamlDotNet.RepresentationModel;

namespace Berth.Supply.Policy;

/// <summary>
/// containers-registries.d(5): per registry namespace, where signatures live — a lookaside store
/// (<c>lookaside</c>, <c>lookaside-staging</c> for writing; <c>sigstore</c>/<c>sigstore-staging</c> are the
/// old names) and whether sigstore attachments in the registry are read and written
/// (<c>use-sigstore-attachments</c>). Every *.yaml file of the directory is merged; a namespace (or
/// <c>default-docker</c>) given in two files is an error. For a reference, the most specific entry
/// that sets the field wins (identity, then repository and parents, registry, *.domain), then default-docker.
/// </summary>
public sealed class RegistriesD
{
    /// <summary>One namespace's settings; null where the file leaves the field out.</summary>
    public sealed record Namespace(string? Lookaside, string? LookasideStaging, bool? UseSigstoreAttachments);

    public Namespace? DefaultDocker { get; }
    public IReadOnlyDictionary<string, Namespace> Docker { get; }

    RegistriesD(Namespace? defaultDocker, IReadOnlyDictionary<string, Namespace> docker)
    {
        DefaultDocker = defaultDocker;
        Docker = docker;
    }

    public static readonly RegistriesD Empty = new(null, new Dictionary<string, Namespace>());

    public const string SystemDir = "/etc/containers/registries.d";

    /// <summary>--registries-d, else $HOME/.config/containers/registries.d when it exists, else /etc/containers/registries.d (containers/image's order).</summary>
    public static string DefaultDir(string? home) =>
        home is { Length: > 0 } && Directory.Exists(Path.Combine(home, ".config/containers/registries.d")) ? Path.Combine(home, ".config/containers/registries.d") : SystemDir;

    /// <summary>The merged files of <paramref name="dir"/>; a directory that does not exist configures nothing.</summary>
    public static RegistriesD Load(string dir)
    {
        if (!Directory.Exists(dir)) return Empty;
        Namespace? def = null;
        string? defFrom = null;
        var docker = new Dictionary<string, Namespace>(StringComparer.Ordinal);
        var from = new Dictionary<string, string>(StringComparer.Ordinal);
        List<string> names;
        try
        {
            names = FileSystem.NonDirectories(dir);
        }
        catch (LinuxException e)
        {
            throw new SupplyException($"registries.d: {e.Message}");
        }
        foreach (var name in names.Where(n => n.EndsWith(".yaml", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(dir, name);
            string text;
            try
            {
                text = FileSystem.ReadText(path, 4 << 20);
            }
            catch (LinuxException e)
            {
                throw new SupplyException($"registries.d: {e.Message}");
            }
            var (fileDefault, fileDocker) = ParseFile(text, path);
            if (fileDefault is not null)
            {
                if (def is not null) throw new SupplyException($"registries.d: \"default-docker\" is defined both in {defFrom} and {path}");
                (def, defFrom) = (fileDefault, path);
            }
            foreach (var (ns, settings) in fileDocker)
            {
                if (from.TryGetValue(ns, out var first)) throw new SupplyException($"registries.d: \"docker\" namespace {Quote.Of(ns)} is defined both in {first} and {path}");
                docker[ns] = settings;
                from[ns] = path;
            }
        }
        return new RegistriesD(def, docker);
    }

    /// <summary>One file: default-docker and the docker map (other keys are ignored, as containers/image's YAML reading ignores them).</summary>
    public static (Namespace? Default, List<(string, Namespace)> Docker) ParseFile(string text, string path)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new SupplyException($"registries.d: {path}: line {e.Start.Line}: {e.Message}");
        }
        var docker = new List<(string, Namespace)>();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" or "null" }) return (null, docker);
        if (stream.Documents[0].RootNode is not YamlMappingNode root) throw new SupplyException($"registries.d: {path}: not a mapping (default-docker, docker)");
        Namespace? def = null;
        foreach (var (k, v) in root.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            if (key == "default-docker") def = ParseNamespace(v, $"{path}: default-docker");
            else if (key == "docker")
            {
                if (v is YamlScalarNode { Value: null or "" or "~" or "null" }) continue;
                if (v is not YamlMappingNode map) throw new SupplyException($"registries.d: {path}: docker: not a mapping of namespaces");
                foreach (var (nk, nv) in map.Children)
                {
                    var ns = (nk as YamlScalarNode)?.Value ?? throw new SupplyException($"registries.d: {path}: docker: a namespace must be a plain value");
                    docker.Add((ns, ParseNamespace(nv, $"{path}: docker: {ns}")));
                }
            }
        }
        return (def, docker);
    }

    static Namespace ParseNamespace(YamlNode node, string where)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" }) return new Namespace(null, null, null);
        if (node is not YamlMappingNode map) throw new SupplyException($"registries.d: {where}: not a mapping (lookaside, lookaside-staging, use-sigstore-attachments)");
        string? lookaside = null, staging = null, oldLookaside = null, oldStaging = null;
        bool? attachments = null;
        foreach (var (k, v) in map.Children)
        {
            var key = (k as YamlScalarNode)?.Value;
            string Text() => v is YamlScalarNode { Value: { } s } ? s : throw new SupplyException($"registries.d: {where}: {key}: must be a plain value");
            switch (key)
            {
                case "lookaside": lookaside = Text(); break;
                case "lookaside-staging": staging = Text(); break;
                case "sigstore": oldLookaside = Text(); break;
                case "sigstore-staging": oldStaging = Text(); break;
                case "use-sigstore-attachments":
                    attachments = Text() switch
                    {
                        "true" or "True" or "TRUE" or "yes" or "on" => true,
                        "false" or "False" or "FALSE" or "no" or "off" => false,
                        var b => throw new SupplyException($"registries.d: {where}: use-sigstore-attachments: {Quote.Of(b)} is not true or false"),
                    };
                    break;
            }
        }
        // lookaside before its old name sigstore, for reading and for writing alike.
        return new Namespace(NonEmpty(lookaside) ?? NonEmpty(oldLookaside), NonEmpty(staging) ?? NonEmpty(oldStaging), attachments);
    }

    static string? NonEmpty(string? s) => s is { Length: > 0 } ? s : null;

    /// <summary>The namespaces that apply to <paramref name="reference"/>, most specific first, default-docker last.</summary>
    IEnumerable<Namespace> Chain(DockerReference reference)
    {
        var identity = reference.PolicyIdentity;
        if (identity.Length > 0 && Docker.TryGetValue(identity, out var exact)) yield return exact;
        foreach (var name in reference.PolicyNamespaces)
            if (Docker.TryGetValue(name, out var ns)) yield return ns;
        if (DefaultDocker is { } d) yield return d;
    }

    /// <summary>Whether sigstore signatures are read from (and written to) the registry for this reference; false unless configured.</summary>
    public bool UseSigstoreAttachments(DockerReference reference) =>
        Chain(reference).Select(n => n.UseSigstoreAttachments).FirstOrDefault(b => b is not null) ?? false;

    /// <summary>The lookaside base URL for the reference (staging first when writing), or null when none is configured.</summary>
    public string? Lookaside(DockerReference reference, bool write) =>
        Chain(reference).Select(n => (write ? n.LookasideStaging : null) ?? n.Lookaside).FirstOrDefault(u => u is not null);
}
