using System.Text;
using Berth.Images;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Linux;

namespace Berth.Supply.Rootfs;

/// <summary>
/// A root file system to catalog: a directory (<c>dir:ROOTFS</c>), or an image unpacked into a
/// private temporary directory that goes with the view. Files are opened with
/// openat2(RESOLVE_IN_ROOT), so an image's absolute or ".." symlinks never reach the host.
/// </summary>
public sealed class RootView : IDisposable
{
    /// <summary>Package databases are small; a larger "status" file is not one we read whole.</summary>
    public const long MaxFileBytes = 256L << 20;

    readonly SafeFd _root;
    readonly string? _owned;

    public string Path { get; }
    /// <summary>What was cataloged, as the user named it (an image reference or dir:PATH).</summary>
    public string Source { get; }
    /// <summary>The image's manifest digest, or null for a directory.</summary>
    public string? ImageDigest { get; private init; }
    /// <summary>Each layer's digest, bottom first, with the paths it added or replaced; empty for a directory.</summary>
    public IReadOnlyList<(string Digest, HashSet<string> Paths)> Layers { get; private init; } = Array.Empty<(string, HashSet<string>)>();

    RootView(string path, string source, string? owned)
    {
        Path = path;
        Source = source;
        _owned = owned;
        try { _root = Files.Open(path, O.PATH | O.DIRECTORY); }
        catch (LinuxException e) { throw new SupplyException($"{source}: {e.Message}", e); }
    }

    public static RootView Directory(string path, string? source = null) => new(System.IO.Path.GetFullPath(path), source ?? "dir:" + path, null);

    /// <summary>Unpacks every layer of <paramref name="reference"/> in order into a private directory, remembering which layer wrote each path.</summary>
    public static RootView Image(ImageService images, ImageReference reference, PlatformSpec? platform = null)
    {
        var temp = FileSystem.CreateTempDirectory("berth-sbom-");
        try
        {
            var rootfs = System.IO.Path.Combine(temp, "rootfs");
            using var src = ImageService.Open(reference);
            var image = ResolvedImage.Resolve(src, platform);
            var layers = new List<(string, HashSet<string>)>();
            using (var unpacker = new LayerUnpacker(rootfs, WhiteoutMode.Apply))
            {
                for (int i = 0; i < image.Layers.Count; i++)
                {
                    using var layer = LayerStream.Open(src, image.Layers[i], image.Config.Rootfs!.DiffIds![i], LayerStream.DefaultMaxBytes, images.Store.Root);
                    unpacker.Unpack(layer);
                    layers.Add((image.Layers[i].Digest!, new HashSet<string>(unpacker.LastLayerPaths, StringComparer.Ordinal)));
                }
            }
            if (!System.IO.Directory.Exists(rootfs)) FileSystem.CreateDirectory(rootfs);
            return new RootView(rootfs, reference.ToString()!, temp) { ImageDigest = image.ManifestDescriptor.Digest, Layers = layers };
        }
        catch
        {
            FileTree.Remove(temp);
            throw;
        }
    }

    /// <summary>The digest of the topmost layer that wrote <paramref name="path"/>, or null (a directory, or not known).</summary>
    public string? LayerOf(string path)
    {
        var rel = path.TrimStart('/');
        for (int i = Layers.Count - 1; i >= 0; i--)
            if (Layers[i].Paths.Contains(rel)) return Layers[i].Digest;
        return null;
    }

    /// <summary>The regular file at <paramref name="path"/> (inside the root), or null when there is none.</summary>
    public byte[]? TryRead(string path, long maxBytes = MaxFileBytes)
    {
        SafeFd fd;
        try { fd = InRoot.Open(_root, path, O.RDONLY | O.NONBLOCK | O.NOCTTY); }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EACCES or Errno.ENXIO) { return null; }
        using (fd)
        {
            var st = Files.Fstat(fd);
            if (!st.IsRegular) return null;
            if ((long)st.Size > maxBytes) throw new SupplyException($"{path}: {st.Size} bytes, more than the {maxBytes} read of a package file");
            return Files.ReadToEnd(fd);
        }
    }

    /// <summary>The regular file at <paramref name="path"/> opened for reading at offsets (a binary's header and one section), or null.</summary>
    public FdStream? TryOpen(string path)
    {
        SafeFd fd;
        try { fd = InRoot.Open(_root, path, O.RDONLY | O.NONBLOCK | O.NOCTTY); }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EACCES or Errno.ENXIO) { return null; }
        if (!Files.Fstat(fd).IsRegular)
        {
            fd.Dispose();
            return null;
        }
        return new FdStream(fd, path);
    }

    public string? TryReadText(string path, long maxBytes = MaxFileBytes) => TryRead(path, maxBytes) is { } b ? Encoding.UTF8.GetString(b) : null;

    /// <summary>The entries of the directory at <paramref name="path"/> (inside the root), or empty when there is none.</summary>
    public List<FileSystem.Entry> List(string path)
    {
        SafeFd fd;
        try { fd = InRoot.Open(_root, path, O.RDONLY | O.DIRECTORY); }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP or Errno.EACCES) { return new(); }
        using (fd) return FileSystem.Entries(fd, path);
    }

    /// <summary>
    /// Every regular file whose name <paramref name="wanted"/> accepts (given its directory and
    /// name), walking down without following any symlink; /proc, /sys and /dev are left out.
    /// </summary>
    public List<string> Find(Func<string, string, bool> wanted)
    {
        var found = new List<string>();
        var stack = new Stack<(SafeFd Fd, string Path)>();
        stack.Push((Files.OpenAt2(_root, ".", O.RDONLY | O.DIRECTORY, Resolve.InRoot), ""));
        while (stack.TryPop(out var dir))
        {
            using (dir.Fd)
            {
                List<FileSystem.Entry> entries;
                try { entries = FileSystem.Entries(dir.Fd, dir.Path); }
                catch (LinuxException) { continue; }
                entries.Sort((a, b) => string.CompareOrdinal(b.Name, a.Name));
                foreach (var e in entries)
                {
                    var child = dir.Path + "/" + e.Name;
                    bool isDir;
                    if (e.IsDirectory is { } known) isDir = known;
                    else isDir = Files.TryStat(dir.Fd, e.Name, follow: false, out var st, out _) && st.IsDirectory;
                    if (isDir)
                    {
                        if (dir.Path.Length == 0 && e.Name is "proc" or "sys" or "dev") continue;
                        try { stack.Push((Files.OpenAt(dir.Fd, e.Name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW), child)); }
                        catch (LinuxException) { }
                    }
                    else if (wanted(dir.Path.Length == 0 ? "/" : dir.Path, e.Name)) found.Add(child);
                }
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    public void Dispose()
    {
        _root.Dispose();
        if (_owned is not null) FileTree.Remove(_owned);
    }
}
