namespace Berth.Images.Registry;

/// <summary>
/// What one side of a registry command was told (skopeo's --src-*/--dest-* flags, or the shared
/// --tls-verify, --cert-dir, --creds, --authfile, --registries-conf, --retry-times): turned into
/// <see cref="RegistryOptions"/> and one <see cref="RegistryPool"/> the first time a docker://
/// reference is opened, never before. Nothing here touches the network, the TLS stack or a
/// config file until then, so a command that names no registry pays nothing for it.
/// </summary>
public sealed class RegistrySettings : IDisposable
{
    /// <summary>false: --tls-verify=false; true: verified even where registries.conf says insecure; null: registries.conf decides.</summary>
    public bool? TlsVerify { get; init; }
    public string? CertDir { get; init; }
    /// <summary>--creds USER[:PASSWORD]: these for every registry instead of the auth files.</summary>
    public RegistryCredentials? Credentials { get; init; }
    /// <summary>--authfile: replaces the primary auth file of the chain.</summary>
    public string? AuthFile { get; init; }
    /// <summary>--registries-conf: read alone instead of the system's and the user's files.</summary>
    public string? RegistriesConfPath { get; init; }
    /// <summary>--retry-times N: N retries after the first try (containers/common's meaning); the client's default when null.</summary>
    public int? RetryTimes { get; init; }
    /// <summary>Blob transfers to one registry at once (and the copy's parallel blobs).</summary>
    public int MaxConcurrentTransfers { get; init; } = 6;
    /// <summary>Blobs larger than this are pushed in chunks of <see cref="ChunkSize"/> (PATCH), smaller ones in one PUT.</summary>
    public long ChunkThreshold { get; init; } = 512L << 20;
    public int ChunkSize { get; init; } = 32 << 20;
    public RegistryEnvironment? Environment { get; init; }
    /// <summary>Retries, resumes and redirects, one line each (--debug).</summary>
    public Action<string>? Log { get; init; }

    RegistryEnvironment? _env;
    RegistriesConf? _conf;
    RegistryOptions? _options;
    RegistryPool? _pool;
    readonly object _gate = new();

    public RegistryEnvironment Env
    {
        get
        {
            lock (_gate) return _env ??= Environment ?? RegistryEnvironment.FromProcess();
        }
    }

    public RegistriesConf Conf
    {
        get
        {
            lock (_gate) return _conf ??= RegistriesConf.Load(Env, RegistriesConfPath);
        }
    }

    /// <summary>The auth files' chain (--authfile first), whatever --creds says: login and logout write there.</summary>
    public AuthFiles AuthFiles => AuthFiles.Default(Env, AuthFile);

    public RegistryOptions Options
    {
        get
        {
            lock (_gate)
            {
                if (_options is not null) return _options;
                var retry = RetryPolicy.Default;
                if (RetryTimes is { } n) retry = retry with { MaxAttempts = n + 1 };
                return _options = new RegistryOptions
                {
                    Environment = Env,
                    Conf = Conf,
                    Credentials = Credentials is { } c ? new FixedCredentials(c) : AuthFiles,
                    TlsVerify = TlsVerify,
                    CertDir = CertDir,
                    Retry = retry,
                    MaxConcurrentTransfers = MaxConcurrentTransfers,
                    Log = Log,
                };
            }
        }
    }

    /// <summary>One client per registry host for this side of the command.</summary>
    public RegistryPool Pool
    {
        get
        {
            var options = Options;
            lock (_gate) return _pool ??= new RegistryPool(options);
        }
    }

    /// <summary>"USER:PASSWORD" (skopeo's --creds; a missing password is an empty one).</summary>
    public static RegistryCredentials ParseCredentials(string text, string flag)
    {
        int colon = text.IndexOf(':');
        var user = colon < 0 ? text : text[..colon];
        if (user.Length == 0) throw new RegistryException($"--{flag}: a user name is required (USER:PASSWORD)");
        return new RegistryCredentials(user, colon < 0 ? "" : text[(colon + 1)..]);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _pool?.Dispose();
            _pool = null;
        }
    }
}
