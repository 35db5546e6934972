using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>Parses config.json; a malformed document or a wrong type names the field.</summary>
public static class SpecReader
{
    /// <summary>
    /// The most Berth reads of a config.json or a process.json: far above any real config (a
    /// large one is a few hundred KiB), small enough that the launcher and init can each hold
    /// the document and its parsed form.
    /// </summary>
    public const long MaxBytes = 64L << 20;

    public static Spec Parse(ReadOnlySpan<byte> json) => Parse(json, "config.json", Spec.Read);

    /// <summary>
    /// A runtime-spec document: valid JSON, valid UTF-8, and no NUL in any string — every string
    /// of a config can reach the kernel as a C string, where a NUL would silently cut it
    /// ("/mnt\u0000/x" would mount on "/mnt").
    /// </summary>
    public static T Parse<T>(ReadOnlySpan<byte> json, string what, Func<JsonIn, T> read)
    {
        var value = JsonIn.Parse(json, what, read);
        // Only an escape can put a NUL in a JSON string (a raw control byte is invalid JSON).
        if (json.IndexOf("\\u0000"u8) >= 0 && FindNul(json) is { } field)
            throw new SpecException(field.Length == 0 ? what : field, "holds a NUL character (\\u0000), which no path, argument or name may contain");
        return value;
    }

    /// <summary>The dotted path of the first string or property name holding a NUL.</summary>
    static string? FindNul(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        using var doc = JsonDocument.ParseValue(ref reader);
        return Find(doc.RootElement, "");

        static string? Find(JsonElement e, string path)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String:
                    return e.GetString()!.Contains('\0') ? path : null;
                case JsonValueKind.Object:
                    foreach (var p in e.EnumerateObject())
                    {
                        var child = path.Length == 0 ? p.Name : $"{path}.{p.Name}";
                        if (p.Name.Contains('\0')) return path.Length == 0 ? "(a property name)" : $"{path} (a property name)";
                        if (Find(p.Value, child) is { } f) return f;
                    }
                    return null;
                case JsonValueKind.Array:
                    int i = 0;
                    foreach (var item in e.EnumerateArray())
                        if (Find(item, $"{path}[{i++}]") is { } f) return f;
                    return null;
                default:
                    return null;
            }
        }
    }
}
