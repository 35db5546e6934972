using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Oci.Runtime;

/// <summary>Parses config.json, turning serializer errors into "which field, what is wrong".</summary>
public static partial class SpecReader
{
    public static Spec Parse(ReadOnlySpan<byte> json)
    {
        Spec? spec;
        try
        {
            spec = JsonSerializer.Deserialize(json, OciJson.Default.Spec);
        }
        catch (JsonException e)
        {
            throw Describe(e);
        }
        return spec ?? throw new SpecException("config.json", "is null, expected an object");
    }

    static SpecException Describe(JsonException e)
    {
        var field = FieldOf(e.Path);
        var where = e.LineNumber is { } line ? $" (line {line + 1})" : "";
        var target = ConvertTarget().Match(e.Message);
        if (target.Success)
            return new SpecException(field, $"wrong type, expected {KindOf(target.Groups[1].Value)}{where}");
        // Malformed JSON: the serializer's first sentence says what it found.
        var first = e.Message.Split(" Path:")[0].Split(". LineNumber")[0];
        return new SpecException(field, $"invalid JSON{where}: {first}");
    }

    /// <summary>"$.process.args[0]" → "process.args[0]".</summary>
    static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "config.json" : path.StartsWith("$.") ? path[2..] : path.TrimStart('$');

    static string KindOf(string clrType) => clrType switch
    {
        "System.String" => "a string",
        "System.Boolean" or "System.Nullable`1[System.Boolean]" => "a boolean",
        var t when t.Contains("Int") || t.Contains("Double") => t.Contains("UInt") ? "a non-negative integer" : "an integer",
        var t when t.Contains("List`1") || t.EndsWith("[]") => "an array",
        var t when t.Contains("Dictionary") => "an object of strings",
        _ => "an object",
    };

    [GeneratedRegex(@"could not be converted to ([^\s.][^\s]*?)\.? Path")]
    private static partial Regex ConvertTarget();
}
