using Berth.Images.Layers.Tar;
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
/// user.*, byte for byte) and sparse files are kept.
/// </summary>
public sealed class LayerUnpacker : IDisposable
{
    const string WhiteoutPrefix = ".wh.", OpaqueMarker = ".wh..wh..opq";

    readonly SafeFd _root;
    readonly WhiteoutMode _mode;
    readonly IReadOnlyList<string> _lowers;
    readonly bool _privileged = Processes.EffectiveUid == 0;
    /// <summary>What this layer wrote, and the directories on the way to it: a whiteout leaves both (layer.md: whiteouts apply to lower layers only).</summary>
    readonly HashSet<string> _thisLayer = new(StringComparer.Ordinal);

    /// <summary>The paths (relative, normalized) the layer last unpacked wrote: what an SBOM names as the layer that introduced a file.</summary>
    public IReadOnlyCollection<string> LastLayerPaths => _thisLayer;
    readonly HashSet<string> _holdsThisLayer = new(StringComparer.Ordinal);
    /// <summary>Overlay mode: what this layer's whiteouts hide, so that a later entry of the same layer under one makes it an opaque directory.</summary>
    readonly HashSet<string> _whitedOut = new(StringComparer.Ordinal);
    /// <summary>Directory metadata, applied once the layer is done (the last entry for a path wins).</summary>
    readonly Dictionary<string, DirMeta> _dirs = new(StringComparer.Ordinal);
    readonly byte[] _buffer = new byte[1 << 16];
    /// <summary>The lower snapshots merged, made when a hard link first needs them (overlay mode).</summary>
    LowerView? _lowerView;

    readonly record struct DirMeta(uint Mode, uint Uid, uint Gid, DateTimeOffset MTime, IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs);

    /// <param name="lowers">In overlay mode, the snapshots below this one, topmost first: where a hard link finds a target this layer does not hold.</param>
    public LayerUnpacker(string root, WhiteoutMode mode, IReadOnlyList<string>? lowers = null)
    {
        FileSystem.CreateDirectory(root);
        _root = Files.Open(root, O.PATH | O.DIRECTORY);
        _mode = mode;
        _lowers = lowers ?? Array.Empty<string>();
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
        _holdsThisLayer.Clear();
        _whitedOut.Clear();
        _dirs.Clear();
        var reader = new TarReader(tar);
        TarHeader? entry = null;
        try
        {
            while ((entry = reader.Next()) is not null)
            {
                try
                {
                    Apply(entry, reader.Data);
                }
                catch (ImageException e) when (!e.Message.StartsWith("entry \"", StringComparison.Ordinal) && !e.Message.StartsWith(what, StringComparison.Ordinal))
                {
                    throw new ImageException($"entry {Quote.Of(entry.Name)}: {e.Message}", e);
                }
            }
            ApplyDirectoryMetadata();
        }
        catch (ImageException e) when (!e.Message.StartsWith(what, StringComparison.Ordinal))
        {
            // (The layer stream's own errors, a size cap, already name the layer.)
            throw new ImageException($"{what}: {e.Message}", e);
        }
        catch (LinuxException e)
        {
            // The path in a system call's error is the image's name too: quoted like it.
            var call = e.Path is null ? e.Operation : $"{e.Operation} {Quote.Of(e.Path)}";
            throw new ImageException($"{what}: entry {Quote.Of(entry?.Name)}: {call}: {Errnos.Describe(e.Errno)}", e);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // gzip's complaints (InvalidDataException, worded for zip archives) and read errors of the blob.
            var problem = e is InvalidDataException ? $"the compressed data is corrupt ({e.Message.TrimEnd('.')})" : e.Message;
            throw new ImageException($"{what}{(entry is null ? "" : $": entry {Quote.Of(entry.Name)}")}: {problem}", e);
        }
        finally
        {
            _lowerView?.Dispose();
            _lowerView = null;
        }
    }

