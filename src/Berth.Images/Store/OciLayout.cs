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

    /// <summary>Only this user can write here (Berth's store, an unpacked archive): see <see cref="BlobStore.OpenVerified"/>.</summary>
    public bool IsPrivate { get; }

    public OciLayout(string root, bool isPrivate = false)
    {
        Root = Path.GetFullPath(root);
        IsPrivate = isPrivate;
        Blobs = new BlobStore(Root, isPrivate);
    }

    /// <summary>Whether <paramref name="root"/> holds an oci-layout file (it is checked when read).</summary>
    public bool Exists => LayoutFiles.TryOpen(Root, "oci-layout") is { } fd && Dispose(fd);

    static bool Dispose(SafeFd fd)
    {
        fd.Dispose();
        return true;
    }

    public static OciLayout OpenExisting(string root, bool isPrivate = false)
    {
        var layout = new OciLayout(root, isPrivate);
        using var fd = LayoutFiles.TryOpen(layout.Root, "oci-layout") ?? throw new ImageException($"{layout.Root}: not an OCI image layout (no oci-layout file)");
        var version = Documents.ParseLayoutMarker(LayoutFiles.ReadAll(fd, 64 << 10, $"{layout.Root}/oci-layout"), $"{layout.Root}/oci-layout");
        if (version != "1.0.0") throw new ImageException($"{layout.Root}/oci-layout: imageLayoutVersion {Quote.Of(version)} is not supported (1.0.0 is)");
        return layout;
    }

    /// <summary>Berth's own store: a layout in a directory only this user can enter (<see cref="PrivateDirectory"/>).</summary>
    public static OciLayout CreatePrivate(string root)
    {
        PrivateDirectory.Ensure(root, "store", name => name is "oci-layout" or "index.json" or "blobs" or ".lock" or BlobLease.DirectoryName or "build-cache" || name.StartsWith(".import-") || name.Contains(".tmp-"));
        return Create(root, isPrivate: true);
    }

    public static OciLayout Create(string root, bool isPrivate = false)
    {
        var layout = new OciLayout(root, isPrivate);
        FileSystem.CreateDirectory(layout.Root);
        FileSystem.CreateDirectory(layout.Blobs.Root);
        // Each made whole aside and put in place only if absent: a concurrent Create (two
        // commands on a new store) never sees a half-written file nor replaces a tagged index.
        layout.Place("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8);
        OpenExisting(layout.Root, isPrivate);
        layout.Place("index.json", JsonOut.Document(new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = new() }));
        return layout;
    }

    public ImageIndex ReadIndex()
    {
        using var fd = LayoutFiles.TryOpen(Root, "index.json");
        if (fd is null) return new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index, Manifests = new() };
        var what = $"{Root}/index.json";
        return Documents.ParseIndex(LayoutFiles.ReadAll(fd, BlobStore.MaxDocumentBytes, what), null, what);
    }

    /// <summary>Writes <paramref name="name"/> unless it exists (as anything: a link there is refused when it is read).</summary>
    void Place(string name, ReadOnlySpan<byte> content)
    {
        var path = Path.Combine(Root, name);
        if (Files.TryStat(null, path, follow: false, out _, out _)) return;
        var tmp = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            WriteNew(tmp, content);
            Files.RenameNoReplace(tmp, path);
        }
        catch (LinuxException e) when (e.Errno == Errno.EEXIST)
        {
            // Another process placed it first.
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
    }

    void WriteIndex(ImageIndex index)
    {
        var path = Path.Combine(Root, "index.json");
        var tmp = path + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            WriteNew(tmp, JsonOut.Document(index));
            // rename replaces index.json itself, a symlink there included, never what a link points at.
            FileSystem.Rename(tmp, path);
        }
        finally
        {
            FileSystem.TryDelete(tmp);
        }
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
        FileSystem.CreateDirectory(Root);
        var fd = Files.Open(Path.Combine(Root, ".lock"), O.RDWR | O.CREAT | O.NOFOLLOW | O.NONBLOCK, 0x180);
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
    public Descriptor Find(string? name) => Find(ReadIndex(), name, Root, "oci");

    /// <summary>The entry of <paramref name="index"/> that <paramref name="name"/> points at (the last one, as a later tag wins); with no name, the only entry.</summary>
    public static Descriptor Find(ImageIndex index, string? name, string where, string transport)
    {
        var manifests = index.Manifests ?? new();
        if (name is null)
        {
            if (manifests.Count == 1) return manifests[0];
            throw new ImageException($"{where}: {manifests.Count} images in the layout; name one ({transport}:{where}:NAME)");
        }
        return manifests.LastOrDefault(m => m.Annotations?.GetValueOrDefault(RefName) == name)
            ?? throw new ImageException($"{where}: no image named {Quote.Of(name)}");
    }

    public bool Untag(string name) => Update(index => index.Manifests!.RemoveAll(m => m.Annotations?.GetValueOrDefault(RefName) == name) > 0);

    /// <summary>
    /// Creates <paramref name="path"/> (O_EXCL, so never through a symlink someone put there: a
    /// layout may be another user's directory, and Berth writes as root) with <paramref name="content"/>.
    /// </summary>
    internal static void WriteNew(string path, ReadOnlySpan<byte> content) => FileSystem.WriteNew(path, content);
}
