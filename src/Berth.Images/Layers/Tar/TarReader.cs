using System.Text;
using System.Text.Unicode;

namespace Berth.Images.Layers.Tar;

/// <summary>
/// Reads a tar stream entry by entry with the rules of Go's archive/tar (the reader of containerd,
/// podman and the registries' tools): ustar, pax and GNU headers, GNU long names, PAX sparse
/// files 0.0, 0.1 and 1.0 and old GNU sparse files. System.Formats.Tar is not used for layers: it
/// decodes PAX values as text (a binary xattr loses every byte ≥ 0x80, so a file capability
/// changes), lets numbers overflow into exceptions and skips a PAX uid or mtime it cannot parse.
/// Here a record stays bytes until the unpacker needs it, every number is range-checked, and a
/// bad header is one <see cref="ImageException"/> naming the entry or byte offset and the field.
/// </summary>
public sealed class TarReader
{
    const int Block = 512;

    /// <summary>Cap on a PAX header, a GNU long name or a sparse map (archive/tar's maxSpecialFileSize).</summary>
    public const int MaxSpecialBytes = 1 << 20;

    /// <summary>The largest id: 2^32-1 is (uid_t)-1, which chown(2) reads as "leave unchanged".</summary>
    public const uint MaxId = uint.MaxValue - 1;

    /// <summary>Device numbers as the kernel's 32-bit dev_t holds them (12-bit major, 20-bit minor); more would alias another device.</summary>
    const long MaxMajor = (1 << 12) - 1, MaxMinor = (1 << 20) - 1;

    /// <summary>The seconds DateTimeOffset holds (years 1 to 9999).</summary>
    static readonly long MinSeconds = DateTimeOffset.MinValue.ToUnixTimeSeconds(), MaxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    readonly Stream _stream;
    readonly byte[] _block = new byte[Block];
    byte[]? _skip;
    long _offset;    // bytes consumed from the stream
    long _remaining; // data of the current entry not read yet
    long _padding;   // then the padding to the next block
    string _name = "";
    bool _end;

    public TarReader(Stream stream)
    {
        _stream = stream;
        Data = new DataStream(this);
    }

    /// <summary>The current entry's data (a sparse file's fragments, one after the other); ends where the entry does.</summary>
    public Stream Data { get; }

    /// <summary>Bytes of the stream consumed; right after <see cref="Next"/>, where the entry's data starts (an archive's index reads members there).</summary>
    public long Offset => _offset;

