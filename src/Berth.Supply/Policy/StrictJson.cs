using System.Text.Json;
using Berth.Oci.Json;
using Berth.Images;

namespace Berth.Supply.Policy;

/// <summary>
/// containers/image's "paranoid" JSON reading of a security policy: an object may hold only the
/// fields its type defines, each at most once, with the JSON type it must have — a typo is an
/// error, never a silently ignored rule. Every error names the field by its path.
/// </summary>
static class StrictJson
{
    /// <summary>The members of <paramref name="e"/>, refusing a non-object, a duplicate, or a name outside <paramref name="allowed"/> (null: any name).</summary>
    public static List<JsonProperty> Object(JsonElement e, string where, IReadOnlyCollection<string>? allowed)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Error(where, $"is {JsonIn.KindOf(e)}, not an object");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<JsonProperty>();
        foreach (var p in e.EnumerateObject())
        {
            if (!seen.Add(p.Name)) throw Error(Field(where, p.Name), "is given twice");
            if (allowed is not null && !allowed.Contains(p.Name)) throw Error(Field(where, p.Name), "is not a field of this object");
            list.Add(p);
        }
        return list;
    }

    public static string String(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(where, $"is {JsonIn.KindOf(e)}, not a string");

    public static List<string> Strings(JsonElement e, string where) =>
        Array(e, where).Select((x, i) => String(x, $"{where}[{i}]")).ToList();

    /// <summary>A Go []byte field: base64 text (keyData, caData, rekorPublicKeyData).</summary>
    public static byte[] Base64(JsonElement e, string where)
    {
        var text = String(e, where);
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw Error(where, "is not base64 (the file's contents go here base64-encoded)");
        }
    }

    public static List<JsonElement> Array(JsonElement e, string where) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().ToList() : throw Error(where, $"is {JsonIn.KindOf(e)}, not an array");

    public static string Field(string where, string name) => where.Length == 0 ? name : $"{where}.{name}";

    public static SupplyException Error(string where, string what) => new($"{where} {what}");

    public static string Q(string s) => Quote.Of(s);
}
