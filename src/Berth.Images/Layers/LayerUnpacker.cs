using System.Formats.Tar;
using System.Text;
using Berth.Linux;

namespace Berth.Images.Layers;

/// <summary>How whiteouts are applied (image-spec layer.md, "Whiteouts").</summary>
public enum WhiteoutMode
{
    /// <summary>A plain rootfs: a whiteout deletes what lower layers put there.</summary>
    Apply,
    /// <summary>An overlay snapshot: a whiteout becomes a 0:0 character device, an opaque directory gets trusted.overlay.opaque=y.</summary>
    Overlay,
}

/// <summary>
/// Applies one layer's tar stream to a directory — the attack surface of an image toolkit, so:
/// every name is resolved inside the root (openat2 RESOLVE_IN_ROOT) and acted on through its
/// parent's descriptor; symlinks in the image are never followed on the host; ".." is
/// refused; hard links only reach inside; device nodes only when root; nothing replaces the
/// root itself (CVE-2021-29136). Ownership, modes, mtimes, xattrs (security.capability,
/// user.*) and sparse files are kept.
/// </summary>
public sealed class LayerUnpacker : IDisposable
{
    const string WhiteoutPrefix = ".wh.", OpaqueMarker = ".wh..wh..opq";

    readonly SafeFd _root;
    readonly WhiteoutMode _mode;
    readonly bool _privileged = Processes.EffectiveUid == 0;
    readonly HashSet<string> _thisLayer = new(StringComparer.Ordinal);
    /// <summary>Directory metadata, applied once the layer is done (the last entry for a path wins).</summary>
    readonly Dictionary<string, (uint Mode, uint Uid, uint Gid, DateTimeOffset MTime)> _dirs = new(StringComparer.Ordinal);
    readonly byte[] _buffer = new byte[1 << 16];

    public LayerUnpacker(string root, WhiteoutMode mode)
    {
        Directory.CreateDirectory(root);
        _root = Files.Open(root, O.PATH | O.DIRECTORY);
        _mode = mode;
    }

    /// <summary>One of an image's layers: unpacked, then its diff_id checked.</summary>
    public void Unpack(LayerStream layer)
    {
        Unpack(layer, layer.What);
        layer.Verify();
    }

    public void Unpack(Stream tar, string what)
    {
        _thisLayer.Clear();
        _dirs.Clear();
        using var reader = new TarReader(tar, leaveOpen: true);
        TarEntry? entry;
        while ((entry = ReadEntry(reader, what)) is not null)
        {
            try
            {
                Apply(entry);
            }
            catch (LinuxException e)
            {
                throw new ImageException($"{what}: entry \"{entry.Name}\": {e.Message}", e);
            }
            catch (ImageException e) when (!e.Message.StartsWith(what))
            {
                // (The layer stream's own errors, a size cap, already name the layer.)
                throw new ImageException($"{what}: {e.Message}", e);
            }
            catch (InvalidDataException e)
            {
                throw new ImageException($"{what}: entry \"{entry.Name}\": not a valid tar entry: {e.Message}", e);
            }
        }
        // Directory times last: creating their children changed them.
        foreach (var (path, d) in _dirs.OrderByDescending(d => d.Key.Length))
        {
            SafeFd fd;
            try
            {
                fd = InRoot.Open(_root, path, O.RDONLY | O.DIRECTORY | (path.Length == 0 ? 0 : O.NOFOLLOW));
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOTDIR or Errno.ELOOP or Errno.ENOENT)
            {
                continue; // a later entry replaced or removed it
            }
            using (fd)
            {
                SetOwnerAndMode(fd, d.Uid, d.Gid, d.Mode);
                FileMeta.SetTimes(fd, d.MTime);
            }
        }
    }

    /// <summary>The next header; a malformed one is the layer's error, named as such.</summary>
    static TarEntry? ReadEntry(TarReader reader, string what)
    {
        try
        {
            return reader.GetNextEntry(copyData: false);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or ArgumentException)
        {
            throw new ImageException($"{what}: not a valid tar stream: {e.Message}", e);
        }
    }

