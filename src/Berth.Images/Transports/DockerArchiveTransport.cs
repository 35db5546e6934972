using System.Text.Json;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// docker-archive:FILE[:REF], the tarball of `docker save` and `podman save`: manifest.json (a list
/// of {Config, RepoTags, Layers}, paths inside the archive), the config, the layer tars, and the
/// legacy "repositories" file. REF picks an image by one of its RepoTags ("name[:tag]", normalised
/// as docker normalises it) or by position ("@N"); without it the archive must hold one image.
/// Written, REF becomes the image's RepoTag. Layouts of both eras are read: Docker's
/// "ID/layer.tar" (with links for repeated layers) and "HEX.tar", and Docker 25's OCI layout.
/// </summary>
public sealed class DockerArchiveTransport : ImageTransport
{
    public override string Name => "docker-archive";

    public override string? ValidatePolicyScope(string scope) => "docker-archive: does not support any scopes except the default \"\" one";

    public override ImageReference Parse(string rest)
    {
        var (path, name) = PathAndName.Split(Name, rest);
        int? position = null;
        if (name is not null && name.StartsWith('@'))
        {
            if (!int.TryParse(name.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
                throw new ImageException($"docker-archive:{rest}: {Quote.Of(name)} is not @N, the position of an image in the archive");
            position = n;
            name = null;
        }
        if (name is not null) RepoTag.Normalize(name);
        return new Reference(this, path, name, position);
    }

    internal sealed class Reference(DockerArchiveTransport transport, string path, string? name, int? position) : ImageReference
    {
        public override ImageTransport Transport => transport;
        public string Path => path;
        public override string? Name => name;
        public int? Position => position;

        public override ImageReference WithDefaultName(string n) => name is null && position is null && RepoTag.TryNormalize(n) is not null ? new Reference(transport, path, n, null) : this;

        public override IImageSource OpenSource() => DockerArchiveSource.Open(this);

        public override IImageDestination OpenDestination()
        {
            if (position is not null) throw new ImageException($"{this}: an image is written under a name, not at a position");
            return new DockerArchiveDestination(this, path, name is null ? Array.Empty<string>() : new[] { RepoTag.WithTag(name) });
        }

        public override IReadOnlyList<Descriptor> List()
        {
            using var tar = Archives.TarIndex.Open(path, OciArchiveTransport.Scratch);
            var items = DockerArchiveSource.ReadItems(tar);
            var list = new List<Descriptor>();
            for (int i = 0; i < items.Count; i++)
            {
                using var src = DockerArchiveSource.Open(this, tar, items[i], i, owned: false);
                var m = src.GetManifest().Descriptor;
                var tags = items[i].RepoTags.Count > 0 ? items[i].RepoTags : new List<string> { $"@{i}" };
                foreach (var tag in tags)
                    list.Add(new Descriptor { MediaType = m.MediaType, Digest = m.Digest, Size = m.Size, Annotations = new() { [Store.OciLayout.RefName] = tag } });
            }
            return list;
        }

        public override string ToString() => $"docker-archive:{path}{(name is not null ? ":" + name : position is { } p ? $":@{p}" : "")}";
    }
}

/// <summary>One image of manifest.json.</summary>
public sealed record ArchiveItem(string Config, List<string> RepoTags, List<string> Layers)
{
    public static List<ArchiveItem> ParseList(byte[] json, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new ImageException($"{what}: not a list of images");
            var items = new List<ArchiveItem>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Object) throw new ImageException($"{what}: [{items.Count}] is not an object");
                string? config = e.TryGetProperty("Config", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                if (string.IsNullOrEmpty(config)) throw new ImageException($"{what}: [{items.Count}].Config is required");
                items.Add(new ArchiveItem(config, Strings(e, "RepoTags", what, items.Count), Strings(e, "Layers", what, items.Count)));
            }
            return items;
        }
        catch (JsonException e)
        {
            throw new ImageException($"{what}: invalid JSON ({e.Message.TrimEnd('.')})");
        }
    }

    static List<string> Strings(JsonElement e, string field, string what, int i)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return new();
        if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
            throw new ImageException($"{what}: [{i}].{field} is not a list of strings");
        return v.EnumerateArray().Select(x => x.GetString()!).ToList();
    }

    public static byte[] WriteList(IEnumerable<ArchiveItem> items) => Oci.Json.JsonOut.Write(w =>
    {
        w.WriteStartArray();
        foreach (var item in items)
        {
            w.WriteStartObject();
            w.WriteString("Config", item.Config);
            w.WriteStartArray("RepoTags");
            foreach (var t in item.RepoTags) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteStartArray("Layers");
            foreach (var l in item.Layers) w.WriteStringValue(l);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });
}

/// <summary>
/// A RepoTag as docker and containers/image compare them: "busybox" is
/// "docker.io/library/busybox:latest", a first part with '.' or ':' or "localhost" is a registry.
/// </summary>
public static class RepoTag
{
    public static string Normalize(string text) =>
        TryNormalize(text) ?? throw new ImageException($"{Quote.Of(text)} is not a name[:tag] (docker-archive names an image by a tag, not a digest)");

    public static string? TryNormalize(string text)
    {
        if (text.Length == 0 || text.Contains('@') || text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c))) return null;
        var (name, tag) = SplitTag(text);
        if (name.Length == 0 || tag.Length == 0 || name.Split('/').Any(p => p.Length == 0)) return null;
        int slash = name.IndexOf('/');
        string domain, path;
        if (slash >= 0 && (name[..slash].Contains('.') || name[..slash].Contains(':') || name[..slash] == "localhost"))
            (domain, path) = (name[..slash], name[(slash + 1)..]);
        else
            (domain, path) = ("docker.io", name);
        if (domain == "docker.io" && !path.Contains('/')) path = "library/" + path;
        if (path.Any(char.IsAsciiLetterUpper)) return null;
        return $"{domain}/{path}:{tag}";
    }

    /// <summary>The name with ":latest" when it has no tag, as a RepoTag is written.</summary>
    public static string WithTag(string text) => text.IndexOf(':', text.LastIndexOf('/') + 1) >= 0 ? text : text + ":latest";

    static (string Name, string Tag) SplitTag(string text)
    {
        int colon = text.IndexOf(':', text.LastIndexOf('/') + 1);
        return colon < 0 ? (text, "latest") : (text[..colon], text[(colon + 1)..]);
    }
}
