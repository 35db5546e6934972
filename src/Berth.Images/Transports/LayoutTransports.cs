using Berth.Images.Archives;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>"PATH[:REF]", split at the first ':' as skopeo splits it: a path may not hold one, a name may ("app:1").</summary>
static class PathAndName
{
    public static (string Path, string? Name) Split(string transport, string rest)
    {
        if (rest.Length == 0) throw new ImageException($"{transport}: a path is required");
        int colon = rest.IndexOf(':');
        if (colon == 0) throw new ImageException($"{transport}: a path is required before the name");
        if (colon < 0) return (rest, null);
        var name = rest[(colon + 1)..];
        return (rest[..colon], name.Length == 0 ? null : name);
    }

    public static string Format(string transport, string path, string? name) => $"{transport}:{path}{(name is null ? "" : ":" + name)}";
}

/// <summary>oci:PATH[:REF], an image layout directory (image-layout.md); REF is an index entry's org.opencontainers.image.ref.name.</summary>
public sealed class OciLayoutTransport : ImageTransport
{
    public override string Name => "oci";

    public override string? ValidatePolicyScope(string scope) => AbsolutePathScope(scope);

    public override ImageReference Parse(string rest)
    {
        var (path, name) = PathAndName.Split(Name, rest);
        return new Reference(this, path, name);
    }

    sealed class Reference(OciLayoutTransport transport, string path, string? name) : ImageReference
    {
        public override ImageTransport Transport => transport;
        public override string? Name => name;
        public override ImageReference WithDefaultName(string n) => name is null ? new Reference(transport, path, n) : this;

        public override IImageSource OpenSource() => new LayoutSource(this, new DirectoryLayoutReader(OciLayout.OpenExisting(path)), name);

        public override IImageDestination OpenDestination() =>
            new LayoutDestination(this, OciLayout.Create(path), name ?? throw new ImageException($"{this}: a name is required for the copy (oci:PATH:NAME)"));

        public override IReadOnlyList<Descriptor> List() => OciLayout.OpenExisting(path).ReadIndex().Manifests ?? new();

        // The directory alone: "DIR:a" and "DIR:" may be the same image (containers/image's reason).
        public override string PolicyIdentity => PolicyPaths.Identity(path);
        public override IReadOnlyList<string> PolicyNamespaces => [PolicyIdentity, .. PolicyPaths.Parents(PolicyIdentity)];

        public override string ToString() => PathAndName.Format("oci", path, name);
    }
}

/// <summary>oci-archive:FILE[:REF], a tarball of an image layout: read in place, written as a stream (<see cref="OciArchiveDestination"/>).</summary>
public sealed class OciArchiveTransport : ImageTransport
{
    public override string Name => "oci-archive";

    public override string? ValidatePolicyScope(string scope) => AbsolutePathScope(scope);

    public override ImageReference Parse(string rest)
    {
        var (path, name) = PathAndName.Split(Name, rest);
        return new Reference(this, path, name);
    }

    /// <summary>A private directory for the unnamed files an archive needs (a decompressed archive, a spooled blob).</summary>
    internal static string Scratch => Path.GetTempPath();

    internal static ArchiveLayoutReader Read(string path)
    {
        var tar = TarIndex.Open(path, Scratch);
        try
        {
            return new ArchiveLayoutReader(tar);
        }
        catch
        {
            tar.Dispose();
            throw;
        }
    }

    sealed class Reference(OciArchiveTransport transport, string path, string? name) : ImageReference
    {
        public override ImageTransport Transport => transport;
        public override string? Name => name;
        public override ImageReference WithDefaultName(string n) => name is null ? new Reference(transport, path, n) : this;

        public override IImageSource OpenSource()
        {
            var reader = Read(path);
            try
            {
                return new LayoutSource(this, reader, name);
            }
            catch
            {
                reader.Dispose();
                throw;
            }
        }

        public override IImageDestination OpenDestination() =>
            new OciArchiveDestination(this, path, name ?? throw new ImageException($"{this}: a name is required for the copy (oci-archive:FILE:NAME)"));

        public override IReadOnlyList<Descriptor> List()
        {
            using var reader = Read(path);
            return reader.ReadIndex().Manifests ?? new();
        }

        public override string PolicyIdentity => PolicyPaths.Identity(path);
        public override IReadOnlyList<string> PolicyNamespaces => [PolicyIdentity, .. PolicyPaths.Parents(PolicyIdentity)];

        public override string ToString() => PathAndName.Format("oci-archive", path, name);
    }
}

/// <summary>Berth's store (an OCI layout, default /var/lib/berth/images): a plain NAME[:TAG], ":latest" when untagged.</summary>
public sealed class StoreTransport(OciLayout store) : ImageTransport
{
    public override string Name => "store";

    public OciLayout Layout => store;

    public override ImageReference Parse(string rest) => new StoreReference(this, Normalize(rest));

    /// <summary>A store name gets ":latest" when it has no tag (the part after the last '/' has no ':').</summary>
    public static string Normalize(string name)
    {
        if (name.Length == 0) throw new ImageException("an image name is required");
        if (name.Contains('@')) return name;
        int slash = name.LastIndexOf('/');
        return name[(slash + 1)..].Contains(':') ? name : name + ":latest";
    }
}

public sealed class StoreReference(StoreTransport transport, string name) : ImageReference
{
    public override ImageTransport Transport => transport;
    public override string Name => name;

    public override IImageSource OpenSource() => new LayoutSource(this, new DirectoryLayoutReader(transport.Layout), name, privateLayout: transport.Layout);

    public override IImageDestination OpenDestination() => new LayoutDestination(this, transport.Layout, name, BlobLease.Take(transport.Layout));

    public override IReadOnlyList<Descriptor> List() => transport.Layout.ReadIndex().Manifests ?? new();

    /// <summary>Berth's own transport: its scopes are store names ("localhost/app:1"), then the repository and its parents, as docker:// scopes are.</summary>
    public override string PolicyIdentity => name;

    public override IReadOnlyList<string> PolicyNamespaces
    {
        get
        {
            // NAME:TAG or NAME@DIGEST: the tag is after the last ':' that follows the last '/'.
            var repo = name;
            if (repo.IndexOf('@') is var at and >= 0) repo = repo[..at];
            else if (repo.LastIndexOf(':') is var colon && colon > repo.LastIndexOf('/')) repo = repo[..colon];
            var list = new List<string>();
            for (; ; repo = repo[..repo.LastIndexOf('/')])
            {
                list.Add(repo);
                if (!repo.Contains('/')) break;
            }
            return list;
        }
    }

    public override string ToString() => name;
}