    /// <summary>The next entry, its extension headers applied; null at the end of the archive.</summary>
    public TarHeader? Next()
    {
        if (_end) return null;
        Skip(_remaining);
        Skip(_padding);
        _remaining = _padding = 0;
        PaxRecords? pax = null;
        string? longName = null, longLink = null;
        while (true)
        {
            long at = _offset;
            bool end = !ReadBlock(at) || _block.AsSpan().IndexOfAnyExcept((byte)0) < 0;
            if (end && (pax is not null || longName is not null || longLink is not null))
                throw new ImageException($"tar header at byte {at}: the archive ends after an extension header, with no entry for it");
            if (_offset == at)
            {
                _end = true;
                return null;
            }
            if (end)
            {
                // The end: two zero blocks, or one and the end of the stream.
                if (ReadBlock(_offset) && _block.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
                    throw new ImageException($"tar header at byte {at + Block}: data after a zero block");
                _end = true;
                return null;
            }
            var h = new Fields(_block, at);
            h.VerifyChecksum();
            long size = h.Number(124, 12, "size");
            if (size < 0) throw h.Error($"size {size} is negative");
            switch ((char)_block[156])
            {
                case 'x':
                    (pax ??= new PaxRecords()).Parse(ReadSpecial(size, "pax header", at), at);
                    continue;
                case 'g':
                    // Global records: archive/tar returns them as entries that apply to nothing; so do we.
                    Skip(size + Padding(size));
                    continue;
                case 'L':
                    longName = h.Text(CString(ReadSpecial(size, "GNU long name", at)), "GNU long name");
                    continue;
                case 'K':
                    longLink = h.Text(CString(ReadSpecial(size, "GNU long link name", at)), "GNU long link name");
                    continue;
            }
            return Entry(h, size, pax, longName, longLink);
        }
    }

    TarHeader Entry(Fields h, long size, PaxRecords? pax, string? longName, string? longLink)
    {
        char flag = (char)_block[156];
        var format = h.Format;

        // The name first, so that every later error names the entry. GNU long names win over PAX paths, as in archive/tar.
        var name = h.Text(h.String(0, 100), "name");
        if (format == Format.Ustar && h.String(345, 155) is { Length: > 0 } prefix) name = h.Text(prefix, "prefix") + "/" + name;
        var linkName = h.Text(h.String(157, 100), "linkname");
        if (pax?.Text("path", h) is { } p) name = p;
        if (pax?.Text("linkpath", h) is { } l) linkName = l;
        name = longName ?? name;
        linkName = longLink ?? linkName;
        _name = h.Name = name;

        var type = flag switch
        {
            '0' or '7' or 'S' => TarType.Regular,
            '\0' => name.EndsWith('/') ? TarType.Directory : TarType.Regular,
            '1' => TarType.HardLink,
            '2' => TarType.Symlink,
            '3' => TarType.CharDevice,
            '4' => TarType.BlockDevice,
            '5' or 'D' => TarType.Directory, // D: a GNU dump directory, its data a listing
            '6' => TarType.Fifo,
            _ => TarType.Other,
        };

        long mode = h.Number(100, 8, "mode"), uid = h.Number(108, 8, "uid"), gid = h.Number(116, 8, "gid");
        long seconds = h.Number(136, 12, "mtime"), nanoseconds = 0;
        long major = 0, minor = 0;
        if (type is TarType.CharDevice or TarType.BlockDevice && format != Format.V7)
        {
            major = h.Number(329, 8, "devmajor");
            minor = h.Number(337, 8, "devminor");
        }
        long realSize = -1;
        if (flag == 'S')
        {
            if (format != Format.Gnu) throw h.Error("an old GNU sparse entry ('S') in a header that is not GNU's");
            realSize = h.Number(483, 12, "realsize");
        }
        if (pax is not null)
        {
            if (pax.Decimal("size", h) is { } s) size = s;
            if (pax.Decimal("uid", h) is { } u) uid = u;
            if (pax.Decimal("gid", h) is { } g) gid = g;
            if (pax.Get("mtime") is { } t) (seconds, nanoseconds) = PaxTime(t, h);
        }

        if (mode < 0 || mode > uint.MaxValue) throw h.Error($"mode {mode} is out of range");
        CheckId(uid, "uid", h);
        CheckId(gid, "gid", h);
        if (seconds < MinSeconds || seconds > MaxSeconds) throw h.Error($"mtime {seconds} is out of range ({MinSeconds}..{MaxSeconds})");
        if (major is < 0 or > MaxMajor) throw h.Error($"devmajor {major} is out of range (0..{MaxMajor})");
        if (minor is < 0 or > MaxMinor) throw h.Error($"devminor {minor} is out of range (0..{MaxMinor})");
        if (size < 0) throw h.Error($"size {size} is negative");

        // Old GNU sparse maps continue in extension blocks before the data (this reads over the header block: every field is parsed by now).
        List<SparseFragment>? sparse = flag == 'S' ? ReadOldGnuSparseMap(h) : null;

        // Links, devices, directories and FIFOs carry no data, whatever their size field says (archive/tar's isHeaderOnlyType).
        if (type is not (TarType.Regular or TarType.Other)) size = 0;
        _remaining = size;
        _padding = Padding(size);

        if (sparse is null && pax?.SparseVersion(h) is { } version)
        {
            if (type != TarType.Regular) throw h.Error($"a sparse map on a {type} entry");
            if (pax.Text("GNU.sparse.name", h) is { Length: > 0 } sparseName) _name = h.Name = name = sparseName;
            realSize = (pax.Decimal("GNU.sparse.size", h) ?? pax.Decimal("GNU.sparse.realsize", h)) ?? -1;
            sparse = version == 1 ? ReadSparseMap1(h) : pax.SparseMap0(h);
        }
        if (sparse is not null)
        {
            if (realSize < 0) realSize = sparse.Count == 0 ? 0 : sparse[^1].Offset + sparse[^1].Length;
            ValidateSparse(sparse, realSize, _remaining, h);
            size = _remaining;
        }

        return new TarHeader
        {
            Type = type, TypeFlag = flag, Name = name, LinkName = linkName, Mode = (uint)mode & 0xfff,
            Uid = (uint)uid, Gid = (uint)gid, ModificationTime = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanoseconds / 100),
            DevMajor = (uint)major, DevMinor = (uint)minor, Size = size, Sparse = sparse, RealSize = Math.Max(realSize, 0),
            Xattrs = pax?.Xattrs() ?? (IReadOnlyList<(byte[], byte[])>)Array.Empty<(byte[], byte[])>(),
        };
    }

