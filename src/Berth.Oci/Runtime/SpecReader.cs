using Berth.Oci.Json;

namespace Berth.Oci.Runtime;

/// <summary>Parses config.json; a malformed document or a wrong type names the field.</summary>
public static class SpecReader
{
    public static Spec Parse(ReadOnlySpan<byte> json) => JsonIn.Parse(json, "config.json", Spec.Read);
}
