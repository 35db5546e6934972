namespace Berth.Serve.Http;

/// <summary>`berth serve`'s command line, parsed and checked.</summary>
public sealed record ServeOptions
{
    public required string Listen { get; init; }
    public required string DataDir { get; init; }
    public required string PolicyPath { get; init; }
    public string? Database { get; init; }
    public string? TlsCert { get; init; }
    public string? TlsKey { get; init; }
    public string? ClientCa { get; init; }
    /// <summary>--tls-verify=false: registries' certificates are not verified (the registry client's switch).</summary>
    public bool TlsVerify { get; init; } = true;
    public int Workers { get; init; } = Environment.ProcessorCount;
    public string? TokensPath { get; init; }
    public required string KeyFile { get; init; }
    /// <summary>The OSV database scans match against (berth db import).</summary>
    public required string VulnDb { get; init; }
    /// <summary>containers-policy.json gating every pull into the service's store; null: the default file podman honours.</summary>
    public string? PullPolicy { get; init; }
    public bool InsecurePullPolicy { get; init; }
}
