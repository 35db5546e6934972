using System.Runtime.InteropServices;
using System.Text.Json;

namespace Berth.Oci.Json;

/// <summary>
/// A JSON object being read into a spec type, with its dotted path for errors
/// ("process.args[0]: expected a string, found a number"). Null counts as absent, as the OCI
/// specs ask. Unknown properties do not fail the read: read into a <see cref="JsonModel"/>,
/// they are kept in its <see cref="JsonModel.Unknown"/> for the write back.
/// </summary>
/// <remarks>
/// JsonDocument plus these readers instead of JsonSerializer: the serializer's metadata costs a
/// NativeAOT process ~4.5 ms on first use and ~0.7 MB of startup data, paid by the launcher and
/// again by init for every container (measured in DESIGN.md).
/// </remarks>
public readonly struct JsonIn
{
    readonly JsonElement _e;
    /// <summary>Which members a read took, when the object is read into a JsonModel.</summary>
    readonly Taken? _taken;
    public string Path { get; }

    public JsonIn(JsonElement e, string path)
    {
        _e = e;
        Path = path;
        _taken = null;
    }

    JsonIn(JsonElement e, string path, Taken? taken)
    {
        _e = e;
        Path = path;
        _taken = taken;
    }

    /// <summary>Reads <paramref name="e"/> with <paramref name="read"/>; a JsonModel gets the members it did not take.</summary>
    static T ReadModel<T>(JsonElement e, string path, Func<JsonIn, T> read)
    {
        if (!typeof(T).IsAssignableTo(typeof(JsonModel))) return read(new JsonIn(e, path));
        var taken = new Taken();
        var value = read(new JsonIn(e, path, taken));
        if (value is JsonModel m) m.Unknown = taken.Rest(e, path);
        return value;
    }

    /// <summary>Member indices a read looked up: a bit each for the first 64, a set for the rest.</summary>
    sealed class Taken
    {
        ulong _low;
        HashSet<int>? _high;

        public void Mark(int i)
        {
            if (i < 64) _low |= 1UL << i;
            else (_high ??= new()).Add(i);
        }

        bool Has(int i) => i < 64 ? (_low & (1UL << i)) != 0 : _high?.Contains(i) == true;

        public List<JsonMember>? Rest(JsonElement e, string path)
        {
            List<JsonMember>? rest = null;
            int i = 0;
            foreach (var p in e.EnumerateObject())
            {
                // Copied: the document the element belongs to is disposed after the read.
                if (!Has(i)) (rest ??= new()).Add(new(UnknownName(p, path), JsonMarshal.GetRawUtf8Value(p.Value).ToArray()));
                i++;
            }
            return rest;
        }
    }

    /// <summary>A name with an escape such as "\ud800" (half a surrogate pair) is no name that can be compared or written back.</summary>
    static SpecException BrokenName(string path) =>
        new(path.Length == 0 ? "(root)" : path, "has a property name that is not valid Unicode (an unpaired surrogate escape)");

    static string UnknownName(JsonProperty p, string path)
    {
        try
        {
            return p.Name;
        }
        catch (InvalidOperationException)
        {
            throw BrokenName(path);
        }
    }

    /// <summary>Parses a whole document whose root must be an object.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> json, string what, Func<JsonIn, T> read)
    {
        // System.Text.Json checks UTF-8 only when a string is read, and then throws an
        // InvalidOperationException: check the whole document once, up front.
        if (!System.Text.Unicode.Utf8.IsValid(json))
            throw new SpecException(what, $"invalid UTF-8 at byte {FirstInvalidUtf8(json)}");
        JsonDocument doc;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            doc = JsonDocument.ParseValue(ref reader);
            // One document, as Go's json.Unmarshal wants it: anything after it is an error.
            if (reader.Read())
            {
                doc.Dispose();
                throw new SpecException(what, $"invalid JSON: data after the document at byte {reader.TokenStartIndex}");
            }
        }
        catch (JsonException e)
        {
            var line = e.LineNumber is { } l ? $" at line {l + 1}" : "";
            throw new SpecException(what, $"invalid JSON{line}: {FirstSentence(e.Message)}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SpecException(what, $"expected an object, found {KindOf(doc.RootElement)}");
            return ReadModel(doc.RootElement, "", read);
        }
    }

    static int FirstInvalidUtf8(ReadOnlySpan<byte> json)
    {
        int offset = 0;
        while (offset < json.Length)
        {
            if (System.Text.Rune.DecodeFromUtf8(json[offset..], out _, out int used) != System.Buffers.OperationStatus.Done) return offset;
            offset += used;
        }
        return offset;
    }

    static string FirstSentence(string message)
    {
        int cut = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.', '|');
    }

    string Child(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    bool TryGet(string name, out JsonElement value)
    {
        if (_taken is null)
        {
            if (_e.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null) return true;
            value = default;
            return false;
        }
        // The members are scanned here, not by TryGetProperty, to learn which ones a read took.
        // The last of duplicate names wins, as with TryGetProperty and Go's decoder.
        Span<byte> utf8 = stackalloc byte[128];
        int n = name.Length <= 42 ? System.Text.Encoding.UTF8.GetBytes(name, utf8) : -1;
        bool found = false;
        value = default;
        int i = 0;
        foreach (var p in _e.EnumerateObject())
        {
            bool match;
            try { match = n >= 0 ? p.NameEquals(utf8[..n]) : p.NameEquals(name); }
            catch (InvalidOperationException) { throw BrokenName(Path); }
            if (match)
            {
                _taken.Mark(i);
                value = p.Value;
                found = true;
            }
            i++;
        }
        if (found && value.ValueKind != JsonValueKind.Null) return true;
        value = default;
        return false;
    }

    /// <summary>The JSON kind of a value as errors name it ("an object", "a string", …).</summary>
    public static string KindOf(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    static SpecException Wrong(string path, string expected, JsonElement found) =>
        new(path, $"wrong type: expected {expected}, found {KindOf(found)}");

    public bool Has(string name) => TryGet(name, out _);

    public string? String(string name) => TryGet(name, out var v) ? AsString(v, Child(name)) : null;

    static string AsString(JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.String) throw Wrong(path, "a string", v);
        try
        {
            return v.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // Valid UTF-8 bytes, but an escape such as "\ud800" that is half a surrogate pair.
            throw new SpecException(path, "is not valid Unicode (an unpaired surrogate escape)");
        }
    }

    /// <summary>A property's name, which can hold the same broken escapes as a value.</summary>
    static string NameOf(JsonProperty p, string parent)
    {
        try
        {
            return p.Name;
        }
        catch (InvalidOperationException)
        {
            throw new SpecException(parent, "has a property name that is not valid Unicode (an unpaired surrogate escape)");
        }
    }

    public bool? Bool(string name)
    {
        if (!TryGet(name, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(Child(name), "a boolean", v),
        };
    }

    public long? Int64(string name) => TryGet(name, out var v) ? AsInt64(v, Child(name)) : null;
    public ulong? UInt64(string name) => TryGet(name, out var v) ? AsUInt64(v, Child(name)) : null;
    public int? Int32(string name) => Int64(name) is { } n ? checked((int)Range(n, int.MinValue, int.MaxValue, Child(name))) : null;
    public uint? UInt32(string name) => UInt64(name) is { } n ? (uint)Range(n, uint.MaxValue, Child(name)) : null;
    public ushort? UInt16(string name) => UInt64(name) is { } n ? (ushort)Range(n, ushort.MaxValue, Child(name)) : null;

    static long AsInt64(JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.Number) throw Wrong(path, "an integer", v);
        return v.TryGetInt64(out var n) ? n : throw new SpecException(path, $"{v.GetRawText()} is not a 64-bit integer");
    }

    static ulong AsUInt64(JsonElement v, string path)
    {
        if (v.ValueKind != JsonValueKind.Number) throw Wrong(path, "a non-negative integer", v);
        return v.TryGetUInt64(out var n) ? n : throw new SpecException(path, $"{v.GetRawText()} is not a non-negative 64-bit integer");
    }

    static long Range(long n, long min, long max, string path) =>
        n >= min && n <= max ? n : throw new SpecException(path, $"{n} is out of range ({min}..{max})");

    static ulong Range(ulong n, ulong max, string path) =>
        n <= max ? n : throw new SpecException(path, $"{n} is out of range (0..{max})");

    public T? Object<T>(string name, Func<JsonIn, T> read) where T : class
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(Child(name), "an object", v);
        return ReadModel(v, Child(name), read);
    }

    public List<T>? Array<T>(string name, Func<JsonIn, T> read)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(Child(name), "an array", v);
        var list = new List<T>(v.GetArrayLength());
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            var path = $"{Child(name)}[{i++}]";
            if (item.ValueKind != JsonValueKind.Object) throw Wrong(path, "an object", item);
            list.Add(ReadModel(item, path, read));
        }
        return list;
    }

    public List<string>? Strings(string name) => ArrayOf(name, "a string", AsString);
    public List<uint>? UInt32s(string name) => ArrayOf(name, "a non-negative integer", (v, p) => (uint)Range(AsUInt64(v, p), uint.MaxValue, p));

    List<T>? ArrayOf<T>(string name, string expected, Func<JsonElement, string, T> convert)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Array) throw Wrong(Child(name), $"an array", v);
        var list = new List<T>(v.GetArrayLength());
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            var path = $"{Child(name)}[{i++}]";
            if (item.ValueKind == JsonValueKind.Null) throw new SpecException(path, $"is null, expected {expected}");
            list.Add(convert(item, path));
        }
        return list;
    }

    /// <summary>An object of string values (annotations, sysctl, unified).</summary>
    public Dictionary<string, string>? StringMap(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(Child(name), "an object of strings", v);
        var map = new Dictionary<string, string>();
        foreach (var p in v.EnumerateObject())
        {
            var key = NameOf(p, Child(name));
            map[key] = AsString(p.Value, $"{Child(name)}.{key}");
        }
        return map;
    }

    public Dictionary<string, T>? Map<T>(string name, Func<JsonIn, T> read)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(Child(name), "an object", v);
        var map = new Dictionary<string, T>();
        foreach (var p in v.EnumerateObject())
        {
            var key = NameOf(p, Child(name));
            var path = $"{Child(name)}.{key}";
            if (p.Value.ValueKind != JsonValueKind.Object) throw Wrong(path, "an object", p.Value);
            map[key] = ReadModel(p.Value, path, read);
        }
        return map;
    }

    /// <summary>The names of an object's properties (image-spec's sets such as ExposedPorts: {"80/tcp": {}}).</summary>
    public List<string>? Keys(string name)
    {
        if (!TryGet(name, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Object) throw Wrong(Child(name), "an object", v);
        var parent = Child(name);
        return v.EnumerateObject().Select(p => NameOf(p, parent)).ToList();
    }
}
