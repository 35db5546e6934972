using System.Text;
using Berth.Linux;
using Berth.Oci;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Store;

/// <summary>
/// An OCI image layout directory (image-layout.md): oci-layout, index.json, blobs/. Berth's
/// own store is one, and so is every oci:PATH. Changes to index.json take the layout's lock
/// and replace the file atomically, so concurrent writers never lose each other's updates.
/// </summary>
public sealed class OciLayout
{
    public const string RefName = "org.opencontainers.image.ref.name";

    public string Root { get; }
    public BlobStore Blobs { get; }

    public OciLayout(string root)
    {
        Root = Path.GetFullPath(root);
        Blobs = new BlobStore(Root);
    }

    public bool Exists => File.Exists(Path.Combine(Root, "oci-layout"));

    public static OciLayout OpenExisting(string root)
    {
        var layout = new OciLayout(root);
        if (!layout.Exists) throw new ImageException($"{layout.Root}: not an OCI image layout (no oci-layout file)");
        return layout;
    }

    public static OciLayout Create(string root)
    {
        var layout = new OciLayout(root);
        Directory.CreateDirectory(layout.Root);
        Directory.CreateDirectory(layout.Blobs.Root);
        var marker = Path.Combine(layout.Root, "oci-layout");
        if (!File.Exists(marker)) File.WriteAllText(marker, "{\"imageLayoutVersion\":\"1.0.0\"}");
        if (!File.Exists(Path.Combine(layout.Root, "index.json")))
            layout.WriteIndex(new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = new() });
        return layout;
    }

    public ImageIndex ReadIndex()
    {
        var path = Path.Combine(Root, "index.json");
        if (!File.Exists(path)) return new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = new() };
        return Documents.ParseIndex(File.ReadAllBytes(path), null, "index.json");
    }

    void WriteIndex(ImageIndex index)
    {
        var path = Path.Combine(Root, "index.json");
        var tmp = path + $".tmp-{Environment.ProcessId}";
        File.WriteAllBytes(tmp, JsonOut.Document(index));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Read-modify-write of index.json under the layout's lock (taken here unless the caller holds it).</summary>
    public T Update<T>(Func<ImageIndex, T> change, bool lockHeld = false)
    {
        using var lockFd = lockHeld ? null : Lock();
        var index = ReadIndex();
        index.Manifests ??= new();
        var result = change(index);
        WriteIndex(index);
        return result;
    }

    /// <summary>
    /// The layout's lock: exclusive for writers and gc, shared for readers that need its blobs to
    /// stay (an overlay bundle between making its snapshots and mounting them). Not re-entrant:
    /// a holder passes lockHeld instead of locking again.
    /// </summary>
    public SafeFd Lock(bool exclusive = true)
    {
        Directory.CreateDirectory(Root);
        var fd = Files.Open(Path.Combine(Root, ".lock"), O.RDWR | O.CREAT, 0x180);
        Files.Flock(fd, exclusive);
        return fd;
    }

    /// <summary>Points <paramref name="name"/> at <paramref name="desc"/>, moving the name off any other entry.</summary>
    public void Tag(string name, Descriptor desc, bool lockHeld = false) => Update(index =>
    {
        foreach (var m in index.Manifests!.Where(m => m.Annotations?.GetValueOrDefault(RefName) == name).ToList())
            index.Manifests!.Remove(m);
        var entry = new Descriptor
        {
            MediaType = desc.MediaType, Digest = desc.Digest, Size = desc.Size, Platform = desc.Platform,
            Annotations = new Dictionary<string, string>(desc.Annotations ?? new()) { [RefName] = name },
        };
        index.Manifests!.Add(entry);
        return 0;
    }, lockHeld);

    /// <summary>The entry a name points at; with no name, the only entry there is.</summary>
    public Descriptor Find(string? name)
    {
        var manifests = ReadIndex().Manifests ?? new();
        if (name is null)
        {
            if (manifests.Count == 1) return manifests[0];
            throw new ImageException($"{Root}: {manifests.Count} images in the layout; name one (oci:{Root}:NAME)");
        }
        return manifests.LastOrDefault(m => m.Annotations?.GetValueOrDefault(RefName) == name)
            ?? throw new ImageException($"{Root}: no image named \"{name}\"");
    }

    public bool Untag(string name) => Update(index => index.Manifests!.RemoveAll(m => m.Annotations?.GetValueOrDefault(RefName) == name) > 0);
}
