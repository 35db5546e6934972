using Berth.Images.Layers.Tar;
using Berth.Images.Store;
using Berth.Linux;

namespace Berth.Images.Archives;

/// <summary>
/// An archive (oci-archive:, docker-archive:) read in place: one pass over its headers, seeking
/// past the data, records where each member's bytes are; a member is then read straight from the
/// file by offset, so nothing is extracted and several members can be open at once. Names are
/// cleaned ("./blobs/x" is "blobs/x"); a symbolic or hard link inside the archive is followed to
/// the member it names (lexically, never on the host), as `docker save` links repeated layers.
/// A whole archive compressed with gzip or zstd (`docker save | gzip`) is first decompressed into
/// an unnamed file.
/// </summary>
public sealed class TarIndex : IDisposable
{
    readonly record struct Member(TarType Type, long Offset, long Size, string LinkName);

    const int MaxLinkHops = 16;

    readonly FdStream _file;
    readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);

    public string Path { get; }

    TarIndex(string path, FdStream file)
    {
        Path = path;
        _file = file;
    }

    /// <param name="scratch">A private directory for the decompressed copy of a compressed archive.</param>
    public static TarIndex Open(string path, string scratch)
    {
        var file = LayoutFiles.OpenUserFd(path);
        try
        {
            file = Decompressed(file, scratch);
            var index = new TarIndex(path, file);
            var reader = new TarReader(file);
            while (reader.Next() is { } e)
            {
                // A sparse member's bytes are not one run of the file: no archive of images holds one.
                if (e.Sparse is not null || e.Type is not (TarType.Regular or TarType.Symlink or TarType.HardLink)) continue;
                if (Clean(e.Name) is not { Length: > 0 } name) continue;
                // The last member of a name wins, as when the archive is extracted.
                index._members[name] = new Member(e.Type, reader.Offset, e.Size, e.LinkName);
            }
            return index;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The archive itself, or an unnamed decompressed copy of it when it starts with a gzip or zstd magic number.</summary>
    static FdStream Decompressed(FdStream file, string scratch)
    {
        Span<byte> magic = stackalloc byte[4];
        int n = file.ReadAt(magic, 0);
        bool gzip = n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        bool zstd = n == 4 && magic.SequenceEqual(new byte[] { 0x28, 0xb5, 0x2f, 0xfd });
        if (!gzip && !zstd) return file;
        var copy = new FdStream(Transports.VerifiedBlob.ScratchFile(scratch), $"the decompressed copy of {file.What}", read: true, write: true);
        try
        {
            using (file)
            using (Stream inflate = gzip ? new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionMode.Decompress) : new Layers.ZstdStream(file))
                inflate.CopyTo(copy, 1 << 16);
            copy.Position = 0;
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }

    /// <summary>"./a//b/../c" → "a/c", lexically; null when it climbs above the archive's root.</summary>
    public static string? Clean(string name)
    {
        var parts = new List<string>();
        foreach (var p in name.Split('/'))
        {
            if (p.Length == 0 || p == ".") continue;
            if (p == "..")
            {
                if (parts.Count == 0) return null;
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(p);
        }
        return string.Join('/', parts);
    }

    public IEnumerable<string> Names => _members.Keys;

    /// <summary>The regular member <paramref name="name"/> is, links followed; null when there is none.</summary>
    Member? Resolve(string name)
    {
        var current = Clean(name);
        for (int hop = 0; hop <= MaxLinkHops && current is not null; hop++)
        {
            if (!_members.TryGetValue(current, out var m)) return null;
            switch (m.Type)
            {
                case TarType.Regular:
                    return m;
                case TarType.HardLink:
                    // A hard link names its target from the archive's root.
                    current = Clean(m.LinkName);
                    break;
                default:
                    // A symbolic link is relative to its own directory; an absolute one to the archive's root.
                    int slash = current.LastIndexOf('/');
                    current = Clean(m.LinkName.StartsWith('/') ? m.LinkName : (slash < 0 ? "" : current[..slash]) + "/" + m.LinkName);
                    break;
            }
        }
        if (current is not null) throw new ImageException($"{Path}: {Quote.Of(name)}: more than {MaxLinkHops} links in a row inside the archive");
        return null;
    }

    public bool Has(string name) => Resolve(name) is not null;

    public long? SizeOf(string name) => Resolve(name)?.Size;

    /// <summary>The member's bytes as a stream of its own (a position of its own on the shared file); null when there is no such member.</summary>
    public Stream? Open(string name) => Resolve(name) is { } m ? new MemberStream(_file, m.Offset, m.Size) : null;

    /// <summary>A small member (manifest.json, a config) whole, refused past <paramref name="max"/> bytes.</summary>
    public byte[]? ReadAll(string name, long max)
    {
        if (Resolve(name) is not { } m) return null;
        if (m.Size > max) throw new ImageException($"{Path}: {Quote.Of(name)} is {m.Size} bytes, more than {max} for a document");
        var bytes = new byte[m.Size];
        using var s = new MemberStream(_file, m.Offset, m.Size);
        s.ReadExactly(bytes);
        return bytes;
    }

    public void Dispose() => _file.Dispose();

    /// <summary>A run of the archive file, read with pread: no shared position, so members are read independently.</summary>
    sealed class MemberStream(FdStream file, long offset, long size) : Layers.ReadOnlyStream
    {
        long _read;

        public override int Read(Span<byte> buffer)
        {
            if (_read == size || buffer.Length == 0) return 0;
            int n = file.ReadAt(buffer[..(int)Math.Min(buffer.Length, size - _read)], offset + _read);
            if (n == 0) throw new ImageException($"archive member ends {size - _read} bytes early (the file was truncated)");
            _read += n;
            return n;
        }
    }
}