    /// <summary>Directory metadata last: creating their children changed their times.</summary>
    void ApplyDirectoryMetadata()
    {
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
                SetXattrs(fd, d.Xattrs);
                FileMeta.SetTimes(fd, d.MTime);
            }
        }
    }

    /// <summary>"./a//b/" → "a/b"; "" is the root. ".." anywhere is refused rather than resolved.</summary>
    public static string Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..") throw new ImageException($"entry {Quote.Of(name)}: \"..\" in a layer path is not allowed");
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

    static DirMeta Meta(TarHeader h) => new(h.Mode, h.Uid, h.Gid, h.ModificationTime, h.Xattrs);

    void Apply(TarHeader entry, Stream data)
    {
        // Multi-volume parts, tape labels, vendor types: nothing a rootfs holds.
        if (entry.Type == TarType.Other) return;
        var rel = Normalize(entry.Name);
        var (dirPart, name) = Split(rel);

        if (name.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            Whiteout(dirPart, name);
            return;
        }

        if (rel.Length == 0)
        {
            // The root itself: metadata only. A symlink or file named "/." would replace it (CVE-2021-29136).
            if (entry.Type != TarType.Directory)
                throw new ImageException($"entry {Quote.Of(entry.Name)} would replace the root with a {entry.Type}");
            _dirs[""] = Meta(entry);
            return;
        }

        if (_whitedOut.Count > 0) ReopenWhitedOut(rel, entry.Type == TarType.Directory);
        using var parent = Parent(rel);
        MarkThisLayer(rel);
        switch (entry.Type)
        {
            case TarType.Directory:
                if (!Files.TryStat(parent, name, follow: false, out var st, out _) || !st.IsDirectory)
                {
                    FileTree.Remove(parent, name);
                    Files.MkdirAt(parent, name, 0x1c0);
                }
                _dirs[rel] = Meta(entry);
                break;

            case TarType.Regular:
                FileTree.Remove(parent, name);
                using (var file = Files.OpenAt(parent, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0x180))
                {
                    if (entry.Sparse is { } map) WriteSparse(file, data, map, entry.RealSize);
                    else CopyData(data, file);
                    SetOwnerAndMode(file, entry.Uid, entry.Gid, entry.Mode);
                    // After chown and chmod: both clear security.capability.
                    SetXattrs(file, entry.Xattrs);
                    FileMeta.SetTimes(file, entry.ModificationTime);
                }
                break;

            case TarType.Symlink:
                FileTree.Remove(parent, name);
                Files.SymlinkAt(entry.LinkName, parent, name);
                if (_privileged) FileMeta.ChownAt(parent, name, entry.Uid, entry.Gid);
                FileMeta.SetTimesAt(parent, name, entry.ModificationTime);
                break;

            case TarType.HardLink:
            {
                // The target is a name inside this root, resolved there like any other; never a host path.
                var target = Normalize(entry.LinkName);
                if (target.Length == 0) throw new ImageException($"entry {Quote.Of(entry.Name)}: a hard link to the root");
                if (_mode == WhiteoutMode.Overlay && _lowers.Count > 0 && !HeldByThisSnapshot(target)) CopyUp(target);
                using var targetParent = InRoot.Open(_root, "/" + Split(target).Dir, O.PATH | O.DIRECTORY);
                FileTree.Remove(parent, name);
                FileMeta.LinkAt(targetParent, Split(target).Base, parent, name);
                break;
            }

            case TarType.CharDevice or TarType.BlockDevice:
                if (!_privileged) break; // mknod of a device needs CAP_MKNOD: skipped, as umoci's rootless unpack does
                FileTree.Remove(parent, name);
                Files.MknodAt(parent, name, (entry.Type == TarType.CharDevice ? FileStat.S_IFCHR : FileStat.S_IFBLK) | entry.Mode,
                    entry.DevMajor, entry.DevMinor);
                FinishNode(parent, name, entry);
                break;

            case TarType.Fifo:
                FileTree.Remove(parent, name);
                Files.MknodAt(parent, name, FileStat.S_IFIFO | entry.Mode, 0, 0);
                FinishNode(parent, name, entry);
                break;
        }
    }

    void MarkThisLayer(string rel)
    {
        _thisLayer.Add(rel);
        for (int slash = rel.LastIndexOf('/'); slash > 0; slash = rel.LastIndexOf('/', slash - 1))
            if (!_holdsThisLayer.Add(rel[..slash])) break;
    }

    /// <summary>
    /// Overlay mode: an entry under (or at, for a directory) a path this layer whited out. In a
    /// plain rootfs the whiteout removed the lower directory and the entry makes a new one; in a
    /// snapshot the whiteout device becomes a directory marked opaque, which is the same to overlayfs.
    /// </summary>
    void ReopenWhitedOut(string rel, bool isDirectory)
    {
        var parts = rel.Split('/');
        var path = "";
        for (int i = 0; i < parts.Length - (isDirectory ? 0 : 1); i++)
        {
            path = path.Length == 0 ? parts[i] : $"{path}/{parts[i]}";
            if (!_whitedOut.Remove(path)) continue;
            var (dir, name) = Split(path);
            using var parent = InRoot.MkdirAll(_root, "/" + dir);
            FileTree.Remove(parent, name);
            Files.MkdirAt(parent, name, 0x1ed);
            using var made = Files.OpenAt2(parent, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
            FileMeta.SetXattr(made, "trusted.overlay.opaque", "y"u8);
        }
    }

    void FinishNode(SafeFd parent, string name, TarHeader entry)
    {
        using var node = Files.OpenAt2(parent, name, O.PATH | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
        if (_privileged) FileMeta.ChownAt(parent, name, entry.Uid, entry.Gid);
        Files.Chmod(node.ProcPath, entry.Mode);
        FileMeta.SetTimesAt(parent, name, entry.ModificationTime);
    }

    void SetOwnerAndMode(SafeFd fd, uint uid, uint gid, uint mode)
    {
        // chown first: it clears setuid and setgid bits, which the chmod then restores.
        if (_privileged) FileMeta.Chown(fd, uid, gid);
        FileMeta.Chmod(fd, mode);
    }

    /// <summary>
    /// Which extended attributes an image may set: security.capability when root (it needs
    /// CAP_SETFCAP), and user.*, but never user.overlay.*, which would steer an overlay mounted
    /// with userxattr. Names and values are bytes, passed to the kernel as they are.
    /// </summary>
    bool AllowedXattr(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("security.capability"u8) ? _privileged : name.StartsWith("user."u8) && !name.StartsWith("user.overlay."u8);

    void SetXattrs(SafeFd fd, IReadOnlyList<(byte[] Name, byte[] Value)> xattrs)
    {
        foreach (var (name, value) in xattrs)
            if (AllowedXattr(name)) Xattrs.Set(fd, name, value);
    }

    void CopyData(Stream data, SafeFd file)
    {
        int n;
        while ((n = data.Read(_buffer)) > 0) Files.WriteAll(file, _buffer.AsSpan(0, n));
    }

    /// <summary>A sparse file: each fragment written at its offset (the reader checked the map against the data), the holes left as holes.</summary>
    void WriteSparse(SafeFd file, Stream data, IReadOnlyList<SparseFragment> map, long realSize)
    {
        foreach (var (offset, length) in map)
        {
            long left = length, at = offset;
            while (left > 0)
            {
                int n = data.Read(_buffer.AsSpan(0, (int)Math.Min(left, _buffer.Length)));
                if (n == 0) throw new ImageException("sparse file shorter than its map");
                FileMeta.WriteAt(file, _buffer.AsSpan(0, n), at);
                at += n;
                left -= n;
            }
        }
        FileMeta.Truncate(file, realSize);
    }

    /// <summary>
    /// Whether a hard link's target is this snapshot's to give (overlay mode): it holds the
    /// target, or holds what hides the lower ones (a whiteout, an opaque directory, a
    /// non-directory on the way), so the link resolves here as in a plain rootfs. False when
    /// the target can only be in a lower snapshot.
    /// </summary>
    bool HeldByThisSnapshot(string target)
    {
        var parts = target.Split('/');
        using var dir = Files.OpenAt2(_root, ".", O.PATH | O.DIRECTORY, Resolve.Beneath);
        var current = dir;
        var opened = new List<SafeFd>();
        try
        {
            for (int i = 0; i < parts.Length; i++)
            {
                if (!Files.TryStat(current, parts[i], follow: false, out var st, out _)) return false;
                if (IsWhiteout(st)) throw new ImageException($"hard link target {Quote.Of(target)} was deleted by this layer");
                if (i == parts.Length - 1 || !st.IsDirectory) return true;
                var next = Files.OpenAt2(current, parts[i], O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
                opened.Add(next);
                if (Xattrs.Get(next, "trusted.overlay.opaque"u8) is [(byte)'y']) return true;
                current = next;
            }
            return true;
        }
        finally
        {
            foreach (var fd in opened) fd.Dispose();
        }
    }

    static bool IsWhiteout(FileStat st) => st.IsCharDevice && st.RdevMajor == 0 && st.RdevMinor == 0;

    /// <summary>
    /// A hard link in overlay mode to a file of a lower snapshot: overlayfs cannot link across
    /// layers, so the file is copied up into this snapshot first — content, holes, owner, mode,
    /// times and xattrs, and its missing parent directories with theirs — and the link made
    /// here, which is what overlayfs itself does for link(2) in a mounted overlay (and what
    /// containerd's overlay snapshots get by applying layers on one). Both names then share one
    /// inode in this snapshot, as in a plain rootfs.
    /// </summary>
    void CopyUp(string target)
    {
        _lowerView ??= LowerView.Open(_lowers);
        var parts = target.Split('/');
        var dir = Files.OpenAt2(_root, ".", O.PATH | O.DIRECTORY, Resolve.Beneath);
        try
        {
            var walked = "";
            foreach (var part in parts[..^1])
            {
                walked = walked.Length == 0 ? part : $"{walked}/{part}";
                if (!Files.TryStat(dir, part, follow: false, out _, out _))
                {
                    Files.MkdirAt(dir, part, 0x1c0);
                    using var from = _lowerView.Find(walked, O.RDONLY | O.DIRECTORY);
                    var meta = CopyMetadata(from, Files.OpenAt2(dir, part, O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks), disposeTo: true);
                    // Its times are set again when the layer is done: entries made inside change them.
                    _dirs.TryAdd(walked, meta);
                }
                var next = Files.OpenAt2(dir, part, O.PATH | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
                dir.Dispose();
                dir = next;
            }
            var name = parts[^1];
            using var source = _lowerView.Find(target, O.PATH | O.NOFOLLOW);
            var st = Files.Fstat(source);
            if (st.IsDirectory) throw new ImageException($"hard link target {Quote.Of(target)} is a directory");
            if (st.IsRegular)
            {
                using var src = Files.Open(source.ProcPath, O.RDONLY);
                var dst = Files.OpenAt(dir, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0x180);
                FileCopy.Content(src, dst);
                CopyMetadata(src, dst, disposeTo: true);
            }
            else if (st.IsSymlink)
            {
                Files.SymlinkAt(Files.ReadLinkAt(source, "") ?? throw new LinuxException(Errno.EINVAL, "readlink", target), dir, name);
                if (_privileged) FileMeta.ChownAt(dir, name, st.Uid, st.Gid);
                FileMeta.SetTimesAt(dir, name, FileCopy.ModificationTime(source));
            }
            else
            {
                // A device, FIFO or socket: made anew (devices only when root, as for any entry).
                bool device = (st.Mode & FileStat.S_IFMT) is FileStat.S_IFCHR or FileStat.S_IFBLK;
                if (device && !_privileged) throw new ImageException($"hard link target {Quote.Of(target)} is a device node, which only root can make");
                Files.MknodAt(dir, name, st.Mode, st.RdevMajor, st.RdevMinor);
                if (_privileged) FileMeta.ChownAt(dir, name, st.Uid, st.Gid);
                using var node = Files.OpenAt2(dir, name, O.PATH | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
                Files.Chmod(node.ProcPath, st.Mode & 0xfff);
                FileMeta.SetTimesAt(dir, name, FileCopy.ModificationTime(source));
            }
        }
        finally
        {
            dir.Dispose();
        }
    }

    /// <summary>Owner, mode, the xattrs an image may set, and times of <paramref name="from"/> onto <paramref name="to"/> (both opened for I/O).</summary>
    DirMeta CopyMetadata(SafeFd from, SafeFd to, bool disposeTo)
    {
        try
        {
            var st = Files.Fstat(from);
            var xattrs = Xattrs.List(from).Where(n => AllowedXattr(n)).Select(n => (n, Xattrs.Get(from, n) ?? Array.Empty<byte>())).ToList();
            var mtime = FileCopy.ModificationTime(from);
            SetOwnerAndMode(to, st.Uid, st.Gid, st.Mode & 0xfff);
            SetXattrs(to, xattrs);
            FileMeta.SetTimes(to, mtime);
            return new DirMeta(st.Mode & 0xfff, st.Uid, st.Gid, mtime, xattrs);
        }
        finally
        {
            if (disposeTo) to.Dispose();
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
            using (d) KeepOnlyThisLayer(d!, dirPart);
            return;
        }
        var target = name[WhiteoutPrefix.Length..];
        if (target.Length == 0 || target is "." or ".." || target.Contains('/'))
            throw new ImageException($"whiteout {Quote.Of(name)} names no file");
        var rel = dirPart.Length == 0 ? target : $"{dirPart}/{target}";
        if (_thisLayer.Contains(rel) || _holdsThisLayer.Contains(rel))
        {
            // layer.md: whiteouts apply to lower layers only. What this layer put at the path stays;
            // if that is a directory, what lower layers had in it goes (the lower directory was deleted).
            WhiteOutBelow(rel);
            return;
        }
        if (_mode == WhiteoutMode.Overlay)
        {
            using var parent = InRoot.MkdirAll(_root, "/" + dirPart);
            FileTree.Remove(parent, target);
            Files.MknodAt(parent, target, FileStat.S_IFCHR, 0, 0);
            _whitedOut.Add(rel);
            return;
        }
        if (!InRoot.TryOpen(_root, "/" + dirPart, out var p, O.PATH | O.DIRECTORY)) return;
        using (p) FileTree.Remove(p!, target);
    }

    /// <summary>A whiteout of a directory this layer wrote into: the lower layers' content of it goes, this layer's stays.</summary>
    void WhiteOutBelow(string rel)
    {
        SafeFd d;
        try
        {
            d = InRoot.Open(_root, "/" + rel, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP)
        {
            return; // a file or a link: this layer's, kept as it is
        }
        using (d)
        {
            if (_mode == WhiteoutMode.Overlay) FileMeta.SetXattr(d, "trusted.overlay.opaque", "y"u8);
            else KeepOnlyThisLayer(d, rel);
        }
    }

    /// <summary>
    /// Removes what is in <paramref name="dir"/> but not from this layer: an entry this layer
    /// wrote stays, a directory on the way to one stays, and directories that stay are filtered
    /// the same way inside.
    /// </summary>
    void KeepOnlyThisLayer(SafeFd dir, string rel)
    {
        foreach (var child in FileSystem.Names(dir, rel.Length == 0 ? "/" : "/" + rel))
        {
            var childRel = rel.Length == 0 ? child! : $"{rel}/{child}";
            if (!_thisLayer.Contains(childRel) && !_holdsThisLayer.Contains(childRel))
            {
                FileTree.Remove(dir, child!);
                continue;
            }
            if (!Files.TryStat(dir, child!, follow: false, out var st, out _) || !st.IsDirectory) continue;
            using var sub = Files.OpenAt2(dir, child!, O.RDONLY | O.DIRECTORY | O.NOFOLLOW, Resolve.Beneath | Resolve.NoSymlinks);
            KeepOnlyThisLayer(sub, childRel);
        }
    }

    public void Dispose()
    {
        _lowerView?.Dispose();
        _root.Dispose();
    }
}