    static void CheckId(long id, string field, Fields h)
    {
        if (id < 0 || id > MaxId)
            throw h.Error(id == uint.MaxValue
                ? $"{field} {id} is not a valid id (2^32-1 is the kernel's \"no change\")"
                : $"{field} {id} is not a valid id (0..{MaxId})");
    }

    /// <summary>A PAX time: seconds, optionally signed, with an optional decimal fraction (nanoseconds kept).</summary>
    static (long Seconds, long Nanoseconds) PaxTime(byte[] value, Fields h)
    {
        var text = Encoding.Latin1.GetString(value);
        var (whole, fraction) = text.IndexOf('.') is >= 0 and var dot ? (text[..dot], text[(dot + 1)..]) : (text, "");
        bool negative = whole.StartsWith('-');
        var digits = negative ? whole[1..] : whole;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit)
            || !long.TryParse(digits, System.Globalization.NumberStyles.None, null, out var seconds))
            throw h.Error($"pax mtime \"{Printable(value)}\" is not a time");
        long nanos = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], System.Globalization.NumberStyles.None);
        // -1.5 is 1.5 s before the epoch: -2 s plus 0.5 s.
        if (negative && nanos > 0) return (-seconds - 1, 1_000_000_000 - nanos);
        return (negative ? -seconds : seconds, nanos);
    }

    /// <summary>Old GNU sparse: four fragments in the header, then extension blocks of 21 while isextended is set.</summary>
    List<SparseFragment> ReadOldGnuSparseMap(Fields h)
    {
        var map = new List<SparseFragment>();
        int at = 386, count = 4, extendedAt = 482, blocks = 0;
        var block = _block;
        while (true)
        {
            var f = new Fields(block, h.At) { Name = h.Name };
            for (int i = 0; i < count; i++)
            {
                // An entry whose offset starts with NUL ends the list (GNU and BSD tar's rule).
                if (block[at + 24 * i] == 0) break;
                map.Add(new SparseFragment(f.Number(at + 24 * i, 12, "sparse offset"), f.Number(at + 24 * i + 12, 12, "sparse numbytes")));
            }
            if (block[extendedAt] == 0) return map;
            if (++blocks > MaxSpecialBytes / Block) throw h.Error($"old GNU sparse map longer than {MaxSpecialBytes} bytes");
            if (!ReadBlock(_offset)) throw h.Error("the archive ends inside the sparse map");
            (at, count, extendedAt) = (0, 21, 504);
        }
    }

    /// <summary>
    /// Sparse 1.0 keeps its map at the head of the data: decimal lines, the count then offset and
    /// length pairs, padded to a block. The count is checked against the cap before anything is
    /// allocated or read for it.
    /// </summary>
    List<SparseFragment> ReadSparseMap1(Fields h)
    {
        var text = new List<byte>();
        var numbers = new List<long>();
        long count = -1, read = 0;
        Span<byte> block = stackalloc byte[Block];
        while (count < 0 || numbers.Count < 2 * count)
        {
            if ((read += Block) > MaxSpecialBytes) throw h.Error($"sparse map longer than {MaxSpecialBytes} bytes");
            if (_remaining < Block) throw h.Error("the entry ends inside its sparse map");
            ReadExactly(block);
            foreach (var c in block)
            {
                if (c != '\n')
                {
                    text.Add(c);
                    continue;
                }
                var n = SparseNumber(text, h);
                text.Clear();
                if (count < 0)
                {
                    // Every fragment takes at least 4 bytes ("0\n0\n"): more than the cap allows is refused before anything is held for it.
                    if (n > MaxSpecialBytes / 4) throw h.Error($"sparse map of {n} fragments is more than the {MaxSpecialBytes}-byte cap holds");
                    count = n;
                }
                else if (numbers.Count < 2 * count) numbers.Add(n);
            }
        }
        var map = new List<SparseFragment>((int)count);
        for (int i = 0; i < count; i++) map.Add(new SparseFragment(numbers[2 * i], numbers[2 * i + 1]));
        return map;
    }

    static long SparseNumber(List<byte> text, Fields h)
    {
        var s = Encoding.Latin1.GetString(text.ToArray());
        return s.Length > 0 && s.All(char.IsAsciiDigit) && long.TryParse(s, System.Globalization.NumberStyles.None, null, out var n)
            ? n : throw h.Error($"sparse map: \"{Printable(text.ToArray())}\" is not a number");
    }

    /// <summary>Fragments in order, not overlapping, inside the file, and holding exactly the data the entry carries (archive/tar's validateSparseEntries).</summary>
    static void ValidateSparse(List<SparseFragment> map, long realSize, long data, Fields h)
    {
        if (realSize < 0) throw h.Error($"sparse file size {realSize} is negative");
        long end = 0, total = 0;
        foreach (var (offset, length) in map)
        {
            if (offset < 0 || length < 0) throw h.Error($"sparse fragment {offset}+{length} is negative");
            if (offset > long.MaxValue - length) throw h.Error($"sparse fragment {offset}+{length} overflows");
            if (offset + length > realSize) throw h.Error($"sparse fragment {offset}+{length} ends past the file's size {realSize}");
            if (offset < end) throw h.Error($"sparse fragment at {offset} overlaps or precedes the one before it");
            end = offset + length;
            total += length;
        }
        if (total != data) throw h.Error($"the sparse map holds {total} bytes of data, the entry {data}");
    }

    /// <summary>The data of an extension header, whole: capped, since it is held in memory.</summary>
    byte[] ReadSpecial(long size, string what, long at)
    {
        if (size > MaxSpecialBytes) throw new ImageException($"tar header at byte {at}: a {what} of {size} bytes (more than {MaxSpecialBytes})");
        var data = new byte[size];
        _remaining = size;
        _name = what;
        ReadExactly(data);
        Skip(Padding(size));
        return data;
    }

    static long Padding(long size) => (Block - size % Block) % Block;

    static byte[] CString(byte[] data) => data.AsSpan().IndexOf((byte)0) is >= 0 and var nul ? data[..nul] : data;

    /// <summary>One 512-byte block; false at the end of the stream before it.</summary>
    bool ReadBlock(long at)
    {
        int n = 0, got;
        while (n < Block && (got = _stream.Read(_block, n, Block - n)) > 0) n += got;
        _offset += n;
        if (n == 0) return false;
        if (n < Block) throw new ImageException($"tar header at byte {at}: the archive ends inside it ({n} of {Block} bytes)");
        return true;
    }

    void ReadExactly(Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = ReadData(buffer);
            if (n == 0) throw Truncated();
            buffer = buffer[n..];
        }
    }

    internal int ReadData(Span<byte> buffer)
    {
        if (_remaining == 0 || buffer.Length == 0) return 0;
        int n = _stream.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        if (n == 0) throw Truncated();
        _remaining -= n;
        _offset += n;
        return n;
    }

    ImageException Truncated() =>
        new($"entry {Quote.Of(_name)}: the archive ends {_remaining} bytes before the end of its data (truncated at byte {_offset})");

    /// <summary>Reads past <paramref name="n"/> bytes (the rest of an entry's data, its padding); the end of the stream before them is the entry's truncation.</summary>
    void Skip(long n)
    {
        if (n > 0 && _stream.CanSeek)
        {
            // An archive on disk: its members' data is passed over, not read (an index of a multi-GB archive reads its headers only).
            long left = _stream.Length - _stream.Position;
            if (n > left)
            {
                _stream.Seek(0, SeekOrigin.End);
                _offset += left;
                _remaining = n - left;
                throw Truncated();
            }
            _stream.Seek(n, SeekOrigin.Current);
            _offset += n;
            return;
        }
        _skip ??= new byte[1 << 14];
        while (n > 0)
        {
            int got = _stream.Read(_skip, 0, (int)Math.Min(n, _skip.Length));
            if (got == 0)
            {
                _remaining = n;
                throw Truncated();
            }
            n -= got;
            _offset += got;
        }
    }

    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes.Length > 64 ? bytes[..64] : bytes) sb.Append(b is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\' ? (char)b : $"\\x{b:x2}");
        if (bytes.Length > 64) sb.Append("...");
        return sb.ToString();
    }

    enum Format { V7, Ustar, Gnu }

    /// <summary>The fields of one header block, read as archive/tar reads them, with errors that name the entry or the header's offset.</summary>
    sealed class Fields(byte[] block, long at)
    {
        public long At { get; } = at;
        public string? Name { get; set; }

        public ImageException Error(string problem) =>
            new(Name is null ? $"tar header at byte {At}: {problem}" : $"entry {Quote.Of(Name)}: {problem}");

        public Format Format =>
            block.AsSpan(257, 8).SequenceEqual("ustar\000"u8) ? Format.Ustar
            : block.AsSpan(257, 8).SequenceEqual("ustar  \0"u8) ? Format.Gnu
            : Format.V7;

        /// <summary>Sum of the header with the checksum field as spaces, unsigned or (as some old tars wrote it) signed.</summary>
        public void VerifyChecksum()
        {
            long stored = Number(148, 8, "checksum");
            long unsigned = 0, signed = 0;
            for (int i = 0; i < Block; i++)
            {
                byte b = i is >= 148 and < 156 ? (byte)' ' : block[i];
                unsigned += b;
                signed += (sbyte)b;
            }
            if (stored != unsigned && stored != signed) throw Error($"checksum {stored} does not match the header's ({unsigned})");
        }

        /// <summary>
        /// A numeric field: octal text padded with spaces or NULs, or (first byte's high bit set)
        /// big-endian base-256 two's complement, as GNU tar writes ids and sizes that octal cannot
        /// hold. Anything beyond a signed 64-bit number is an error, not a wrap.
        /// </summary>
        public long Number(int offset, int length, string field)
        {
            var f = block.AsSpan(offset, length);
            if ((f[0] & 0x80) != 0)
            {
                byte invert = (f[0] & 0x40) != 0 ? (byte)0xff : (byte)0;
                ulong x = 0;
                for (int i = 0; i < f.Length; i++)
                {
                    byte c = (byte)(f[i] ^ invert);
                    if (i == 0) c &= 0x7f;
                    if (x >> 56 != 0) throw Error($"{field}: base-256 number beyond 64 bits");
                    x = x << 8 | c;
                }
                if (x >> 63 != 0) throw Error($"{field}: base-256 number beyond 64 bits");
                return invert == 0 ? (long)x : ~(long)x;
            }
            var text = f.Trim(" \0"u8);
            ulong v = 0;
            foreach (var c in text)
            {
                if (c is < (byte)'0' or > (byte)'7') throw Error($"{field}: \"{Printable(f)}\" is not an octal number");
                if (v > long.MaxValue >> 3) throw Error($"{field}: octal number beyond 64 bits");
                v = v * 8 + (uint)(c - '0');
            }
            return (long)v;
        }

        /// <summary>A NUL-terminated string field, as bytes.</summary>
        public byte[] String(int offset, int length)
        {
            var f = block.AsSpan(offset, length);
            return (f.IndexOf((byte)0) is >= 0 and var nul ? f[..nul] : f).ToArray();
        }

        /// <summary>
        /// A name as the file system will get it. Invalid UTF-8 is refused: decoded lossily, two
        /// names could become one (a whiteout hitting another file), and the rootfs would differ
        /// from the image.
        /// </summary>
        public string Text(byte[] bytes, string field) =>
            Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : throw Error($"{field} \"{Printable(bytes)}\" is not valid UTF-8");
    }

    /// <summary>
    /// PAX records ("%d %s=%s\n"), keys as Latin-1 text (so their bytes survive), values as raw
    /// bytes. The sparse 0.0 offset/numbytes records repeat and are kept in order, as archive/tar keeps them.
    /// </summary>
    sealed class PaxRecords
    {
        readonly Dictionary<string, byte[]> _values = new(StringComparer.Ordinal);
        readonly List<byte[]> _sparse0 = new();

        public void Parse(ReadOnlySpan<byte> data, long at)
        {
            ImageException Bad(string problem) => new($"pax header at byte {at}: {problem}");
            while (data.Length > 0)
            {
                int space = data.IndexOf((byte)' ');
                if (space <= 0 || space > 19 || !IsDigits(data[..space])) throw Bad("a record without its length");
                long length = long.Parse(data[..space], System.Globalization.NumberStyles.None);
                if (length < 5 || length > data.Length || length <= space + 1) throw Bad($"record length {length} does not fit the header");
                var record = data[(space + 1)..(int)length];
                if (record[^1] != '\n') throw Bad("a record not ended by a newline");
                record = record[..^1];
                int eq = record.IndexOf((byte)'=');
                if (eq <= 0) throw Bad("a record without a key");
                var key = Encoding.Latin1.GetString(record[..eq]);
                var value = record[(eq + 1)..].ToArray();
                if (key.Contains('\0')) throw Bad($"key \"{Printable(record[..eq])}\" holds a NUL");
                if (key is "path" or "linkpath" or "uname" or "gname" && value.AsSpan().IndexOf((byte)0) >= 0) throw Bad($"{key} holds a NUL");
                if (key is "GNU.sparse.offset" or "GNU.sparse.numbytes")
                {
                    if ((_sparse0.Count % 2 == 0) != (key == "GNU.sparse.offset") || value.AsSpan().IndexOf((byte)',') >= 0)
                        throw Bad("GNU.sparse.offset and GNU.sparse.numbytes out of order");
                    _sparse0.Add(value);
                }
                else _values[key] = value;
                data = data[(int)length..];
            }
        }

        static bool IsDigits(ReadOnlySpan<byte> s)
        {
            foreach (var c in s) if (c is < (byte)'0' or > (byte)'9') return false;
            return s.Length > 0;
        }

        public byte[]? Get(string key) => _values.GetValueOrDefault(key);

        public string? Text(string key, Fields h) => Get(key) is { } v ? h.Text(v, $"pax {key}") : null;

        /// <summary>A non-negative decimal record (size, uid, gid): no sign, no spaces, at most 64 bits.</summary>
        public long? Decimal(string key, Fields h)
        {
            if (Get(key) is not { } v) return null;
            if (!IsDigits(v)) throw h.Error($"pax {key} \"{Printable(v)}\" is not a non-negative decimal number");
            return long.TryParse(v, System.Globalization.NumberStyles.None, null, out var n) ? n
                : throw h.Error($"pax {key} {Encoding.Latin1.GetString(v)} is beyond 64 bits");
        }

        /// <summary>0 for sparse 0.0/0.1, 1 for 1.0, null for a file that is not sparse; other versions are refused rather than unpacked as garbage.</summary>
        public int? SparseVersion(Fields h)
        {
            var major = Get("GNU.sparse.major") is { } a ? Encoding.Latin1.GetString(a) : null;
            var minor = Get("GNU.sparse.minor") is { } b ? Encoding.Latin1.GetString(b) : null;
            return (major, minor) switch
            {
                ("0", "0" or "1") => 0,
                ("1", "0") => 1,
                (null, null) => Get("GNU.sparse.map") is not null || _sparse0.Count > 0 ? 0 : null,
                _ => throw h.Error($"GNU sparse format {Printable(Get("GNU.sparse.major") ?? Array.Empty<byte>())}.{Printable(Get("GNU.sparse.minor") ?? Array.Empty<byte>())} is not supported (0.0, 0.1 and 1.0 are)"),
            };
        }

        /// <summary>Sparse 0.0 (repeated offset/numbytes records) or 0.1 (GNU.sparse.map "offset,length,...").</summary>
        public List<SparseFragment> SparseMap0(Fields h)
        {
            var parts = _sparse0.Count > 0 ? _sparse0
                : Get("GNU.sparse.map") is { Length: > 0 } m ? SplitAtCommas(m) : new List<byte[]>();
            if (parts.Count % 2 != 0) throw h.Error("GNU.sparse.map has an odd number of values");
            if (Decimal("GNU.sparse.numblocks", h) is { } blocks && blocks != parts.Count / 2)
                throw h.Error($"GNU.sparse.numblocks is {blocks}, the map holds {parts.Count / 2}");
            var map = new List<SparseFragment>(parts.Count / 2);
            for (int i = 0; i < parts.Count; i += 2)
                map.Add(new SparseFragment(Number(parts[i], h), Number(parts[i + 1], h)));
            return map;
        }

        static List<byte[]> SplitAtCommas(byte[] data)
        {
            var parts = new List<byte[]>();
            int start = 0;
            for (int i = 0; i <= data.Length; i++)
                if (i == data.Length || data[i] == ',')
                {
                    parts.Add(data[start..i]);
                    start = i + 1;
                }
            return parts;
        }

        static long Number(byte[] text, Fields h) =>
            IsDigits(text) && long.TryParse(text, System.Globalization.NumberStyles.None, null, out var n)
                ? n : throw h.Error($"sparse map: \"{Printable(text)}\" is not a number");

        /// <summary>SCHILY.xattr.NAME=VALUE: both byte for byte, as fsetxattr(2) will get them.</summary>
        public IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs()
        {
            const string prefix = "SCHILY.xattr.";
            return _values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Key.Length > prefix.Length)
                .Select(kv => (Encoding.Latin1.GetBytes(kv.Key[prefix.Length..]), kv.Value)).ToList();
        }
    }

    sealed class DataStream(TarReader reader) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer) => reader.ReadData(buffer);
    }
}
