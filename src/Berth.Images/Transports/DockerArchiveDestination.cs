using System.Text;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Transports;

/// <summary>
/// Writes a docker-archive as containers/image does, so that `docker load` and `podman load`
/// take it: the config as "HEX.json", each layer uncompressed as "HEX.tar" (HEX its digest, which
/// for an uncompressed layer is its diff_id), then manifest.json, a legacy "ID/" directory per
/// layer (VERSION, json, layer.tar linking to the file) and "repositories" for older loaders.
/// One image per archive; an existing file is replaced when the new one is complete.
/// </summary>
public sealed class DockerArchiveDestination : IImageDestination
{
    readonly IReadOnlyList<string> _repoTags;
    readonly ArchiveFile _out;
    readonly HashSet<string> _written = new(StringComparer.Ordinal);
    byte[]? _config;
    Manifest? _manifest;

    public DockerArchiveDestination(ImageReference reference, string path, IReadOnlyList<string> repoTags)
    {
        Reference = reference;
        _repoTags = repoTags;
        _out = new ArchiveFile(path);
    }

    public ImageReference Reference { get; }
    public LayerCompressionWish DesiredLayerCompression => LayerCompressionWish.Decompress;
    public bool HasThreadSafePutBlob => false;

    /// <summary>Docker v2s2 only, as containers/image's docker-archive: an OCI image is converted on the way (unless --preserve-digests forbids it).</summary>
    public IReadOnlyList<string>? SupportedManifestTypes { get; } = new[] { MediaTypes.DockerManifest };

    static string LayerFile(Digest d) => $"{d.Encoded}.tar";
    static string ConfigFile(Digest d) => $"{d.Encoded}.json";

    public Descriptor? TryReusingBlob(Descriptor blob) =>
        _written.Contains(blob.Digest ?? "") ? new Descriptor { MediaType = blob.MediaType, Digest = blob.Digest, Size = blob.Size } : null;

    public Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false)
    {
        if (info.Digest is { } known && _written.Contains(known)) return TryReusingBlob(info)!;
        Descriptor stored;
        if (isConfig)
        {
            // Kept: the legacy json of the top layer takes fields from it.
            var bytes = ReadConfig(content);
            var d = RawManifest.Sha256(bytes);
            if (info.Digest is { } e && e != d.ToString()) throw VerifiedBlob.WrongDigest(Digest.Parse(e), d);
            _out.Tar.WriteFile(ConfigFile(d), bytes);
            _config = bytes;
            stored = new Descriptor { MediaType = info.MediaType, Digest = d.ToString(), Size = bytes.Length };
        }
        else stored = _out.WriteBlob("", content, info, LayerFile);
        _written.Add(stored.Digest!);
        return stored;
    }

    static byte[] ReadConfig(Stream content)
    {
        var ms = new MemoryStream();
        var buffer = new byte[1 << 16];
        int n;
        while ((n = content.Read(buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > VerifiedBlob.MaxDocumentBytes) throw new ImageException($"config: more than {VerifiedBlob.MaxDocumentBytes} bytes");
        }
        return ms.ToArray();
    }

    public void PutManifest(RawManifest manifest, Digest? instance = null)
    {
        if (instance is not null || !manifest.IsManifest)
            throw new ImageException($"{Reference}: a docker-archive holds one image, not an index (copy one platform: --platform, without --all)");
        _manifest = manifest.ParseManifest($"manifest {manifest.Digest}");
    }

    public void Commit(Descriptor? entry = null)
    {
        var m = _manifest ?? throw new InvalidOperationException("Commit before PutManifest");
        var config = Digest.Parse(m.Config!.Digest!);
        if (!_written.Contains(config.ToString()) || _config is null) throw new ImageException($"{Reference}: the config {config} was not written");
        var layers = m.Layers!.Select(l => Digest.Parse(l.Digest!)).ToList();
        _out.Tar.WriteFile("manifest.json", ArchiveItem.WriteList(new[] { new ArchiveItem(ConfigFile(config), _repoTags.ToList(), layers.Select(LayerFile).ToList()) }));
        var top = WriteLegacyLayers(layers);
        var repositories = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        if (top is not null)
            foreach (var tag in _repoTags)
            {
                int colon = tag.LastIndexOf(':');
                var (repo, t) = colon > tag.LastIndexOf('/') ? (tag[..colon], tag[(colon + 1)..]) : (tag, "latest");
                if (!repositories.TryGetValue(repo, out var tags)) repositories[repo] = tags = new(StringComparer.Ordinal);
                tags[t] = top;
            }
        _out.Tar.WriteFile("repositories", JsonOut.Write(w =>
        {
            w.WriteStartObject();
            foreach (var (repo, tags) in repositories)
            {
                w.WriteStartObject(repo);
                foreach (var (t, id) in tags) w.WriteString(t, id);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }));
        _out.Commit();
    }

    /// <summary>
    /// The pre-1.10 format beside manifest.json, as containers/image writes it: a directory per
    /// layer, named by an id made from the chain of diff_ids (and, for the top one, the image's
    /// config fields it carries), holding VERSION, json and a link to the layer file. Returns the
    /// top layer's id.
    /// </summary>
    string? WriteLegacyLayers(List<Digest> layers)
    {
        string? parent = null;
        string chain = "";
        for (int i = 0; i < layers.Count; i++)
        {
            chain = i == 0 ? layers[i].ToString() : RawManifest.Sha256(Encoding.ASCII.GetBytes($"{chain} {layers[i]}")).ToString();
            var json = JsonOut.Write(w =>
            {
                w.WriteStartObject();
                if (i == layers.Count - 1) WriteTopFields(w);
                w.WriteString("layer_id", chain);
                if (parent is not null) w.WriteString("parent", parent);
                w.WriteEndObject();
            });
            var id = RawManifest.Sha256(json).Encoded;
            var withId = JsonOut.Write(w =>
            {
                w.WriteStartObject();
                if (i == layers.Count - 1) WriteTopFields(w);
                w.WriteString("id", id);
                if (parent is not null) w.WriteString("parent", parent);
                w.WriteEndObject();
            });
            _out.Tar.WriteSymlink($"{id}/layer.tar", $"../{LayerFile(layers[i])}");
            _out.Tar.WriteFile($"{id}/VERSION", "1.0"u8);
            _out.Tar.WriteFile($"{id}/json", withId);
            parent = id;
        }
        return parent;
    }

    /// <summary>The image config's fields a legacy top layer json repeats (containers/image's list).</summary>
    void WriteTopFields(System.Text.Json.Utf8JsonWriter w)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(_config!);
        foreach (var name in new[] { "architecture", "config", "container", "container_config", "created", "docker_version", "os" })
            if (doc.RootElement.TryGetProperty(name, out var v))
            {
                w.WritePropertyName(name);
                v.WriteTo(w);
            }
    }

    public void Dispose() => _out.Dispose();
}
