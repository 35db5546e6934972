using System.Text;
using System.Text.Json;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Engine.Build.Executor;

/// <summary>
/// A stage's image as the build goes: its config (rootfs.diff_ids, history) and its layers, whose
/// blobs are in the store. Its id is its config's digest, what the cache keys the next step on.
/// </summary>
public sealed class ImageState
{
    public ImageConfig Config { get; private set; }
    public List<Descriptor> Layers { get; }

    public ImageState(ImageConfig config, IEnumerable<Descriptor> layers)
    {
        Config = config;
        Config.Config ??= new ContainerConfig();
        Config.Rootfs ??= new RootfsDiffs { Type = "layers", DiffIds = new() };
        Config.Rootfs.DiffIds ??= new();
        Config.History ??= new();
        Layers = layers.ToList();
    }

    public static ImageState Scratch(PlatformSpec platform) => new(new ImageConfig
    {
        Architecture = platform.Architecture, Os = platform.Os, Variant = platform.Variant,
        Config = new ContainerConfig(),
        Rootfs = new RootfsDiffs { Type = "layers", DiffIds = new() },
        History = new(),
    }, Array.Empty<Descriptor>());

    public ContainerConfig Container => Config.Config!;
    public List<string> DiffIds => Config.Rootfs!.DiffIds!;

    public byte[] ConfigBytes() => JsonOut.Document(Config);

    public string Id => RawManifest.Sha256(ConfigBytes()).ToString();

    public ImageState Clone() => new(Documents.ParseConfig(ConfigBytes(), "config"), Layers);

    public void Replace(ImageConfig config, IEnumerable<Descriptor> layers)
    {
        Config = config;
        Layers.Clear();
        Layers.AddRange(layers);
    }

    // Docker's config fields Berth's ContainerConfig does not model (Healthcheck, OnBuild, Shell):
    // kept as raw JSON members, which the codec writes back as they are.

    public byte[]? Raw(string name) => Container.Unknown?.LastOrDefault(m => m.Name == name) is { Name: not null } m ? m.Utf8Value : null;

    public void SetRaw(string name, byte[]? json)
    {
        var c = Container;
        c.Unknown?.RemoveAll(m => m.Name == name);
        if (json is null) return;
        c.Unknown ??= new();
        c.Unknown.Add(new JsonMember(name, json));
    }

    public List<string>? RawStrings(string name)
    {
        if (Raw(name) is not { } bytes) return null;
        using var doc = JsonDocument.Parse(bytes);
        return doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : null;
    }

    public void SetStrings(string name, IReadOnlyList<string>? values) =>
        SetRaw(name, values is null ? null : JsonOut.Write(w =>
        {
            w.WriteStartArray();
            foreach (var v in values) w.WriteStringValue(v);
            w.WriteEndArray();
        }));

    public static string Json(IEnumerable<string> values) => Encoding.UTF8.GetString(JsonOut.Write(w =>
    {
        w.WriteStartArray();
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }));
}
