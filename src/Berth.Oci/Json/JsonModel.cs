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
    public List<KeyValuePair<string, JsonElement>>? Unknown { get; set; }

    public void Write(Utf8JsonWriter w)
    {
        WriteMembers(w);
        if (Unknown is null) return;
        foreach (var (name, value) in Unknown)
        {
            w.WritePropertyName(name);
            value.WriteTo(w);
        }
    }

    /// <summary>The properties this type models.</summary>
    protected abstract void WriteMembers(Utf8JsonWriter w);
}
