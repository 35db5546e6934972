using System.Text.Json;

namespace Berth.Oci.Json;

/// <summary>
/// A spec object that keeps what Berth does not model: the members of the object as read that no
/// property took (vendor extensions, fields of a newer spec version), written back after the known
/// ones. So a read and a write lose nothing (`update` rewrites a container's config.json).
/// </summary>
/// <remarks>
/// <see cref="JsonIn"/> fills <see cref="Unknown"/> for every object it reads into a JsonModel
/// (Object, Array, Map, Parse); a type only writes its known members.
/// </remarks>
public abstract class JsonModel : IJsonWritable
{
    /// <summary>The members no property took, in document order; null when there were none.</summary>
    public List<JsonMember>? Unknown { get; set; }

    public void Write(Utf8JsonWriter w)
    {
        WriteMembers(w);
        if (Unknown is null) return;
        foreach (var m in Unknown)
        {
            w.WritePropertyName(m.Name);
            // The value's bytes as read (validated then): numbers, escapes and all, never re-encoded.
            w.WriteRawValue(m.Utf8Value, skipInputValidation: true);
        }
    }

    /// <summary>The properties this type models.</summary>
    protected abstract void WriteMembers(Utf8JsonWriter w);
}

/// <summary>A member kept as read: its name, and its value's UTF-8 JSON text.</summary>
public readonly record struct JsonMember(string Name, byte[] Utf8Value)
{
    public override string ToString() => $"{Name}: {System.Text.Encoding.UTF8.GetString(Utf8Value)}";
}
