using Berth.Images.Layers.Tar;
using System.Globalization;
using System.Text;
using Berth.Linux;

namespace Berth.Images.Layers;

/// <summary>
/// An overlay upper directory written as a layer tar in the image-spec's changeset format
/// (layer.md, "Change Types"): a whiteout device (char 0:0) becomes `.wh.NAME`, an opaque
/// directory (trusted.overlay.opaque=y) `DIR/.wh..wh..opq` after the directory itself. Modes,
/// owners, mtimes (whole seconds), symlinks, hard links and xattrs are kept, trusted.overlay.*
/// left out; entries in byte order of their names, each directory before its contents, so the
/// same tree makes the same tar. PAX records carry long names, large ids and xattrs.
/// </summary>
public sealed class Changeset
{
    const int Block = 512;
    const string WhiteoutPrefix = ".wh.", OpaqueMarker = ".wh..wh..opq";
    const long MaxOctal7 = (1L << 21) - 1, MaxOctal11 = (1L << 33) - 1;

    readonly Stream _out;
    readonly Func<string, FileStat, bool> _skip;
    readonly Dictionary<(uint, uint, ulong), string> _links = new();
    readonly byte[] _buffer = new byte[1 << 16];
    readonly BuildTimestamp? _timestamp;

    Changeset(Stream output, Func<string, FileStat, bool> skip, BuildTimestamp? timestamp)
    {
        _out = output;
        _skip = skip;
        _timestamp = timestamp;
    }

    /// <summary>
    /// Writes the changes under <paramref name="upper"/> to <paramref name="output"/>, ending the
    /// archive. <paramref name="skip"/> (path relative to the root, no leading slash) leaves out what
    /// is not the container's work, such as the stubs made for bind mounts. With
    /// <paramref name="timestamp"/> (a reproducible build) every mtime is clamped to it; the rest
    /// is reproducible already: names sorted, no owner names, no atime/ctime records.
    /// </summary>
    public static void Write(string upper, Stream output, Func<string, FileStat, bool>? skip = null, BuildTimestamp? timestamp = null)
    {
        var w = new Changeset(output, skip ?? ((_, _) => false), timestamp);
        using (var root = Files.Open(upper, O.RDONLY | O.DIRECTORY | O.NOFOLLOW))
            w.WriteDirectory(root, "");
        output.Write(new byte[2 * Block]);
        output.Flush();
    }

