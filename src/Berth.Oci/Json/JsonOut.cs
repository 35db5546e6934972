using System.Text.Encodings.Web;
using System.Text.Json;

namespace Berth.Oci.Json;

/// <summary>Writing spec types: absent (null) values are left out, as the specs' optional fields are.</summary>
public static class JsonOut
{
    /// <summary>Serialises with <paramref name="write"/>; indent "\t" like runc's spec, "  " like its state, or none.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write, string? indent = null)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        var options = new JsonWriterOptions
        {
            Indented = indent is not null,
            IndentCharacter = indent == "\t" ? '\t' : ' ',
            IndentSize = indent?.Length ?? 2,
            // Paths and args keep their characters ('+', '<', '&'), as Go's encoder writes them.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using (var w = new Utf8JsonWriter(buffer, options)) write(w);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Opt(this Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    public static void Opt(this Utf8JsonWriter w, string name, bool? value)
    {
        if (value is { } v) w.WriteBoolean(name, v);
    }

    public static void Opt(this Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    public static void Opt(this Utf8JsonWriter w, string name, ulong? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    public static void Opt(this Utf8JsonWriter w, string name, int? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    public static void Opt(this Utf8JsonWriter w, string name, uint? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
    }

    public static void Opt(this Utf8JsonWriter w, string name, IEnumerable<string>? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>A set as an object of empty objects: {"80/tcp": {}}.</summary>
    public static void OptSet(this Utf8JsonWriter w, string name, IEnumerable<string>? keys)
    {
        if (keys is null) return;
        w.WriteStartObject(name);
        foreach (var k in keys)
        {
            w.WriteStartObject(k);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    public static void Opt(this Utf8JsonWriter w, string name, IEnumerable<uint>? values)
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    public static void Opt(this Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null) return;
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    public static void Opt<T>(this Utf8JsonWriter w, string name, T? value) where T : class, IJsonWritable
    {
        if (value is null) return;
        w.WriteStartObject(name);
        value.Write(w);
        w.WriteEndObject();
    }

    public static void Opt<T>(this Utf8JsonWriter w, string name, IEnumerable<T>? values) where T : IJsonWritable
    {
        if (values is null) return;
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStartObject();
            v.Write(w);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void Opt<T>(this Utf8JsonWriter w, string name, IReadOnlyDictionary<string, T>? map) where T : IJsonWritable
    {
        if (map is null) return;
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            w.WriteStartObject(k);
            v.Write(w);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary>A whole document: the object's properties inside one top-level object.</summary>
    public static byte[] Document(IJsonWritable value, string? indent = null) => Write(w =>
    {
        w.WriteStartObject();
        value.Write(w);
        w.WriteEndObject();
    }, indent);
}

/// <summary>A spec type that writes its own properties (the enclosing braces are the caller's).</summary>
public interface IJsonWritable
{
    void Write(Utf8JsonWriter w);
}
