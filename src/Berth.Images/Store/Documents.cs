using Berth.Oci;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Store;

/// <summary>
/// Manifests and indexes read with the media-type rules of CVE-2021-41190: a document's own
/// mediaType must agree with the descriptor that pointed at it, and a manifest must not carry
/// an index's fields (nor an index a manifest's), so one blob cannot be read as both.
/// </summary>
public static class Documents
{
    public static Manifest ParseManifest(byte[] json, string? descriptorType, string what)
    {
        var m = Parse(json, what, o => o.Has("manifests")
            ? throw new ImageException($"{what}: a manifest with a \"manifests\" field (an index in disguise)")
            : Manifest.Read(o));
        CheckType(m.MediaType, descriptorType, what);
        if (m.SchemaVersion != 2) throw new ImageException($"{what}: schemaVersion {m.SchemaVersion}, expected 2");
        if (m.Config is null) throw new ImageException($"{what}: config is required");
        if (m.Layers is null) throw new ImageException($"{what}: layers is required");
        return m;
    }

    public static ImageIndex ParseIndex(byte[] json, string? descriptorType, string what)
    {
        var i = Parse(json, what, o => o.Has("config") || o.Has("layers")
            ? throw new ImageException($"{what}: an index with \"config\" or \"layers\" (a manifest in disguise)")
            : ImageIndex.Read(o));
        CheckType(i.MediaType, descriptorType, what);
        if (i.SchemaVersion != 2) throw new ImageException($"{what}: schemaVersion {i.SchemaVersion}, expected 2");
        return i;
    }

    public static ImageConfig ParseConfig(byte[] json, string what) => Parse(json, what, ImageConfig.Read);

    /// <summary>One parse of the document; a malformed one or a wrong type is the image's error.</summary>
    static T Parse<T>(byte[] json, string what, Func<JsonIn, T> read)
    {
        try
        {
            return JsonIn.Parse(json, what, read);
        }
        catch (SpecException e)
        {
            throw new ImageException($"{what}: {e.Message}");
        }
    }

    static void CheckType(string? embedded, string? descriptorType, string what)
    {
        if (embedded is not null && descriptorType is not null && embedded != descriptorType)
            throw new ImageException($"{what}: its mediaType \"{embedded}\" differs from the descriptor's \"{descriptorType}\"");
    }
}
