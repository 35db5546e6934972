using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// dir:PATH, containers/image's directory transport (skopeo's `dir:`): one image per directory —
/// manifest.json (the top manifest or index), "HEX.manifest.json" for each instance of an index,
/// every blob (config and layers) under its digest's hex alone, and a "version" file.
/// </summary>
public sealed class DirTransport : ImageTransport
{
    /// <summary>containers/image's directory/directory_dest.go, byte for byte.</summary>
    public const string Version = "Directory Transport Version: 1.1\n";

    public override string Name => "dir";

    public override string? ValidatePolicyScope(string scope) => AbsolutePathScope(scope);

    public override ImageReference Parse(string rest) =>
        rest.Length == 0 ? throw new ImageException("dir: a path is required") : new Reference(this, rest);

    public static string ManifestFile(Digest? instance) => instance is { } d ? $"{d.Encoded}.manifest.json" : "manifest.json";

    sealed class Reference(DirTransport transport, string path) : ImageReference
    {
        public override ImageTransport Transport => transport;
        public override string? Name => null;
        public override IImageSource OpenSource() => new DirSource(this, path);
        public override IImageDestination OpenDestination() => new DirDestination(this, path);

        public override IReadOnlyList<Descriptor> List()
        {
            using var src = new DirSource(this, path);
            return new[] { src.GetManifest().Descriptor };
        }

        public override string PolicyIdentity => PolicyPaths.Identity(path);
        public override IReadOnlyList<string> PolicyNamespaces => PolicyPaths.Parents(PolicyIdentity);

        public override string ToString() => $"dir:{path}";
    }
}

/// <summary>A dir: image, every file opened by <see cref="LayoutFiles"/>' rules (regular files, no links).</summary>
public sealed class DirSource : IImageSource
{
    readonly string _root;

    public DirSource(ImageReference reference, string path)
    {
        Reference = reference;
        _root = Path.GetFullPath(path);
        if (!Directory.Exists(_root)) throw new ImageException($"{_root}: no such directory");
        // Absent in directories of old skopeo versions; another major version is another layout.
        if (LayoutFiles.TryOpen(_root, "version", $"{_root}") is { } fd)
            using (fd)
            {
                var version = System.Text.Encoding.UTF8.GetString(LayoutFiles.ReadAll(fd, 256, $"{_root}/version"));
                if (!version.StartsWith("Directory Transport Version: 1.", StringComparison.Ordinal))
                    throw new ImageException($"{_root}/version: {Quote.Of(version.TrimEnd('\n'))} is not a directory transport version this reads (1.x)");
            }
    }

    public ImageReference Reference { get; }
    public Descriptor? Entry => null;

    public RawManifest GetManifest(Digest? instance = null)
    {
        var name = DirTransport.ManifestFile(instance);
        using var fd = LayoutFiles.TryOpen(_root, name, "manifest") ?? throw new ImageException($"{_root}: no {name}{(instance is null ? " (not a dir: image)" : "")}");
        var bytes = LayoutFiles.ReadAll(fd, BlobStore.MaxDocumentBytes, $"{_root}/{name}");
        if (instance is { } d) BlobStore.Verify(bytes, d, null);
        return RawManifest.Guess(bytes, $"{_root}/{name}", instance);
    }

    public Stream GetBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        var fd = LayoutFiles.TryOpen(_root, d.Encoded, $"blob {d}") ?? throw new ImageException($"blob {d} is not in {_root}");
        return new VerifyingStream(LayoutFiles.AsStream(fd, Path.Combine(_root, d.Encoded)), d, size);
    }

    public bool HasBlob(Descriptor blob)
    {
        var d = Digest.Parse(blob.Digest ?? "", "descriptor.digest");
        using var fd = LayoutFiles.TryOpen(_root, d.Encoded);
        return fd is not null;
    }

    public void Dispose() { }
}

/// <summary>
/// Writes a dir: image. The directory is made, or emptied when it is one skopeo or Berth wrote
/// (its version file says so) — any other non-empty directory is refused, as containers/image
/// refuses it. Files go to a temporary name (created new: never through a planted link) and are
/// renamed into place once checked.
/// </summary>
public sealed class DirDestination : IImageDestination
{
    readonly string _root;
    readonly HashSet<string> _written = new(StringComparer.Ordinal);

    public DirDestination(ImageReference reference, string path)
    {
        Reference = reference;
        _root = Path.GetFullPath(path);
        FileSystem.CreateDirectory(_root);
        using var dir = Files.Open(_root, O.RDONLY | O.DIRECTORY);
        var entries = FileSystem.Names(dir, _root);
        if (entries.Count > 0)
        {
            string? version = null;
            if (LayoutFiles.TryOpen(_root, "version") is { } fd)
                using (fd) version = System.Text.Encoding.UTF8.GetString(LayoutFiles.ReadAll(fd, 256, $"{_root}/version"));
            if (version != DirTransport.Version)
                throw new ImageException($"{_root}: not empty and not a dir: image (no version file saying {Quote.Of(DirTransport.Version.TrimEnd('\n'))}); not overwriting it");
            // One image per directory: what was there goes (links removed, never followed).
            foreach (var child in entries) FileTree.Remove(dir, child);
        }
        Place("version", new MemoryStream(System.Text.Encoding.ASCII.GetBytes(DirTransport.Version)), null, null);
    }

    public ImageReference Reference { get; }
    public LayerCompressionWish DesiredLayerCompression => LayerCompressionWish.Preserve;
    public IReadOnlyList<string>? SupportedManifestTypes => null;
    public bool HasThreadSafePutBlob => true;

    public Descriptor? TryReusingBlob(Descriptor blob)
    {
        lock (_written)
            return _written.Contains(blob.Digest ?? "") ? new Descriptor { MediaType = blob.MediaType, Digest = blob.Digest, Size = blob.Size } : null;
    }

    public Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false)
    {
        Digest? expected = info.Digest is { } t ? Digest.Parse(t, "descriptor.digest") : null;
        var (digest, size) = Place(null, content, expected, info.Size);
        lock (_written) _written.Add(digest.ToString());
        return new Descriptor { MediaType = info.MediaType, Digest = digest.ToString(), Size = size };
    }

    public void PutManifest(RawManifest manifest, Digest? instance = null) =>
        Place(DirTransport.ManifestFile(instance), new MemoryStream(manifest.Bytes), manifest.Digest, manifest.Bytes.Length);

    /// <summary>Content into a temporary file, hashed; checked; renamed to <paramref name="name"/> (the digest's hex when null).</summary>
    (Digest, long) Place(string? name, Stream content, Digest? expected, long? expectedSize)
    {
        var tmp = Path.Combine(_root, $".dir-put-blob-{Guid.NewGuid():N}");
        try
        {
            var (digest, size) = VerifiedBlob.WriteHashed(content, tmp, expected, expectedSize, expected?.ToString() ?? name);
            if (expected is { } e && e != digest) throw VerifiedBlob.WrongDigest(e, digest);
            if (expectedSize is { } sz && sz != size) throw VerifiedBlob.TooShort(digest, size, sz);
            FileSystem.Rename(tmp, Path.Combine(_root, name ?? digest.Encoded));
            return (digest, size);
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
    }

    public void Commit(Descriptor? entry = null) { }

    public void Dispose() { }
}