    /// <summary>"./a//b/" → "a/b"; "" is the root. ".." anywhere is refused rather than resolved.</summary>
    public static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") throw new ImageException($"entry \"{name}\": \"..\" in a layer path is not allowed");
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    static (string Dir, string Base) Split(string rel)
    {
        int slash = rel.LastIndexOf('/');
        return slash < 0 ? ("", rel) : (rel[..slash], rel[(slash + 1)..]);
    }

    /// <summary>The parent directory of <paramref name="rel"/>, made if missing, as a descriptor; links on the way resolve inside the root.</summary>
    SafeFd Parent(string rel) => InRoot.MkdirAll(_root, "/" + Split(rel).Dir);

    void Apply(TarEntry entry)
    {
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes) return;
        var attrs = (entry as PaxTarEntry)?.ExtendedAttributes;
        var rawName = attrs is not null && attrs.TryGetValue("GNU.sparse.name", out var sparseName) ? sparseName : entry.Name;
        var rel = Normalize(rawName);
        var (dirPart, name) = Split(rel);

        if (name.StartsWith(WhiteoutPrefix))
        {
            Whiteout(dirPart, name);
            return;
        }

        if (rel.Length == 0)
        {
            // The root itself: metadata only. A symlink or file named "/." would replace it (CVE-2021-29136).
            if (entry.EntryType != TarEntryType.Directory)
                throw new ImageException($"entry \"{entry.Name}\" would replace the root with a {entry.EntryType}");
            _dirs[""] = (Mode(entry), (uint)entry.Uid, (uint)entry.Gid, entry.ModificationTime);
            return;
        }

        using var parent = Parent(rel);
        _thisLayer.Add(rel);
        switch (entry.EntryType)
        {
            case TarEntryType.Directory:
                if (!Files.TryStat(parent, name, follow: false, out var st, out _) || !st.IsDirectory)
                {
                    FileTree.Remove(parent, name);
                    Files.MkdirAt(parent, name, 0x1c0);
                }
                _dirs[rel] = (Mode(entry), (uint)entry.Uid, (uint)entry.Gid, entry.ModificationTime);
                break;

            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                FileTree.Remove(parent, name);
                using (var file = Files.OpenAt(parent, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0x180))
                {
                    if (attrs is not null && SparseMap(attrs) is { } sparse) WriteSparse(file, entry.DataStream, sparse, attrs);
                    else CopyData(entry.DataStream, file);
                    SetOwnerAndMode(file, (uint)entry.Uid, (uint)entry.Gid, Mode(entry));
                    SetXattrs(file, attrs);
                    FileMeta.SetTimes(file, entry.ModificationTime);
                }
                break;

            case TarEntryType.SymbolicLink:
                FileTree.Remove(parent, name);
                Files.SymlinkAt(entry.LinkName, parent, name);
                if (_privileged) FileMeta.ChownAt(parent, name, (uint)entry.Uid, (uint)entry.Gid);
                FileMeta.SetTimesAt(parent, name, entry.ModificationTime);
                break;

            case TarEntryType.HardLink:
            {
                // The target is a name inside this root, resolved there like any other; never a host path.
                var target = Normalize(entry.LinkName);
                if (target.Length == 0) throw new ImageException($"entry \"{entry.Name}\": a hard link to the root");
                using var targetParent = InRoot.Open(_root, "/" + Split(target).Dir, O.PATH | O.DIRECTORY);
                FileTree.Remove(parent, name);
                FileMeta.LinkAt(targetParent, Split(target).Base, parent, name);
                break;
            }

            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                if (!_privileged) break; // mknod of a device needs CAP_MKNOD: skipped, as umoci's rootless unpack does
                FileTree.Remove(parent, name);
                var posix = (PosixTarEntry)entry;
                Files.MknodAt(parent, name, (entry.EntryType == TarEntryType.CharacterDevice ? FileStat.S_IFCHR : FileStat.S_IFBLK) | Mode(entry),
                    (uint)posix.DeviceMajor, (uint)posix.DeviceMinor);
                FinishNode(parent, name, entry);
                break;

            case TarEntryType.Fifo:
                FileTree.Remove(parent, name);
                Files.MknodAt(parent, name, FileStat.S_IFIFO | Mode(entry), 0, 0);
                FinishNode(parent, name, entry);
                break;

            case TarEntryType.SparseFile:
                throw new ImageException($"entry \"{entry.Name}\": old GNU sparse entries are not supported (PAX sparse 0.1 and 1.0 are)");

            default:
                // Other types (multi-volume, tape labels) carry nothing a rootfs can hold.
                break;
        }
    }

    void FinishNode(SafeFd parent, string name, TarEntry entry)
    {
        using var node = Files.OpenAt2(parent, name, O.PATH | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
        if (_privileged) FileMeta.ChownAt(parent, name, (uint)entry.Uid, (uint)entry.Gid);
        Files.Chmod(node.ProcPath, Mode(entry));
        FileMeta.SetTimesAt(parent, name, entry.ModificationTime);
    }

    static uint Mode(TarEntry e) => (uint)e.Mode & 0xfff;

    void SetOwnerAndMode(SafeFd fd, uint uid, uint gid, uint mode)
    {
        // chown first: it clears setuid and setgid bits, which the chmod then restores.
        if (_privileged) FileMeta.Chown(fd, uid, gid);
        FileMeta.Chmod(fd, mode);
    }

    /// <summary>
    /// Extended attributes from PAX SCHILY.xattr.*: security.capability (when root: it needs
    /// CAP_SETFCAP) and user.*, but never user.overlay.*, which would steer an overlay mounted
    /// with userxattr.
    /// </summary>
    void SetXattrs(SafeFd fd, IReadOnlyDictionary<string, string>? attrs)
    {
        if (attrs is null) return;
        foreach (var (key, value) in attrs)
        {
            if (!key.StartsWith("SCHILY.xattr.")) continue;
            var name = key[13..];
            bool allowed = name == "security.capability" ? _privileged : name.StartsWith("user.") && !name.StartsWith("user.overlay.");
            if (!allowed) continue;
            // PAX values are UTF-8 strings; System.Formats.Tar maps the raw bytes one-to-one through Latin-1 when they are not UTF-8.
            FileMeta.SetXattr(fd, name, Encoding.Latin1.GetBytes(value));
        }
    }

    void CopyData(Stream? data, SafeFd file)
    {
        if (data is null) return;
        int n;
        while ((n = data.Read(_buffer)) > 0) Files.WriteAll(file, _buffer.AsSpan(0, n));
    }

    /// <summary>A number in a sparse header or map; image content, so a bad one is the layer's error, not a crash.</summary>
    static long SparseNumber(string text) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, null, out var n) ? n : throw new ImageException($"sparse file: \"{text}\" is not a number");

    /// <summary>
    /// GNU sparse files in PAX headers: 0.1 has the map in "GNU.sparse.map"; 1.0 ("GNU.sparse.major"
    /// 1) puts it at the head of the data. Null for a file that is not sparse.
    /// </summary>
    static (List<(long Offset, long Size)> Map, bool MapInData)? SparseMap(IReadOnlyDictionary<string, string> attrs)
    {
        if (attrs.TryGetValue("GNU.sparse.map", out var map))
        {
            var n = map.Split(',').Select(SparseNumber).ToArray();
            return (Enumerable.Range(0, n.Length / 2).Select(i => (n[2 * i], n[2 * i + 1])).ToList(), false);
        }
        return attrs.TryGetValue("GNU.sparse.major", out var major) && major == "1" ? (new List<(long, long)>(), true) : null;
    }

    void WriteSparse(SafeFd file, Stream? data, (List<(long Offset, long Size)> Map, bool MapInData) sparse, IReadOnlyDictionary<string, string> attrs)
    {
        if (data is null) return;
        var map = sparse.Map;
        if (sparse.MapInData) ReadSparseMap(data, map);
        foreach (var (offset, size) in map)
        {
            long left = size, at = offset;
            while (left > 0)
            {
                int n = data.Read(_buffer.AsSpan(0, (int)Math.Min(left, _buffer.Length)));
                if (n == 0) throw new ImageException("sparse file shorter than its map");
                FileMeta.WriteAt(file, _buffer.AsSpan(0, n), at);
                at += n;
                left -= n;
            }
        }
        var real = attrs.TryGetValue("GNU.sparse.realsize", out var r) ? SparseNumber(r)
            : attrs.TryGetValue("GNU.sparse.size", out var s) ? SparseNumber(s) : 0;
        FileMeta.Truncate(file, real);
    }

    /// <summary>
    /// Sparse 1.0's map: decimal lines — the count, then offset and size pairs — padded to 512
    /// bytes. Read a byte at a time (it is short), capped at 1 MiB, and a map or padding cut
    /// short by the end of the entry is an error, not a wait.
    /// </summary>
    void ReadSparseMap(Stream data, List<(long Offset, long Size)> map)
    {
        var line = new StringBuilder();
        var numbers = new List<long>();
        long count = -1, consumed = 0;
        Span<byte> one = stackalloc byte[1];
        while (count < 0 || numbers.Count < 2 * count)
        {
            if (data.Read(one) != 1) throw new ImageException("sparse file: truncated map");
            if (++consumed > 1 << 20) throw new ImageException("sparse file: map too large");
            if (one[0] != '\n')
            {
                line.Append((char)one[0]);
                continue;
            }
            var value = SparseNumber(line.ToString());
            line.Clear();
            if (count < 0) count = value;
            else numbers.Add(value);
        }
        for (int i = 0; i < count; i++) map.Add((numbers[2 * i], numbers[2 * i + 1]));
        for (long pad = (512 - consumed % 512) % 512; pad > 0;)
        {
            int n = data.Read(_buffer.AsSpan(0, (int)Math.Min(pad, _buffer.Length)));
            if (n == 0) throw new ImageException("sparse file: truncated map padding");
            pad -= n;
        }
    }

    void Whiteout(string dirPart, string name)
    {
        if (name == OpaqueMarker)
        {
            if (_mode == WhiteoutMode.Overlay)
            {
                using var dir = InRoot.MkdirAll(_root, "/" + dirPart);
                using var rd = Files.OpenAt2(dir, ".", O.RDONLY | O.DIRECTORY, Resolve.Beneath);
                FileMeta.SetXattr(rd, "trusted.overlay.opaque", "y"u8);
                return;
            }
            // Opaque: what lower layers put in the directory goes, at any depth; what this layer put stays.
            if (!InRoot.TryOpen(_root, "/" + dirPart, out var d, O.RDONLY | O.DIRECTORY)) return;
            var holdsThisLayer = new HashSet<string>(StringComparer.Ordinal);
            foreach (var path in _thisLayer)
                for (int slash = path.LastIndexOf('/'); slash > 0; slash = path.LastIndexOf('/', slash - 1))
                    if (!holdsThisLayer.Add(path[..slash])) break;
            using (d) KeepOnlyThisLayer(d!, dirPart, holdsThisLayer);
            return;
        }
        var target = name[WhiteoutPrefix.Length..];
        if (target.Length == 0 || target is "." or ".." || target.Contains('/'))
            throw new ImageException($"whiteout \"{name}\" names no file");
        var rel = dirPart.Length == 0 ? target : $"{dirPart}/{target}";
        if (_mode == WhiteoutMode.Overlay)
        {
            using var parent = InRoot.MkdirAll(_root, "/" + dirPart);
            FileTree.Remove(parent, target);
            Files.MknodAt(parent, target, FileStat.S_IFCHR, 0, 0);
            return;
        }
        if (!InRoot.TryOpen(_root, "/" + dirPart, out var p, O.PATH | O.DIRECTORY)) return;
        using (p) FileTree.Remove(p!, target);
        _thisLayer.Remove(rel);
    }

    /// <summary>
    /// Removes what is in <paramref name="dir"/> but not from this layer: an entry this layer
    /// wrote stays, a directory on the way to one stays, and directories that stay are filtered
    /// the same way inside.
    /// </summary>
    void KeepOnlyThisLayer(SafeFd dir, string rel, HashSet<string> holdsThisLayer)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(dir.ProcPath).Select(Path.GetFileName).ToList())
        {
            var childRel = rel.Length == 0 ? child! : $"{rel}/{child}";
            if (!_thisLayer.Contains(childRel) && !holdsThisLayer.Contains(childRel))
            {
                FileTree.Remove(dir, child!);
                continue;
            }
            if (!Files.TryStat(dir, child!, follow: false, out var st, out _) || !st.IsDirectory) continue;
            using var sub = Files.OpenAt2(dir, child!, O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
            KeepOnlyThisLayer(sub, childRel, holdsThisLayer);
        }
    }

    public void Dispose() => _root.Dispose();
}
