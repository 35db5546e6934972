using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Berth.Linux;

namespace Berth.Supply.Vulnerabilities;

/// <summary>
/// A local OSV database in one directory: records.jsonl (each record, minified, one a line),
/// index.tsv ("ECOSYSTEM\tNAME\tOFFSET\tLENGTH", sorted: a lookup reads only the records it names)
/// and meta.json (when it was imported, how many records). Each file is replaced whole on import.
/// </summary>
public sealed class OsvDatabase : IDisposable
{
    public const string DefaultDirectory = "/var/lib/berth/db";
    const string Records = "records.jsonl", Index = "index.tsv", Meta = "meta.json";

    readonly Dictionary<string, List<(long Offset, int Length)>> _index;
    readonly FdStream _records;
    readonly Dictionary<long, OsvRecord> _parsed = new();

    public string Directory { get; }
    public int RecordCount { get; }
    public DateTimeOffset? Imported { get; }

    OsvDatabase(string dir, Dictionary<string, List<(long, int)>> index, FdStream records, int count, DateTimeOffset? imported)
    {
        Directory = dir;
        _index = index;
        _records = records;
        RecordCount = count;
        Imported = imported;
    }

    public static OsvDatabase Open(string dir)
    {
        var indexText = FileSystem.TryReadText(Path.Combine(dir, Index), 1L << 31)
            ?? throw new SupplyException($"{dir}: no vulnerability database (berth db import --db {dir} FILE)");
        var index = new Dictionary<string, List<(long, int)>>(StringComparer.Ordinal);
        foreach (var line in indexText.Split('\n'))
        {
            var f = line.Split('\t');
            if (f.Length != 4) continue;
            var key = f[0] + "\t" + f[1];
            if (!index.TryGetValue(key, out var list)) index[key] = list = new();
            list.Add((long.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture)));
        }
        int count = 0;
        DateTimeOffset? imported = null;
        if (FileSystem.TryReadText(Path.Combine(dir, Meta)) is { } meta)
        {
            using var doc = JsonDocument.Parse(meta);
            if (doc.RootElement.TryGetProperty("records", out var n)) count = n.GetInt32();
            if (doc.RootElement.TryGetProperty("imported", out var t) && DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) imported = at;
        }
        var path = Path.Combine(dir, Records);
        return new OsvDatabase(dir, index, new FdStream(Files.Open(path, O.RDONLY), path), count, imported);
    }

    /// <summary>The records whose affected packages name (<paramref name="ecosystem"/>, <paramref name="name"/>).</summary>
    public IReadOnlyList<OsvRecord> Lookup(string ecosystem, string name)
    {
        if (!_index.TryGetValue(Ecosystems.Key(ecosystem, name), out var at)) return Array.Empty<OsvRecord>();
        var list = new List<OsvRecord>(at.Count);
        foreach (var (offset, length) in at)
        {
            if (!_parsed.TryGetValue(offset, out var record))
            {
                var bytes = new byte[length];
                int got = 0;
                while (got < length)
                {
                    int n = _records.ReadAt(bytes.AsSpan(got), offset + got);
                    if (n <= 0) throw new SupplyException($"{_records.What}: ends inside the record at {offset} (re-import the database)");
                    got += n;
                }
                using var doc = JsonDocument.Parse(bytes);
                _parsed[offset] = record = OsvRecord.Parse(doc.RootElement, $"{_records.What} at {offset}");
            }
            list.Add(record);
        }
        return list;
    }

    public IEnumerable<string> EcosystemNames() => _index.Keys.Select(k => k[..k.IndexOf('\t')]).Distinct();

    public void Dispose() => _records.Dispose();

    /// <summary>
    /// Adds the OSV records of <paramref name="inputs"/> (a .json record or array, an osv.dev .zip dump,
    /// the Debian Security Tracker's JSON, or a directory of them) to the database in <paramref name="dir"/>; a record already there is
    /// replaced by one with the same id that is as new or newer ("modified").
    /// </summary>
    public static (int Added, int Total) Import(string dir, IEnumerable<string> inputs, DateTimeOffset now)
    {
        FileSystem.CreateDirectory(dir);
        var byId = new Dictionary<string, (string? Modified, byte[] Json, List<string> Keys)>(StringComparer.Ordinal);
        var recordsPath = Path.Combine(dir, Records);
        if (System.IO.File.Exists(recordsPath))
        {
            var existing = FileSystem.ReadBytes(recordsPath, 1L << 34);
            foreach (var line in Lines(existing)) Add(byId, line, recordsPath);
        }
        int before = byId.Count;
        foreach (var input in inputs) ReadInput(byId, input);

        var records = new MemoryStream();
        var index = new List<(string Key, long Offset, int Length)>();
        foreach (var (_, (_, json, keys)) in byId.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            long offset = records.Position;
            records.Write(json);
            records.WriteByte((byte)'\n');
            foreach (var k in keys.Distinct()) index.Add((k, offset, json.Length));
        }
        index.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key) is var c and not 0 ? c : a.Offset.CompareTo(b.Offset));
        var sb = new StringBuilder();
        foreach (var (key, offset, length) in index) sb.Append(key).Append('\t').Append(offset).Append('\t').Append(length).Append('\n');
        using var meta = new MemoryStream();
        using (var w = new Utf8JsonWriter(meta, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("imported", now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("records", byId.Count);
            w.WriteEndObject();
        }
        // Records first, then the index that points into them, then meta: a reader never sees an index past its records' end.
        RegularFile.WriteAtomic(recordsPath, recordsPath + ".tmp", records.ToArray(), 0x1a4);
        RegularFile.WriteAtomic(Path.Combine(dir, Index), Path.Combine(dir, Index + ".tmp"), Encoding.UTF8.GetBytes(sb.ToString()), 0x1a4);
        RegularFile.WriteAtomic(Path.Combine(dir, Meta), Path.Combine(dir, Meta + ".tmp"), meta.ToArray(), 0x1a4);
        return (byId.Count - before, byId.Count);
    }

    static IEnumerable<ReadOnlyMemory<byte>> Lines(byte[] data)
    {
        int start = 0;
        for (int i = 0; i <= data.Length; i++)
            if (i == data.Length || data[i] == '\n')
            {
                if (i > start) yield return data.AsMemory(start, i - start);
                start = i + 1;
            }
    }

    static void ReadInput(Dictionary<string, (string?, byte[], List<string>)> byId, string input)
    {
        if (System.IO.Directory.Exists(input))
        {
            foreach (var e in FileSystem.Entries(input).OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var child = Path.Combine(input, e.Name);
                if (e.IsDirectory == true || e.Name.EndsWith(".json", StringComparison.Ordinal) || e.Name.EndsWith(".zip", StringComparison.Ordinal))
                    ReadInput(byId, child);
            }
            return;
        }
        if (input.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            using var fd = Files.Open(input, O.RDONLY);
            using var stream = new FdStream(fd, input);
            ZipArchive zip;
            try { zip = new ZipArchive(stream, ZipArchiveMode.Read); }
            catch (InvalidDataException e) { throw new SupplyException($"{input}: not a zip archive: {e.Message}", e); }
            using (zip)
                foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".json", StringComparison.Ordinal)).OrderBy(e => e.FullName, StringComparer.Ordinal))
                {
                    if (entry.Length > 64 << 20) throw new SupplyException($"{input}: {entry.FullName}: {entry.Length} bytes, more than an OSV record has");
                    using var s = entry.Open();
                    var ms = new MemoryStream();
                    s.CopyTo(ms);
                    AddDocument(byId, ms.ToArray(), $"{input}: {entry.FullName}");
                }
            return;
        }
        AddDocument(byId, FileSystem.ReadBytes(input, 1L << 32), input);
    }

    /// <summary>One record, an array of them, or the Debian Security Tracker's JSON.</summary>
    static void AddDocument(Dictionary<string, (string?, byte[], List<string>)> byId, byte[] json, string what)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new SupplyException($"{what}: not JSON: {e.Message}", e); }
        using (doc)
        {
            if (DebianTracker.Is(doc.RootElement))
            {
                foreach (var record in DebianTracker.ToOsv(doc.RootElement)) Add(byId, record, what);
            }
            else if (doc.RootElement.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var r in doc.RootElement.EnumerateArray()) Add(byId, r, $"{what}[{i++}]");
            }
            else Add(byId, doc.RootElement, what);
        }
    }

    static void Add(Dictionary<string, (string?, byte[], List<string>)> byId, ReadOnlyMemory<byte> line, string what)
    {
        using var doc = JsonDocument.Parse(line);
        Add(byId, doc.RootElement, what);
    }

    static void Add(Dictionary<string, (string? Modified, byte[], List<string>)> byId, JsonElement r, string what)
    {
        var record = OsvRecord.Parse(r, what);
        if (byId.TryGetValue(record.Id, out var have) && string.CompareOrdinal(have.Modified, record.Modified) > 0) return;
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms)) r.WriteTo(w);
        byId[record.Id] = (record.Modified, ms.ToArray(), record.Affected.Select(a => Ecosystems.Key(a.Ecosystem, a.Name)).ToList());
    }
}
