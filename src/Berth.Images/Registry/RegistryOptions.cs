namespace Berth.Images.Registry;

/// <summary>Everything a <see cref="RegistryClient"/> is configured by; the defaults are containers/image's.</summary>
public sealed class RegistryOptions
{
    /// <summary>Home, XDG directories, $REGISTRY_AUTH_FILE…: where certs.d and the auth files are looked for.</summary>
    public RegistryEnvironment Environment { get; init; } = RegistryEnvironment.FromProcess();

    /// <summary>registries.conf: which registries are insecure (no TLS verification, HTTP allowed).</summary>
    public RegistriesConf Conf { get; init; } = RegistriesConf.Empty;

    public ICredentialSource Credentials { get; init; } = FixedCredentials.Anonymous;

    /// <summary>false: no TLS verification and HTTP allowed (--tls-verify=false); true: verified even where registries.conf says insecure; null: registries.conf decides.</summary>
    public bool? TlsVerify { get; init; }

    /// <summary>A --cert-dir: its *.crt, *.cert and *.key replace the certs.d lookup.</summary>
    public string? CertDir { get; init; }

    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>Blob transfers in flight at once to one registry, however many a caller starts (and the connections kept to it).</summary>
    public int MaxConcurrentTransfers { get; init; } = 6;

    /// <summary>How long a request may wait for the response headers.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a blob body may send nothing before the connection counts as broken (and the blob is resumed).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public string UserAgent { get; init; } = "berth/0.1 (containers/image compatible)";

    /// <summary>Retries, redirects and resumes, one line each, for --debug; null: silent.</summary>
    public Action<string>? Log { get; init; }
}
