using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Berth.Linux;

namespace Berth.Engine.Build.Context;

/// <summary>What a COPY/ADD source list selected in a context, and its content digest (a cache key's input).</summary>
public sealed class ContextMatch
{
    readonly BuildContext _context;

    public IReadOnlyList<MatchedSource> Sources { get; }

    /// <summary>Each source's entries in order: the source itself, then (a directory) what is under it, depth first, names in byte order.</summary>
    public IReadOnlyList<ContextEntry> Entries { get; }

    internal ContextMatch(BuildContext context, IReadOnlyList<MatchedSource> sources, IReadOnlyList<ContextEntry> entries)
    {
        _context = context;
        Sources = sources;
        Entries = entries;
    }

    /// <summary>
    /// SHA-256 over every entry as the copy will make it: its source's real path and its path
    /// under it, its type and mode (<paramref name="chmod"/> for the permission bits when given),
    /// owner (<paramref name="uid"/>:<paramref name="gid"/>, docker's 0:0 when not), size, content
    /// or link target. Modification times are left out (a fresh checkout hits the cache), and so
    /// are xattrs (COPY does not carry them). One hash and one buffer for the whole set: this runs
    /// for every COPY of every build, cached or not.
    /// </summary>
    public string Digest(uint? uid = null, uint? gid = null, uint? chmod = null)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        Span<byte> head = stackalloc byte[4 + 4 + 4 + 8 + 4];
        foreach (var e in Entries)
        {
            // The source's path, NUL, the entry's path under it: the destination's names come from both.
            int length = Encoding.UTF8.GetByteCount(e.Source.Path) + 1 + Encoding.UTF8.GetByteCount(e.Relative);
            if (length + 4 > buffer.Length) buffer = new byte[length + 4];
            BinaryPrimitives.WriteInt32LittleEndian(buffer, length);
            int at = 4 + Encoding.UTF8.GetBytes(e.Source.Path, buffer.AsSpan(4));
            buffer[at++] = 0;
            at += Encoding.UTF8.GetBytes(e.Relative, buffer.AsSpan(at));
            hash.AppendData(buffer.AsSpan(0, at));

            var st = e.Stat;
            uint mode = chmod is { } m && !st.IsSymlink ? (st.Mode & FileStat.S_IFMT) | (m & 0xfff) : st.Mode;
            ulong size = st.IsRegular ? st.Size : 0;
            BinaryPrimitives.WriteUInt32LittleEndian(head, mode);
            BinaryPrimitives.WriteUInt32LittleEndian(head[4..], uid ?? 0);
            BinaryPrimitives.WriteUInt32LittleEndian(head[8..], gid ?? 0);
            BinaryPrimitives.WriteUInt64LittleEndian(head[12..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(head[20..], (st.RdevMajor << 20) | st.RdevMinor);
            hash.AppendData(head);

            if (st.IsRegular) HashContent(hash, e, size, buffer);
            else if (e.LinkTarget is { } target)
            {
                var bytes = Encoding.UTF8.GetBytes(target);
                BinaryPrimitives.WriteInt32LittleEndian(head, bytes.Length);
                hash.AppendData(head[..4]);
                hash.AppendData(bytes);
            }
        }
        return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    void HashContent(IncrementalHash hash, ContextEntry e, ulong size, byte[] buffer)
    {
        using var fd = _context.OpenRead(e);
        ulong total = 0;
        int n;
        while ((n = Files.Read(fd, buffer)) > 0)
        {
            total += (ulong)n;
            // A file growing while it is hashed: the key would not name what is copied.
            if (total > size) break;
            hash.AppendData(buffer.AsSpan(0, n));
        }
        if (total != size)
            throw new EngineException($"build context {Path.Combine(_context.Root, e.ContextPath)}: changed while it was read ({size} bytes when listed)");
    }
}
