using Berth.Images.Layers.Tar;
using System.Text;

namespace Berth.Images.Archives;

/// <summary>
/// Writes the archives Berth makes (oci-archive:, docker-archive:): regular files and symbolic
/// links, streamed — a member's size is given up front and its data copied through, so a
/// multi-GB layer never sits in memory. Every header is the same but for name, size and type
/// (mode 0444, uid and gid 0, mtime 0, as containers/image writes them), so the same image makes
/// the same archive. ustar, with a PAX record for a name or size ustar cannot hold.
/// </summary>
public sealed class TarWriter
{
    const int Block = 512;
    /// <summary>The largest size ustar's 11 octal digits hold (8 GiB - 1).</summary>
    const long MaxOctalSize = (1L << 33) - 1;

    readonly Stream _out;
    readonly byte[] _buffer = new byte[1 << 16];

    public TarWriter(Stream output) => _out = output;

    public void WriteFile(string name, ReadOnlySpan<byte> content)
    {
        WriteHeader(name, content.Length, '0', "");
        _out.Write(content);
        Pad(content.Length);
    }

    /// <summary>A member of <paramref name="size"/> bytes read from <paramref name="content"/> to its end; content of another length fails the archive.</summary>
    public void WriteFile(string name, long size, Stream content)
    {
        WriteHeader(name, size, '0', "");
        long copied = 0;
        int n;
        while ((n = content.Read(_buffer, 0, (int)Math.Min(_buffer.Length, size - copied + 1))) > 0)
        {
            copied += n;
            if (copied > size) throw new ImageException($"archive member {Quote.Of(name)}: more than the {size} bytes announced");
            _out.Write(_buffer, 0, n);
        }
        if (copied != size) throw new ImageException($"archive member {Quote.Of(name)}: {copied} bytes, {size} announced");
        Pad(size);
    }

    public void WriteSymlink(string name, string target) => WriteHeader(name, 0, '2', target);

    /// <summary>The two zero blocks that end an archive.</summary>
    public void Finish()
    {
        _out.Write(new byte[2 * Block]);
        _out.Flush();
    }

    void Pad(long size)
    {
        int pad = (int)((Block - size % Block) % Block);
        if (pad > 0) _out.Write(new byte[pad]);
    }

    void WriteHeader(string name, long size, char type, string link)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var linkBytes = Encoding.UTF8.GetBytes(link);
        var pax = new List<(string Key, string Value)>();
        if (nameBytes.Length > 100) pax.Add(("path", name));
        if (linkBytes.Length > 100) pax.Add(("linkpath", link));
        if (size > MaxOctalSize) pax.Add(("size", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (pax.Count > 0)
        {
            var records = new MemoryStream();
            foreach (var (key, value) in pax) records.Write(UstarBlock.PaxRecord(key, Encoding.UTF8.GetBytes(value)));
            var data = records.ToArray();
            _out.Write(Header(Encoding.UTF8.GetBytes("PaxHeaders/" + Tail(name)), data.Length, 'x', Array.Empty<byte>()));
            _out.Write(data);
            Pad(data.Length);
        }
        _out.Write(Header(nameBytes, Math.Min(size, MaxOctalSize), type, linkBytes));
    }

    static string Tail(string name)
    {
        var tail = name[(name.LastIndexOf('/') + 1)..];
        return tail.Length > 80 ? tail[..80] : tail;
    }

    /// <summary>Members are read-only files of root's, dated 0: an archive says nothing of who wrote it or when.</summary>
    static byte[] Header(byte[] name, long size, char type, byte[] link) =>
        UstarBlock.Header(name, type, 0x124 /* 0444 */, 0, 0, size, 0, link);
}
