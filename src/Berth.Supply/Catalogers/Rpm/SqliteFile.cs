using System.Buffers.Binary;
using System.Text;

namespace Berth.Supply.Catalogers.Rpm;

/// <summary>
/// A read-only reader of one SQLite 3 database file held in memory (sqlite.org/fileformat.html):
/// the schema table on page 1, and the rows of a table's b-tree (interior 0x05 and leaf 0x0D pages,
/// payloads spilling into overflow pages). It reads an image's rpmdb without a native library and
/// with every offset checked: a malformed file is an error, never a read outside it. The WAL is not
/// read (rpm checkpoints it when it closes the database).
/// </summary>
public sealed class SqliteFile
{
    readonly byte[] _db;
    readonly int _pageSize, _usable;
    readonly string _what;

    public SqliteFile(byte[] db, string what)
    {
        _db = db;
        _what = what;
        if (db.Length < 100 || !db.AsSpan(0, 16).SequenceEqual("SQLite format 3\0"u8)) throw Bad("not an SQLite 3 database");
        int ps = BinaryPrimitives.ReadUInt16BigEndian(db.AsSpan(16));
        _pageSize = ps == 1 ? 65536 : ps;
        if (_pageSize < 512 || (_pageSize & (_pageSize - 1)) != 0) throw Bad($"page size {_pageSize}");
        _usable = _pageSize - db[20];
        if (_usable < 480) throw Bad($"usable page size {_usable}");
        if (BinaryPrimitives.ReadUInt32BigEndian(db.AsSpan(56)) is not (0 or 1)) throw Bad("text encoding is not UTF-8");
    }

    SupplyException Bad(string detail) => new($"{_what}: {detail}");

    /// <summary>The root page of table <paramref name="name"/> (sqlite_schema's rootpage), or null when there is no such table.</summary>
    public long? TableRoot(string name)
    {
        foreach (var (_, row) in Rows(1))
            if (row.Count >= 4 && row[0] is string type && type == "table" && row[1] is string n && n.Equals(name, StringComparison.OrdinalIgnoreCase) && row[3] is long root)
                return root;
        return null;
    }

    /// <summary>Every row of the table whose b-tree starts at <paramref name="root"/>, in rowid order: (rowid, columns as long, double, string, byte[] or null).</summary>
    public List<(long RowId, List<object?> Columns)> Rows(long root)
    {
        var rows = new List<(long, List<object?>)>();
        var seen = new HashSet<long>();
        var stack = new Stack<long>();
        stack.Push(root);
        while (stack.TryPop(out var page))
        {
            if (!seen.Add(page)) throw Bad($"page {page} is reached twice (a cycle)");
            var (start, header) = Page(page);
            var p = _db.AsSpan(start, _pageSize);
            byte kind = p[header];
            int cells = BinaryPrimitives.ReadUInt16BigEndian(p[(header + 3)..]);
            int pointers = header + (kind == 0x05 ? 12 : 8);
            if (pointers + 2 * cells > _pageSize) throw Bad($"page {page}: {cells} cells do not fit");
            if (kind == 0x05)
            {
                // Children right to left on the stack, so the leftmost is read first.
                stack.Push(BinaryPrimitives.ReadUInt32BigEndian(p[(header + 8)..]));
                for (int i = cells - 1; i >= 0; i--)
                {
                    int at = Offset(p, pointers + 2 * i, page);
                    if (at + 4 > _pageSize) throw Bad($"page {page}: cell {i} is outside the page");
                    stack.Push(BinaryPrimitives.ReadUInt32BigEndian(p[at..]));
                }
            }
            else if (kind == 0x0D)
            {
                for (int i = 0; i < cells; i++)
                {
                    int at = Offset(p, pointers + 2 * i, page);
                    long size = Varint(p, ref at, page);
                    long rowid = Varint(p, ref at, page);
                    rows.Add((rowid, Record(Payload(p, start, at, size, page), page)));
                }
            }
            else throw Bad($"page {page}: b-tree page type {kind} is not a table's");
        }
        return rows;
    }

