using System.Text;

namespace Berth.Images.Tests;

/// <summary>
/// Tar bytes built field by field, as a hostile or an unusual writer makes them: raw PAX values,
/// base-256 numbers, any typeflag, any size. (System.Formats.Tar's writer takes PAX values as
/// text and refuses what a parser must survive.)
/// </summary>
public sealed class RawTar
{
    readonly MemoryStream _ms = new();

    /// <summary>A header block; <paramref name="tweak"/> edits it before the checksum is computed (unless <paramref name="checksum"/> is false).</summary>
    public RawTar Header(string name, char type = '0', long size = 0, int mode = 0x1a4, long uid = 0, long gid = 0, long mtime = 1577934245,
        string link = "", bool gnu = false, Action<byte[]>? tweak = null, bool checksum = true)
    {
        var h = new byte[512];
        Put(h, 0, 100, Encoding.UTF8.GetBytes(name));
        Octal(h, 100, 8, mode);
        Octal(h, 108, 8, uid);
        Octal(h, 116, 8, gid);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, mtime);
        h[156] = (byte)type;
        Put(h, 157, 100, Encoding.UTF8.GetBytes(link));
        Put(h, 257, 8, gnu ? "ustar  \0"u8 : "ustar\u000000"u8);
        Octal(h, 329, 8, 0);
        Octal(h, 337, 8, 0);
        tweak?.Invoke(h);
        if (checksum) Checksum(h);
        _ms.Write(h);
        return this;
    }

    public static void Checksum(byte[] h)
    {
        for (int i = 148; i < 156; i++) h[i] = (byte)' ';
        int sum = h.Sum(b => b);
        Put(h, 148, 8, Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 "));
    }

    public static void Put(byte[] h, int at, int length, ReadOnlySpan<byte> value)
    {
        h.AsSpan(at, length).Clear();
        value[..Math.Min(value.Length, length)].CopyTo(h.AsSpan(at, length));
    }

    public static void Octal(byte[] h, int at, int length, long value) =>
        Put(h, at, length, Encoding.ASCII.GetBytes(Convert.ToString(value, 8).PadLeft(length - 1, '0') + "\0"));

    /// <summary>GNU base-256: the high bit of the first byte set, the value big-endian in the rest.</summary>
    public static void Base256(byte[] h, int at, int length, byte[] bigEndian)
    {
        h.AsSpan(at, length).Clear();
        bigEndian.CopyTo(h.AsSpan(at + length - bigEndian.Length));
        h[at] |= 0x80;
    }

    public RawTar Data(ReadOnlySpan<byte> data)
    {
        _ms.Write(data);
        _ms.Write(new byte[(512 - data.Length % 512) % 512]);
        return this;
    }

    public RawTar File(string name, string content, int mode = 0x1a4) => File(name, Encoding.UTF8.GetBytes(content), mode);

    public RawTar File(string name, byte[] content, int mode = 0x1a4) => Header(name, '0', content.Length, mode).Data(content);

    /// <summary>A PAX extended header ('x') applying to the next entry.</summary>
    public RawTar Pax(params (string Key, byte[] Value)[] records)
    {
        var data = records.SelectMany(r => Record(r.Key, r.Value)).ToArray();
        return Header("PaxHeaders/x", 'x', data.Length).Data(data);
    }

    public static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>"%d %s=%s\n", the length counting itself.</summary>
    public static byte[] Record(string key, byte[] value)
    {
        // Latin-1: a key's chars are its bytes, so a test can write any byte into a name.
        var body = Encoding.Latin1.GetBytes(" " + key + "=").Concat(value).Append((byte)'\n').ToArray();
        int length = body.Length + 1;
        while ((length.ToString().Length + body.Length) != length) length = length.ToString().Length + body.Length;
        return Encoding.ASCII.GetBytes(length.ToString()).Concat(body).ToArray();
    }

    public RawTar Raw(ReadOnlySpan<byte> bytes)
    {
        _ms.Write(bytes);
        return this;
    }

    /// <summary>The archive with its end: two zero blocks.</summary>
    public byte[] Bytes(bool end = true)
    {
        var bytes = _ms.ToArray();
        return end ? bytes.Concat(new byte[1024]).ToArray() : bytes;
    }
}
