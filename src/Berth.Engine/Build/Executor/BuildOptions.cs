namespace Berth.Engine.Build.Executor;

/// <summary>`berth build`'s flags as data (buildah bud's and docker build's).</summary>
public sealed class BuildOptions
{
    /// <summary>The context directory, absolute.</summary>
    public required string ContextDir { get; init; }
    /// <summary>The Containerfile's path on the host and its text (read by the caller).</summary>
    public required string File { get; init; }
    public required string FileText { get; init; }
    public List<string> Tags { get; init; } = new();
    public Dictionary<string, string> BuildArgs { get; init; } = new();
    public string? Target { get; init; }
    /// <summary>--timestamp (seconds since the epoch) or SOURCE_DATE_EPOCH: created times fixed, mtimes clamped.</summary>
    public long? Timestamp { get; init; }
    public bool NoCache { get; init; }
    public bool Layers { get; init; } = true;
    /// <summary>RUN's network: host (buildah's default) or none.</summary>
    public string Network { get; init; } = "host";
    /// <summary>--secret id=X,src=F: id → file.</summary>
    public Dictionary<string, string> Secrets { get; init; } = new();
    public string? Platform { get; init; }
    /// <summary>oci or docker: the manifest format stored.</summary>
    public string Format { get; init; } = "oci";
    public Dictionary<string, string> Annotations { get; init; } = new();
    public Dictionary<string, string> Labels { get; init; } = new();
    /// <summary>Registry settings for FROM pulls (--tls-verify, --creds …).</summary>
    public Berth.Images.Registry.RegistrySettings? Registries { get; init; }
    /// <summary>Stages built at once (independent ones).</summary>
    public int Jobs { get; init; } = 2;
    /// <summary>Progress lines and RUN output.</summary>
    public Action<string> Log { get; init; } = _ => { };
    public Action<ReadOnlySpan<byte>> RunOutput { get; init; } = _ => { };
}

/// <summary>What a build made: the image's id (its config digest), its manifest digest and the name it is stored under.</summary>
public sealed record BuildResult(string ImageId, string ManifestDigest, string Name)
{
    /// <summary>The images the build read (FROM, COPY --from): the name given and the manifest digest used.</summary>
    public IReadOnlyList<(string Name, string Digest)> BaseImages { get; init; } = [];
}