    void WriteDirectory(SafeFd dir, string prefix)
    {
        var names = FileSystem.Names(dir, prefix.Length == 0 ? "upper" : prefix);
        names.Sort((a, b) => CompareBytes(a, b));
        foreach (var name in names)
        {
            var path = prefix + name;
            var st = Files.Stat(dir, name, follow: false);
            if (_skip(path, st)) continue;
            if (st.IsCharDevice && st.RdevMajor == 0 && st.RdevMinor == 0)
            {
                Header(prefix + WhiteoutPrefix + name, '0', 0, 0, 0, 0, 0, "", null);
                continue;
            }
            switch (st.Mode & FileStat.S_IFMT)
            {
                case FileStat.S_IFDIR:
                {
                    using var sub = Files.OpenAt(dir, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
                    var xattrs = XattrsOf(sub, out bool opaque);
                    Header(path + "/", '5', st.Mode & 0xfff, st.Uid, st.Gid, 0, MTime(sub), "", xattrs);
                    if (opaque) Header(path + "/" + OpaqueMarker, '0', 0, 0, 0, 0, 0, "", null);
                    WriteDirectory(sub, path + "/");
                    break;
                }
                case FileStat.S_IFREG:
                {
                    if (st.Nlink > 1 && _links.TryGetValue((st.DevMajor, st.DevMinor, st.Ino), out var first))
                    {
                        Header(path, '1', st.Mode & 0xfff, st.Uid, st.Gid, 0, 0, first, null);
                        break;
                    }
                    if (st.Nlink > 1) _links[(st.DevMajor, st.DevMinor, st.Ino)] = path;
                    using var fd = Files.OpenAt(dir, name, O.RDONLY | O.NOFOLLOW);
                    var xattrs = XattrsOf(fd, out _);
                    Header(path, '0', st.Mode & 0xfff, st.Uid, st.Gid, (long)st.Size, MTime(fd), "", xattrs);
                    Copy(fd, path, (long)st.Size);
                    break;
                }
                case FileStat.S_IFLNK:
                {
                    using var fd = Files.OpenAt(dir, name, O.PATH | O.NOFOLLOW);
                    var target = Files.ReadLinkAt(dir, name) ?? throw new ImageException($"readlink {Quote.Of(path)} in the upper directory failed");
                    Header(path, '2', st.Mode & 0xfff, st.Uid, st.Gid, 0, MTime(fd), target, null);
                    break;
                }
                case FileStat.S_IFCHR or FileStat.S_IFBLK or FileStat.S_IFIFO:
                {
                    using var fd = Files.OpenAt(dir, name, O.PATH | O.NOFOLLOW);
                    char type = (st.Mode & FileStat.S_IFMT) switch { FileStat.S_IFCHR => '3', FileStat.S_IFBLK => '4', _ => '6' };
                    Header(path, type, st.Mode & 0xfff, st.Uid, st.Gid, 0, MTime(fd), "", null, st.RdevMajor, st.RdevMinor);
                    break;
                }
                // Sockets have no tar form (tar and containers/storage skip them too).
            }
        }
    }

    long MTime(SafeFd fd)
    {
        long t = FileCopy.ModificationTime(fd).ToUnixTimeSeconds();
        return _timestamp is { } ts ? ts.Clamp(t) : t;
    }

    /// <summary>The xattrs an image carries, in name order; trusted.overlay.* (and user.overlay.*, overlay with userxattr) are overlayfs's bookkeeping, not the file's.</summary>
    static List<(string Name, byte[] Value)> XattrsOf(SafeFd fd, out bool opaque)
    {
        opaque = false;
        var list = new List<(string, byte[])>();
        foreach (var raw in Xattrs.List(fd))
        {
            var name = Encoding.UTF8.GetString(raw);
            if (name.StartsWith("trusted.overlay.", StringComparison.Ordinal) || name.StartsWith("user.overlay.", StringComparison.Ordinal))
            {
                if (name.EndsWith(".overlay.opaque", StringComparison.Ordinal) && Xattrs.Get(fd, raw) is [(byte)'y']) opaque = true;
                continue;
            }
            if (Xattrs.Get(fd, raw) is { } value) list.Add((name, value));
        }
        list.Sort((a, b) => CompareBytes(a.Item1, b.Item1));
        return list;
    }

    static int CompareBytes(string a, string b) => Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b));

    void Copy(SafeFd fd, string path, long size)
    {
        long copied = 0;
        while (copied < size)
        {
            int n = Files.Read(fd, _buffer.AsSpan(0, (int)Math.Min(_buffer.Length, size - copied)));
            // The container is paused, so a file changing size under us is a writer outside it: the tar stays whole.
            if (n == 0) throw new ImageException($"{Quote.Of(path)} shrank while it was read ({copied} of {size} bytes)");
            _out.Write(_buffer, 0, n);
            copied += n;
        }
        int pad = (int)((Block - size % Block) % Block);
        if (pad > 0) _out.Write(new byte[pad]);
    }

    void Header(string name, char type, uint mode, uint uid, uint gid, long size, long mtime, string link,
        List<(string Name, byte[] Value)>? xattrs, uint devMajor = 0, uint devMinor = 0)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var linkBytes = Encoding.UTF8.GetBytes(link);
        var pax = new MemoryStream();
        if (nameBytes.Length > 100) pax.Write(UstarBlock.PaxRecord("path", nameBytes));
        if (linkBytes.Length > 100) pax.Write(UstarBlock.PaxRecord("linkpath", linkBytes));
        if (uid > MaxOctal7) pax.Write(UstarBlock.PaxRecord("uid", Ascii(uid)));
        if (gid > MaxOctal7) pax.Write(UstarBlock.PaxRecord("gid", Ascii(gid)));
        if (size > MaxOctal11) pax.Write(UstarBlock.PaxRecord("size", Ascii(size)));
        foreach (var (key, value) in xattrs ?? new()) pax.Write(UstarBlock.PaxRecord("SCHILY.xattr." + key, value));
        if (pax.Length > 0)
        {
            var data = pax.ToArray();
            var tail = name.TrimEnd('/');
            tail = tail[(tail.LastIndexOf('/') + 1)..];
            _out.Write(UstarBlock.Header(Encoding.UTF8.GetBytes("PaxHeaders/" + (tail.Length > 80 ? tail[..80] : tail)), 'x', 0x1a4, 0, 0, data.Length, 0, Array.Empty<byte>(), 0, 0));
            _out.Write(data);
            int pad = (Block - data.Length % Block) % Block;
            if (pad > 0) _out.Write(new byte[pad]);
        }
        _out.Write(UstarBlock.Header(nameBytes, type, mode, Math.Min(uid, (uint)MaxOctal7), Math.Min(gid, (uint)MaxOctal7), Math.Min(size, MaxOctal11), mtime, linkBytes, devMajor, devMinor));
    }

    static byte[] Ascii(long v) => Encoding.ASCII.GetBytes(v.ToString(CultureInfo.InvariantCulture));
}
