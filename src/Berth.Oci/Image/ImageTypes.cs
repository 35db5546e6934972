// image-spec v1.1 documents: property names are the spec's.
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Oci.Image;

/// <summary>A content descriptor (descriptor.md): what a blob is, its digest and size.</summary>
public sealed class Descriptor : JsonModel
{
    public string? MediaType { get; set; }
    public string? Digest { get; set; }
    public long? Size { get; set; }
    public List<string>? Urls { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
    public string? Data { get; set; }
    public string? ArtifactType { get; set; }
    public Platform? Platform { get; set; }

    public static Descriptor Read(JsonIn o) => new()
    {
        MediaType = o.String("mediaType"),
        Digest = o.String("digest"),
        Size = o.Int64("size"),
        Urls = o.Strings("urls"),
        Annotations = o.StringMap("annotations"),
        Data = o.String("data"),
        ArtifactType = o.String("artifactType"),
        Platform = o.Object("platform", Platform.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("mediaType", MediaType);
        w.Opt("digest", Digest);
        w.Opt("size", Size);
        w.Opt("urls", Urls);
        w.Opt("annotations", Annotations);
        w.Opt("data", Data);
        w.Opt("artifactType", ArtifactType);
        w.Opt("platform", Platform);
    }
}

/// <summary>The platform an image in an index is for.</summary>
public sealed class Platform : JsonModel
{
    public string? Architecture { get; set; }
    public string? Os { get; set; }
    public string? OsVersion { get; set; }
    public List<string>? OsFeatures { get; set; }
    public string? Variant { get; set; }
    public List<string>? Features { get; set; }

    public static Platform Read(JsonIn o) => new()
    {
        Architecture = o.String("architecture"),
        Os = o.String("os"),
        OsVersion = o.String("os.version"),
        OsFeatures = o.Strings("os.features"),
        Variant = o.String("variant"),
        Features = o.Strings("features"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("architecture", Architecture);
        w.Opt("os", Os);
        w.Opt("os.version", OsVersion);
        w.Opt("os.features", OsFeatures);
        w.Opt("variant", Variant);
        w.Opt("features", Features);
    }
}

/// <summary>An image manifest (manifest.md); Docker v2.2 manifests share its shape.</summary>
public sealed class Manifest : JsonModel
{
    public int? SchemaVersion { get; set; }
    public string? MediaType { get; set; }
    public string? ArtifactType { get; set; }
    public Descriptor? Config { get; set; }
    public List<Descriptor>? Layers { get; set; }
    public Descriptor? Subject { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }

    public static Manifest Read(JsonIn o) => new()
    {
        SchemaVersion = o.Int32("schemaVersion"),
        MediaType = o.String("mediaType"),
        ArtifactType = o.String("artifactType"),
        Config = o.Object("config", Descriptor.Read),
        Layers = o.Array("layers", Descriptor.Read),
        Subject = o.Object("subject", Descriptor.Read),
        Annotations = o.StringMap("annotations"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("schemaVersion", SchemaVersion);
        w.Opt("mediaType", MediaType);
        w.Opt("artifactType", ArtifactType);
        w.Opt("config", Config);
        w.Opt("layers", Layers);
        w.Opt("subject", Subject);
        w.Opt("annotations", Annotations);
    }
}

/// <summary>An image index (image-index.md); Docker manifest lists share its shape.</summary>
public sealed class ImageIndex : JsonModel
{
    public int? SchemaVersion { get; set; }
    public string? MediaType { get; set; }
    public string? ArtifactType { get; set; }
    public List<Descriptor>? Manifests { get; set; }
    public Descriptor? Subject { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }

    public static ImageIndex Read(JsonIn o) => new()
    {
        SchemaVersion = o.Int32("schemaVersion"),
        MediaType = o.String("mediaType"),
        ArtifactType = o.String("artifactType"),
        Manifests = o.Array("manifests", Descriptor.Read),
        Subject = o.Object("subject", Descriptor.Read),
        Annotations = o.StringMap("annotations"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("schemaVersion", SchemaVersion);
        w.Opt("mediaType", MediaType);
        w.Opt("artifactType", ArtifactType);
        w.Opt("manifests", Manifests);
        w.Opt("subject", Subject);
        w.Opt("annotations", Annotations);
    }
}

/// <summary>An image configuration (config.md).</summary>
public sealed class ImageConfig : JsonModel
{
    public string? Created { get; set; }
    public string? Author { get; set; }
    public string? Architecture { get; set; }
    public string? Os { get; set; }
    public string? OsVersion { get; set; }
    public List<string>? OsFeatures { get; set; }
    public string? Variant { get; set; }
    public ContainerConfig? Config { get; set; }
    public RootfsDiffs? Rootfs { get; set; }
    public List<History>? History { get; set; }

    public static ImageConfig Read(JsonIn o) => new()
    {
        Created = o.String("created"),
        Author = o.String("author"),
        Architecture = o.String("architecture"),
        Os = o.String("os"),
        OsVersion = o.String("os.version"),
        OsFeatures = o.Strings("os.features"),
        Variant = o.String("variant"),
        Config = o.Object("config", ContainerConfig.Read),
        Rootfs = o.Object("rootfs", RootfsDiffs.Read),
        History = o.Array("history", Image.History.Read),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("created", Created);
        w.Opt("author", Author);
        w.Opt("architecture", Architecture);
        w.Opt("os", Os);
        w.Opt("os.version", OsVersion);
        w.Opt("os.features", OsFeatures);
        w.Opt("variant", Variant);
        w.Opt("config", Config);
        w.Opt("rootfs", Rootfs);
        w.Opt("history", History);
    }
}

/// <summary>config.rootfs: the layers' uncompressed digests, in order.</summary>
public sealed class RootfsDiffs : JsonModel
{
    public string? Type { get; set; }
    public List<string>? DiffIds { get; set; }

    public static RootfsDiffs Read(JsonIn o) => new()
    {
        Type = o.String("type"),
        DiffIds = o.Strings("diff_ids"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("type", Type);
        w.Opt("diff_ids", DiffIds);
    }
}

/// <summary>config.history[]: how a layer came to be.</summary>
public sealed class History : JsonModel
{
    public string? Created { get; set; }
    public string? CreatedBy { get; set; }
    public string? Author { get; set; }
    public string? Comment { get; set; }
    public bool? EmptyLayer { get; set; }

    public static History Read(JsonIn o) => new()
    {
        Created = o.String("created"),
        CreatedBy = o.String("created_by"),
        Author = o.String("author"),
        Comment = o.String("comment"),
        EmptyLayer = o.Bool("empty_layer"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("created", Created);
        w.Opt("created_by", CreatedBy);
        w.Opt("author", Author);
        w.Opt("comment", Comment);
        w.Opt("empty_layer", EmptyLayer);
    }
}

/// <summary>config.config: the defaults for running the image.</summary>
public sealed class ContainerConfig : JsonModel
{
    public string? User { get; set; }
    public List<string>? ExposedPorts { get; set; }
    public List<string>? Env { get; set; }
    public List<string>? Entrypoint { get; set; }
    public List<string>? Cmd { get; set; }
    public List<string>? Volumes { get; set; }
    public string? WorkingDir { get; set; }
    public Dictionary<string, string>? Labels { get; set; }
    public string? StopSignal { get; set; }
    public bool? ArgsEscaped { get; set; }

    public static ContainerConfig Read(JsonIn o) => new()
    {
        User = o.String("User"),
        ExposedPorts = o.Keys("ExposedPorts"),
        Env = o.Strings("Env"),
        Entrypoint = o.Strings("Entrypoint"),
        Cmd = o.Strings("Cmd"),
        Volumes = o.Keys("Volumes"),
        WorkingDir = o.String("WorkingDir"),
        Labels = o.StringMap("Labels"),
        StopSignal = o.String("StopSignal"),
        ArgsEscaped = o.Bool("ArgsEscaped"),
    };

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        w.Opt("User", User);
        w.OptSet("ExposedPorts", ExposedPorts);
        w.Opt("Env", Env);
        w.Opt("Entrypoint", Entrypoint);
        w.Opt("Cmd", Cmd);
        w.OptSet("Volumes", Volumes);
        w.Opt("WorkingDir", WorkingDir);
        w.Opt("Labels", Labels);
        w.Opt("StopSignal", StopSignal);
        w.Opt("ArgsEscaped", ArgsEscaped);
    }
}
