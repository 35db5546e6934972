namespace Berth.Images.Transports;

/// <summary>
/// A kind of place images live, named by the prefix of a reference ("oci", "dir"…; containers/image's
/// ImageTransport). Each transport is one class; <see cref="TransportRegistry"/> maps prefixes to them.
/// </summary>
public abstract class ImageTransport
{
    /// <summary>The prefix before the first ':' of a reference ("oci" in "oci:PATH:REF").</summary>
    public abstract string Name { get; }

    /// <summary>The reference <paramref name="rest"/> (what follows "NAME:") names, checked for form only: nothing is opened.</summary>
    public abstract ImageReference Parse(string rest);

    /// <summary>
    /// Why <paramref name="scope"/> cannot be a key of this transport's scopes in containers-policy.json
    /// (containers/image's ValidatePolicyConfigurationScope), or null when it can; "" is always allowed.
    /// </summary>
    public virtual string? ValidatePolicyScope(string scope) => null;

    /// <summary>containers/image's rule for the path transports (dir, oci, oci-archive): an absolute, clean path other than "/".</summary>
    protected static string? AbsolutePathScope(string scope)
    {
        if (!scope.StartsWith('/')) return $"invalid scope {Quote.Of(scope)}: must be an absolute path";
        if (scope == "/") return "invalid scope \"/\": use the generic default scope \"\"";
        var clean = PolicyPaths.Clean(scope);
        return clean == scope ? null : $"invalid scope {Quote.Of(scope)}: uses non-canonical path format, perhaps try {Quote.Of(clean)}";
    }
}

/// <summary>The path forms containers-policy.json scopes use for the path transports.</summary>
public static class PolicyPaths
{
    /// <summary>Go's filepath.Clean of an absolute path: no "//", ".", ".." or trailing '/'.</summary>
    public static string Clean(string path)
    {
        var parts = new List<string>();
        foreach (var p in path.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>The identity of a path reference: absolute and clean (relative to the working directory).</summary>
    public static string Identity(string path) => Clean(System.IO.Path.GetFullPath(path));

    /// <summary>Its namespaces: every parent directory, nearest first, "/" excluded (it would shadow "").</summary>
    public static IReadOnlyList<string> Parents(string identity)
    {
        var list = new List<string>();
        for (int slash = identity.LastIndexOf('/'); slash > 0; slash = identity.LastIndexOf('/'))
            list.Add(identity = identity[..slash]);
        return list;
    }
}

/// <summary>One image (or, for `ls`, one place) of a transport: what can be opened for reading or writing.</summary>
public abstract class ImageReference
{
    public abstract ImageTransport Transport { get; }

    /// <summary>The name the reference gives the image inside its place (an index's ref.name, a store name, a RepoTag); null when it gives none.</summary>
    public abstract string? Name { get; }

    /// <summary>This reference with <paramref name="name"/> where it gives none and its transport keeps names (a copy names the destination after the source).</summary>
    public virtual ImageReference WithDefaultName(string name) => this;

    public abstract IImageSource OpenSource();

    public abstract IImageDestination OpenDestination();

    /// <summary>The images at the place this reference names (`berth image ls`), with their names in <c>org.opencontainers.image.ref.name</c>.</summary>
    public virtual IReadOnlyList<Oci.Image.Descriptor> List() =>
        throw new ImageException($"{this}: the {Transport.Name} transport cannot list images");

    /// <summary>
    /// The scope containers-policy.json looks up first for this reference (PolicyConfigurationIdentity):
    /// "HOST/REPO:TAG" for docker://, the absolute path for dir:, oci:, oci-archive:; "" where the
    /// transport supports none (docker-archive:), so only the transport's "" scope applies.
    /// </summary>
    public virtual string PolicyIdentity => "";

    /// <summary>The scopes tried after <see cref="PolicyIdentity"/>, most specific first (PolicyConfigurationNamespaces).</summary>
    public virtual IReadOnlyList<string> PolicyNamespaces => [];

    /// <summary>The registry reference the image is known by, for a signature's identity check; null where there is none (a path).</summary>
    public virtual Registry.Reference? PolicyDockerReference => null;

    /// <summary>The reference as a user writes it: "oci:/path:ref".</summary>
    public abstract override string ToString();
}