    (int Start, int Header) Page(long page)
    {
        if (page < 1 || page * _pageSize > _db.Length) throw Bad($"page {page} is outside the file");
        int start = (int)((page - 1) * _pageSize);
        return (start, page == 1 ? 100 : 0);
    }

    int Offset(ReadOnlySpan<byte> p, int pointer, long page)
    {
        int at = BinaryPrimitives.ReadUInt16BigEndian(p[pointer..]);
        if (at >= _usable) throw Bad($"page {page}: a cell at {at} is outside the page");
        return at;
    }

    long Varint(ReadOnlySpan<byte> p, ref int at, long page)
    {
        long v = 0;
        for (int i = 0; i < 9; i++)
        {
            if (at >= p.Length) throw Bad($"page {page}: a varint runs off the page");
            byte b = p[at++];
            if (i == 8) return (v << 8) | b;
            v = (v << 7) | (uint)(b & 0x7f);
            if ((b & 0x80) == 0) return v;
        }
        return v;
    }

    /// <summary>A cell's payload: the part on the page, then the chain of overflow pages (4-byte next page, then data).</summary>
    byte[] Payload(ReadOnlySpan<byte> p, int pageStart, int at, long size, long page)
    {
        if (size < 0 || size > _db.Length) throw Bad($"page {page}: a payload of {size} bytes");
        int max = _usable - 35;
        int local;
        if (size <= max) local = (int)size;
        else
        {
            int min = (_usable - 12) * 32 / 255 - 23;
            int k = min + (int)((size - min) % (_usable - 4));
            local = k <= max ? k : min;
        }
        if (at + local + (local < size ? 4 : 0) > _usable) throw Bad($"page {page}: a payload runs off the page");
        var payload = new byte[size];
        p.Slice(at, local).CopyTo(payload);
        int done = local;
        if (done < size)
        {
            long next = BinaryPrimitives.ReadUInt32BigEndian(p[(at + local)..]);
            var seen = new HashSet<long>();
            while (done < size)
            {
                if (!seen.Add(next)) throw Bad($"page {page}: its overflow chain loops at page {next}");
                var (start, _) = Page(next);
                var o = _db.AsSpan(start, _pageSize);
                int n = (int)Math.Min(size - done, _usable - 4);
                o.Slice(4, n).CopyTo(payload.AsSpan(done));
                done += n;
                next = BinaryPrimitives.ReadUInt32BigEndian(o);
            }
        }
        return payload;
    }

    /// <summary>The record format: a header of serial types, then each value.</summary>
    List<object?> Record(byte[] r, long page)
    {
        int at = 0;
        long headerSize = Varint(r, ref at, page);
        if (headerSize > r.Length || headerSize < at) throw Bad($"page {page}: a record header of {headerSize} bytes");
        var types = new List<long>();
        while (at < headerSize) types.Add(Varint(r, ref at, page));
        int body = (int)headerSize;
        var values = new List<object?>(types.Count);
        foreach (var t in types)
        {
            int len = t switch { 0 or 8 or 9 => 0, 1 => 1, 2 => 2, 3 => 3, 4 => 4, 5 => 6, 6 or 7 => 8, >= 12 => (int)((t - 12) / 2), _ => throw Bad($"page {page}: serial type {t}") };
            if (body + len > r.Length) throw Bad($"page {page}: a value runs off its record");
            var v = r.AsSpan(body, len);
            values.Add(t switch
            {
                0 => null,
                8 => 0L,
                9 => 1L,
                >= 1 and <= 6 => Integer(v),
                7 => BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64BigEndian(v)),
                _ when t % 2 == 0 => v.ToArray(),
                _ => Encoding.UTF8.GetString(v),
            });
            body += len;
        }
        return values;
    }

    static long Integer(ReadOnlySpan<byte> v)
    {
        long x = (sbyte)v[0];
        for (int i = 1; i < v.Length; i++) x = (x << 8) | v[i];
        return x;
    }
}
