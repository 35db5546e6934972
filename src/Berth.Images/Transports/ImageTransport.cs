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

    /// <summary>The reference as a user writes it: "oci:/path:ref".</summary>
    public abstract override string ToString();
}
