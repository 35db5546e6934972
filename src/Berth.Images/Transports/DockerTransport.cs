using Berth.Images.Registry;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// docker://HOST[:PORT]/NAME[:TAG|@DIGEST], an image in a registry (containers/image's docker
/// transport), read and written through the registry client. A short name ("busybox",
/// "library/busybox:1.36") is resolved when it is opened, as containers-registries.conf(5) says:
/// its alias, else each unqualified-search-registries entry in turn (skopeo's docker.io when the
/// file configures neither); pulls go to the mirrors first, pushes to the [[registry]] location.
/// </summary>
/// <remarks>
/// Building the transport costs nothing: the registry's options, registries.conf, the auth files
/// and the HTTP/TLS stack are made the first time a reference is opened (<see cref="RegistrySettings"/>).
/// </remarks>
public sealed class DockerTransport(RegistrySettings settings) : ImageTransport
{
    public override string Name => "docker";

    public RegistrySettings Settings => settings;

    public override ImageReference Parse(string rest) => Parse(rest, settings);

    public override string? ValidatePolicyScope(string scope) => null; // containers/image checks nothing more either

    public DockerReference Parse(string rest, RegistrySettings with)
    {
        if (!rest.StartsWith("//", StringComparison.Ordinal))
            throw new ImageException($"docker:{rest}: a registry image is docker://HOST[:PORT]/NAME[:TAG|@DIGEST]");
        var text = rest[2..];
        if (text.Length == 0) throw new ImageException("docker://: an image name is required");
        if (Reference.IsShortName(text))
        {
            // Checked for form now; resolved (registries.conf) when opened.
            Reference.Parse(text);
            return new DockerReference(this, with, null, text);
        }
        return new DockerReference(this, with, Reference.Parse(text).WithDefaultTag(), text);
    }
}

/// <summary>An image in a registry: a fully qualified reference, or a short name that registries.conf resolves when opened.</summary>
public sealed class DockerReference : ImageReference
{
    readonly DockerTransport _transport;

    internal DockerReference(DockerTransport transport, RegistrySettings settings, Reference? qualified, string text)
    {
        _transport = transport;
        Settings = settings;
        Qualified = qualified;
        Text = text;
    }

    public override ImageTransport Transport => _transport;

    public RegistrySettings Settings { get; }

    /// <summary>The normalised reference (":latest" when it names neither tag nor digest); null for a short name until resolved.</summary>
    public Reference? Qualified { get; }

    /// <summary>What followed "docker://".</summary>
    public string Text { get; }

    public bool IsShortName => Qualified is null;

    /// <summary>podman's name for the image in a store: HOST[:PORT]/NAME:TAG (or @DIGEST).</summary>
    public override string? Name => Qualified is { } q ? StoreName(q) : null;

    public static string StoreName(Reference r) => r.Digest is not null ? $"{r.Name}@{r.Digest}" : r.ToString();

    /// <summary>The same reference read or written with other settings (a copy's --src-* and --dest-* flags).</summary>
    public DockerReference WithSettings(RegistrySettings settings) => new(_transport, settings, Qualified, Text);

    public DockerReference WithReference(Reference r) => new(_transport, Settings, r.WithDefaultTag(), r.ToString());

    /// <summary>
    /// What the reference may mean, in the order to try: itself when qualified; a short name's
    /// alias, or one candidate per search registry; docker.io when registries.conf sets neither
    /// (skopeo's normalisation). Enforcing mode refuses an ambiguous name: there is no prompt here.
    /// </summary>
    public IReadOnlyList<Reference> Candidates()
    {
        if (Qualified is { } q) return [q];
        var conf = Settings.Conf;
        var bare = Text;
        if (conf.UnqualifiedSearchRegistries.Count == 0 && !conf.Aliases.Keys.Any(a => bare == a || bare.StartsWith(a + ":", StringComparison.Ordinal) || bare.StartsWith(a + "@", StringComparison.Ordinal)))
            return [Reference.Parse(Text).WithDefaultTag()];
        var resolution = conf.ResolveShortName(Text);
        if (resolution.Alias is null && resolution.Candidates.Count > 1 && resolution.Mode == "enforcing")
            throw new RegistryException($"short name {Quote.Of(Text)} is ambiguous: it may be any of {string.Join(", ", resolution.Candidates)} " +
                "(short-name-mode is enforcing and there is no prompt here: use a fully qualified name, or set an alias in registries.conf)");
        return resolution.Candidates;
    }

    /// <summary>Opened: the manifest the reference names is read at once (a missing image fails here, before anything is written).</summary>
    public override IImageSource OpenSource() => DockerSource.Open(this);

    public override IImageDestination OpenDestination()
    {
        if (Qualified is not { } q) throw new ImageException($"docker://{Text}: a short name cannot be pushed to (use a fully qualified name: HOST/NAME:TAG)");
        return new DockerDestination(this, q);
    }

    public override string PolicyIdentity => Qualified is { } q ? q.ToString() : "";

    /// <summary>The repository, its parent namespaces, the registry, then "*.DOMAIN" wildcards from the most specific (containers/image's DockerReferenceNamespaces; the port dropped for those).</summary>
    public override IReadOnlyList<string> PolicyNamespaces
    {
        get
        {
            if (Qualified is not { } q) return [];
            var list = new List<string>();
            var name = q.Name;
            for (; ; name = name[..name.LastIndexOf('/')])
            {
                list.Add(name);
                if (!name.Contains('/')) break;
            }
            if (name.IndexOf(':') is var colon and >= 0) name = name[..colon];
            for (int dot = name.IndexOf('.'); dot >= 0; dot = name.IndexOf('.'))
                list.Add("*." + (name = name[(dot + 1)..]));
            return list;
        }
    }

    public override Reference? PolicyDockerReference => Qualified;

    public override string ToString() => "docker://" + (Qualified?.ToString() ?? Text);
}

/// <summary>A source or destination whose blobs move over a network: how many at once are worth it (a copy runs that many, not one per core).</summary>
public interface INetworkBlobs
{
    int ParallelBlobs { get; }
}

static class Sync
{
    /// <summary>The registry client is asynchronous, the transports synchronous: a copy's own threads wait here, never the thread pool's.</summary>
    public static T Wait<T>(Task<T> task) => task.GetAwaiter().GetResult();

    public static void Wait(Task task) => task.GetAwaiter().GetResult();
}
