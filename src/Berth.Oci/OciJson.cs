using System.Text.Json;
using System.Text.Json.Serialization;
using Berth.Oci.Runtime;

namespace Berth.Oci;

/// <summary>Source-generated JSON for every OCI document (reflection JSON does not work under NativeAOT).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(Spec))]
[JsonSerializable(typeof(State))]
[JsonSerializable(typeof(List<State>))]
public sealed partial class OciJson : JsonSerializerContext
{
    static OciJson? _indented;

    /// <summary>Two-space indentation, as runc prints state.</summary>
    public static OciJson Indented => _indented ??= new OciJson(new JsonSerializerOptions(Default.Options) { WriteIndented = true });
}
