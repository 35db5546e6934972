using System.Text.Unicode;
using Berth.Oci;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Store;

/// <summary>
/// Manifests and indexes read with the media-type rules of CVE-2021-41190: a document's own
/// mediaType must agree with the descriptor that pointed at it, and a manifest must not carry
/// an index's fields (nor an index a manifest's), so one blob cannot be read as both. Every
/// descriptor in them is complete (mediaType, digest and size: descriptor.md requires all three,
/// and the size is what caps the read of the blob).
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
        CheckDescriptor(m.Config, what, "config");
        for (int i = 0; i < m.Layers.Count; i++) CheckDescriptor(m.Layers[i], what, $"layers[{i}]");
        return m;
    }

    public static ImageIndex ParseIndex(byte[] json, string? descriptorType, string what)
    {
        var index = Parse(json, what, o => o.Has("config") || o.Has("layers")
            ? throw new ImageException($"{what}: an index with \"config\" or \"layers\" (a manifest in disguise)")
            : ImageIndex.Read(o));
        CheckType(index.MediaType, descriptorType, what);
        if (index.SchemaVersion != 2) throw new ImageException($"{what}: schemaVersion {index.SchemaVersion}, expected 2");
        for (int i = 0; i < (index.Manifests?.Count ?? 0); i++) CheckDescriptor(index.Manifests![i], what, $"manifests[{i}]");
        return index;
    }

    public static ImageConfig ParseConfig(byte[] json, string what) => Parse(json, what, ImageConfig.Read);

    /// <summary>The oci-layout file's imageLayoutVersion.</summary>
    public static string ParseLayoutMarker(byte[] json, string what) =>
        Parse(json, what, o => o.String("imageLayoutVersion")) ?? throw new ImageException($"{what}: imageLayoutVersion is required");

    /// <summary>mediaType, digest and size present and well-formed, with the field named when one is not.</summary>
    static void CheckDescriptor(Descriptor d, string what, string field)
    {
        if (string.IsNullOrEmpty(d.MediaType)) throw new ImageException($"{what}: {field}.mediaType is required");
        if (d.Digest is null) throw new ImageException($"{what}: {field}.digest is required");
        try
        {
            Digest.Parse(d.Digest, $"{field}.digest");
        }
        catch (SpecException e)
        {
            throw new ImageException($"{what}: {e.Message}");
        }
        if (d.Size is null) throw new ImageException($"{what}: {field}.size is required (a blob is read no further than its size)");
        if (d.Size < 0) throw new ImageException($"{what}: {field}.size {d.Size} is negative");
    }

    /// <summary>One parse of the document; a malformed one, a wrong type or text that is not UTF-8 is the image's error.</summary>
    static T Parse<T>(byte[] json, string what, Func<JsonIn, T> read)
    {
        // JSON is UTF-8 (RFC 8259); the reader would otherwise fail deep inside on the first string it decodes.
        if (!Utf8.IsValid(json)) throw new ImageException($"{what}: invalid UTF-8 at byte {FirstInvalidUtf8(json)}");
        try
        {
            return JsonIn.Parse(json, what, read);
        }
        catch (SpecException e)
        {
            throw new ImageException(e.Field == what ? e.Message : $"{what}: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            // An escape such as "\ud800" is valid JSON but no string: a lone UTF-16 surrogate.
            throw new ImageException($"{what}: a string that is not valid Unicode ({e.Message.TrimEnd('.')})");
        }
    }

    static int FirstInvalidUtf8(byte[] bytes)
    {
        var status = Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? bytes.Length : read;
    }

    static void CheckType(string? embedded, string? descriptorType, string what)
    {
        if (embedded is not null && descriptorType is not null && embedded != descriptorType)
            throw new ImageException($"{what}: its mediaType {Quote.Of(embedded)} differs from the descriptor's {Quote.Of(descriptorType)}");
    }
}
