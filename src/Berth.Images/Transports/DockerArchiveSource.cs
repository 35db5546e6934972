using System.Text;
using Berth.Images.Archives;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// An image of a docker-archive, read in place. The archive holds no manifest, so one is made
/// exactly as containers/image's docker-archive source makes it — the same bytes, so the same
/// digest as podman and skopeo see for the same archive: Docker v2s2, the config by its digest,
/// each layer by its diff_id with its uncompressed size and the gzip media type (containers/image's
/// choice, whatever the layer file holds: the copy and the unpacker tell compression by the
/// bytes). A layer is served uncompressed, checked against its diff_id.
/// </summary>
public sealed class DockerArchiveSource : IImageSource
{
    readonly TarIndex _tar;
    readonly bool _ownsTar;
    readonly byte[] _config;
    readonly Digest _configDigest;
    /// <summary>By diff_id: the member holding the layer, its uncompressed size, its compression.</summary>
    readonly Dictionary<string, (string Member, long Size, LayerCompression Compression)> _layers = new(StringComparer.Ordinal);
    readonly RawManifest _manifest;

    DockerArchiveSource(ImageReference reference, TarIndex tar, bool ownsTar, ArchiveItem item, int position)
    {
        Reference = reference;
        _tar = tar;
        _ownsTar = ownsTar;
        var what = $"{tar.Path}: manifest.json [{position}]";
        _config = tar.ReadAll(item.Config, BlobStore.MaxDocumentBytes) ?? throw new ImageException($"{what}: its config {Quote.Of(item.Config)} is not in the archive");
        _configDigest = RawManifest.Sha256(_config);
        var config = Documents.ParseConfig(_config, $"config {_configDigest}");
        var diffIds = config.Rootfs?.DiffIds ?? new();
        if (diffIds.Count != item.Layers.Count)
            throw new ImageException($"{what}: {item.Layers.Count} layers, and its config lists {diffIds.Count} diff_ids");
        var manifest = new StringBuilder()
            .Append("{\"schemaVersion\":2,\"mediaType\":\"").Append(MediaTypes.DockerManifest)
            .Append("\",\"config\":{\"mediaType\":\"").Append(MediaTypes.DockerConfig).Append("\",\"size\":").Append(_config.Length)
            .Append(",\"digest\":\"").Append(_configDigest).Append("\"},\"layers\":[");
        for (int i = 0; i < diffIds.Count; i++)
        {
            var diffId = Digest.Parse(diffIds[i], $"config {_configDigest}: rootfs.diff_ids[{i}]").ToString();
            if (!_layers.TryGetValue(diffId, out var layer))
            {
                layer = Measure(item.Layers[i], what);
                _layers[diffId] = layer;
            }
            else if (layer.Member != TarIndex.Clean(item.Layers[i]) && Measure(item.Layers[i], what).Size != layer.Size)
                throw new ImageException($"{what}: layers {Quote.Of(layer.Member)} and {Quote.Of(item.Layers[i])} have the same diff_id {diffId} but not the same size");
            manifest.Append(i == 0 ? "" : ",").Append("{\"mediaType\":\"").Append(MediaTypes.DockerLayerGzip)
                .Append("\",\"size\":").Append(layer.Size).Append(",\"digest\":\"").Append(diffId).Append("\"}");
        }
        manifest.Append("]}");
        _manifest = new RawManifest(Encoding.UTF8.GetBytes(manifest.ToString()), MediaTypes.DockerManifest);
    }

    /// <summary>The member behind a layer path, and its uncompressed size (a compressed layer file is read once, through its decompressor, to learn it).</summary>
    (string Member, long Size, LayerCompression Compression) Measure(string path, string what)
    {
        var member = TarIndex.Clean(path) ?? throw new ImageException($"{what}: layer path {Quote.Of(path)} climbs out of the archive");
        using var raw = _tar.Open(member) ?? throw new ImageException($"{what}: layer {Quote.Of(path)} is not in the archive");
        var peeked = new PeekedStream(raw, LayerCodecs.MagicBytes);
        var compression = LayerCodecs.Detect(peeked.Head, $"{_tar.Path}: {Quote.Of(path)}");
        if (compression == LayerCompression.None) return (member, _tar.SizeOf(member)!.Value, compression);
        using var inflated = LayerCodecs.Decompress(peeked, compression);
        long size = 0;
        var buffer = new byte[1 << 16];
        int n;
        while ((n = inflated.Read(buffer)) > 0) size += n;
        return (member, size, compression);
    }

    public static List<ArchiveItem> ReadItems(TarIndex tar)
    {
        var json = tar.ReadAll("manifest.json", BlobStore.MaxDocumentBytes)
            ?? throw new ImageException($"{tar.Path}: no manifest.json (not a docker-archive, or one older than Docker 1.10)");
        return ArchiveItem.ParseList(json, $"{tar.Path}: manifest.json");
    }

    internal static DockerArchiveSource Open(DockerArchiveTransport.Reference r)
    {
        var tar = TarIndex.Open(r.Path, OciArchiveTransport.Scratch);
        try
        {
            var items = ReadItems(tar);
            int position;
            if (r.Position is { } p)
                position = p < items.Count ? p : throw new ImageException($"{tar.Path}: no image @{p}; the archive holds {items.Count}");
            else if (r.Name is { } name)
            {
                var want = RepoTag.Normalize(name);
                position = items.FindIndex(i => i.RepoTags.Any(t => RepoTag.TryNormalize(t) == want));
                if (position < 0) throw new ImageException($"{tar.Path}: no image tagged {Quote.Of(name)} (it holds {string.Join(", ", items.SelectMany(i => i.RepoTags).Select(Quote.Of).DefaultIfEmpty("untagged images"))})");
            }
            else if (items.Count == 1) position = 0;
            else throw new ImageException($"{tar.Path}: {items.Count} images in the archive; name one (docker-archive:{r.Path}:NAME:TAG or :@N)");
            return Open(r, tar, items[position], position, owned: true);
        }
        catch
        {
            tar.Dispose();
            throw;
        }
    }

    internal static DockerArchiveSource Open(ImageReference r, TarIndex tar, ArchiveItem item, int position, bool owned) => new(r, tar, owned, item, position);

    public ImageReference Reference { get; }
    public Descriptor? Entry => null;

    public RawManifest GetManifest(Digest? instance = null) =>
        instance is null || instance == _manifest.Digest ? _manifest : throw new ImageException($"{_tar.Path}: a docker-archive holds no manifest {instance}");

    public Stream GetBlob(Descriptor blob)
    {
        var (d, size) = VerifiedBlob.Describe(blob, "blob");
        if (d == _configDigest) return new VerifyingStream(new MemoryStream(_config, writable: false), d, size);
        if (!_layers.TryGetValue(d.ToString(), out var layer)) throw new ImageException($"blob {d} is not in {_tar.Path}");
        var raw = _tar.Open(layer.Member)!;
        return new VerifyingStream(LayerCodecs.Decompress(raw, layer.Compression), d, size);
    }

    public bool HasBlob(Descriptor blob) => blob.Digest == _configDigest.ToString() || _layers.ContainsKey(blob.Digest ?? "");

    public void Dispose()
    {
        if (_ownsTar) _tar.Dispose();
    }
}
