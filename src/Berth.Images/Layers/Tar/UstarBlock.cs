using System.Globalization;
using System.Text;

namespace Berth.Images.Layers.Tar;

/// <summary>
/// The blocks a tar writer emits (POSIX ustar with pax extended records): one 512-byte header,
/// and the records of a pax 'x' entry. What does not fit a ustar field (a name or link over 100
/// bytes, big ids or sizes) the writer puts in pax records and clamps here.
/// </summary>
public static class UstarBlock
{
    public const int Size = 512;

    /// <summary>A ustar header; device numbers only for character and block devices ('3', '4').</summary>
    public static byte[] Header(ReadOnlySpan<byte> name, char type, uint mode, uint uid, uint gid, long size, long mtime,
        ReadOnlySpan<byte> link, uint devMajor = 0, uint devMinor = 0)
    {
        var h = new byte[Size];
        name[..Math.Min(name.Length, 100)].CopyTo(h);
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, gid);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, Math.Max(0, mtime));
        h.AsSpan(148, 8).Fill((byte)' ');
        h[156] = (byte)type;
        link[..Math.Min(link.Length, 100)].CopyTo(h.AsSpan(157));
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        if (type is '3' or '4')
        {
            Octal(h, 329, 8, devMajor);
            Octal(h, 337, 8, devMinor);
        }
        // The checksum is taken with its own field as spaces, then written as 6 digits, NUL, space.
        int sum = 0;
        foreach (var b in h) sum += b;
        Octal(h, 148, 7, sum);
        h[155] = (byte)' ';
        return h;
    }

    /// <summary>"LEN key=value\n", LEN counting itself (POSIX pax); the value is bytes (an xattr's).</summary>
    public static byte[] PaxRecord(string key, ReadOnlySpan<byte> value)
    {
        var k = Encoding.UTF8.GetBytes(key);
        int body = 1 + k.Length + 1 + value.Length + 1;
        int len = body + 1;
        while (len.ToString(CultureInfo.InvariantCulture).Length + body > len) len++;
        var r = new MemoryStream(len);
        r.Write(Encoding.ASCII.GetBytes(len.ToString(CultureInfo.InvariantCulture) + " "));
        r.Write(k);
        r.WriteByte((byte)'=');
        r.Write(value);
        r.WriteByte((byte)'\n');
        return r.ToArray();
    }

    /// <summary>Zero-padded octal in <paramref name="length"/>-1 digits and a NUL.</summary>
    static void Octal(byte[] h, int at, int length, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(length - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(h, at);
        h[at + length - 1] = 0;
    }
}
