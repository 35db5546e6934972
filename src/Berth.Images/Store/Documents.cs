using System.Text.Json;
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
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.TryGetProperty("manifests", out _)) throw new ImageException($"{what}: a manifest with a \"manifests\" field (an index in disguise)");
            var m = JsonIn.Parse(json, what, Manifest.Read);
            CheckType(m.MediaType, descriptorType, what);
            if (m.SchemaVersion != 2) throw new ImageException($"{what}: schemaVersion {m.SchemaVersion}, expected 2");
            if (m.Config is null) throw new ImageException($"{what}: config is required");
            if (m.Layers is null) throw new ImageException($"{what}: layers is required");
            return m;
        }
        catch (JsonException e)
        {
            throw new ImageException($"{what}: invalid JSON: {e.Message}");
        }
        catch (SpecException e)
        {
            throw new ImageException($"{what}: {e.Message}");
        }
    }

    public static ImageIndex ParseIndex(byte[] json, string? descriptorType, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.TryGetProperty("config", out _) || root.TryGetProperty("layers", out _))
                throw new ImageException($"{what}: an index with \"config\" or \"layers\" (a manifest in disguise)");
            var i = JsonIn.Parse(json, what, ImageIndex.Read);
            CheckType(i.MediaType, descriptorType, what);
            if (i.SchemaVersion != 2) throw new ImageException($"{what}: schemaVersion {i.SchemaVersion}, expected 2");
            return i;
        }
        catch (JsonException e)
        {
            throw new ImageException($"{what}: invalid JSON: {e.Message}");
        }
        catch (SpecException e)
        {
            throw new ImageException($"{what}: {e.Message}");
        }
    }

    public static ImageConfig ParseConfig(byte[] json, string what)
    {
        try
        {
            return JsonIn.Parse(json, what, ImageConfig.Read);
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
