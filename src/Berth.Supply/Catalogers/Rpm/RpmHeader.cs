using System.Buffers.Binary;
using System.Text;

namespace Berth.Supply.Catalogers.Rpm;

/// <summary>
/// One package's header as the rpmdb stores it (rpm's header.c, "header blob"): the index entry
/// count and data length (big-endian int32s), that many 16-byte entries (tag, type, offset, count),
/// then the data store. Only the types a cataloger reads are decoded.
/// </summary>
public sealed class RpmHeader
{
    public const int Name = 1000, Version = 1001, Release = 1002, Epoch = 1003, Vendor = 1011, License = 1014, Packager = 1015,
        FileModes = 1030, FileDigests = 1035, Arch = 1022, SourceRpm = 1044, DirIndexes = 1116, BaseNames = 1117, DirNames = 1118, FileDigestAlgo = 5011;
    const int TypeInt16 = 3, TypeInt32 = 4, TypeString = 6, TypeStringArray = 8, TypeI18nString = 9;

    readonly Dictionary<int, (int Type, int Offset, int Count)> _entries = new();
    readonly byte[] _data;
    readonly string _what;

    public RpmHeader(byte[] blob, string what)
    {
        _what = what;
        if (blob.Length < 8) throw Bad("shorter than its preamble");
        int il = BinaryPrimitives.ReadInt32BigEndian(blob), dl = BinaryPrimitives.ReadInt32BigEndian(blob.AsSpan(4));
        if (il < 0 || dl < 0 || 8L + 16L * il + dl > blob.Length) throw Bad($"{il} entries and {dl} bytes of data do not fit in {blob.Length} bytes");
        int dataStart = 8 + 16 * il;
        _data = blob.AsSpan(dataStart, dl).ToArray();
        for (int i = 0; i < il; i++)
        {
            var e = blob.AsSpan(8 + 16 * i, 16);
            int tag = BinaryPrimitives.ReadInt32BigEndian(e), type = BinaryPrimitives.ReadInt32BigEndian(e[4..]);
            int offset = BinaryPrimitives.ReadInt32BigEndian(e[8..]), count = BinaryPrimitives.ReadInt32BigEndian(e[12..]);
            if (offset < 0 || offset > dl || count < 0) throw Bad($"tag {tag}: offset {offset}, count {count} outside the data");
            _entries.TryAdd(tag, (type, offset, count));
        }
    }

    SupplyException Bad(string detail) => new($"{_what}: rpm header: {detail}");

    public string? String(int tag)
    {
        if (!_entries.TryGetValue(tag, out var e)) return null;
        // An i18n string's first entry is the C locale's.
        if (e.Type is not (TypeString or TypeI18nString or TypeStringArray)) return null;
        return Strings(e.Offset, 1, tag)[0];
    }

    public List<string> StringArray(int tag)
    {
        if (!_entries.TryGetValue(tag, out var e) || e.Type is not (TypeStringArray or TypeI18nString or TypeString)) return new();
        return Strings(e.Offset, e.Type == TypeString ? 1 : e.Count, tag);
    }

    List<string> Strings(int offset, int count, int tag)
    {
        var list = new List<string>(Math.Min(count, 1 << 16));
        int at = offset;
        for (int i = 0; i < count; i++)
        {
            int end = at < _data.Length ? Array.IndexOf(_data, (byte)0, at) : -1;
            if (end < 0) throw Bad($"tag {tag}: string {i} is not terminated inside the data");
            list.Add(Encoding.UTF8.GetString(_data, at, end - at));
            at = end + 1;
        }
        return list;
    }

    public List<long> Integers(int tag)
    {
        if (!_entries.TryGetValue(tag, out var e)) return new();
        int width = e.Type switch { TypeInt16 => 2, TypeInt32 => 4, _ => 0 };
        if (width == 0) return new();
        if ((long)e.Offset + (long)width * e.Count > _data.Length) throw Bad($"tag {tag}: {e.Count} integers run past the data");
        var list = new List<long>(e.Count);
        for (int i = 0; i < e.Count; i++)
        {
            var s = _data.AsSpan(e.Offset + i * width);
            list.Add(width == 2 ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadInt32BigEndian(s));
        }
        return list;
    }

    public long? Integer(int tag) => Integers(tag) is { Count: > 0 } l ? l[0] : null;
}
