using System.Diagnostics;
using Berth.Images.Registry;

namespace Berth.Registry.Tests.Fixtures;

public enum RegistryMode
{
    /// <summary>HTTP, no auth: an insecure registry (TlsVerify=false, or registries.conf's insecure). Its Location headers are relative (http.relativeurls), the others' absolute.</summary>
    Plain,
    /// <summary>HTTPS with a server certificate from an openssl CA (<see cref="RegistryFixture.CaCert"/>), htpasswd (bcrypt) Basic auth.</summary>
    TlsBasic,
    /// <summary>HTTPS that asks for a client certificate signed by the CA (http.tls.clientcas), no auth: <see cref="RegistryFixture.CertDir"/> holds the client pair.</summary>
    MutualTls,
    /// <summary>HTTP with the Bearer token flow: <see cref="RegistryFixture.Tokens"/> signs JWTs the registry trusts (auth.token).</summary>
    Token,
}

/// <summary>
/// Debian's docker-registry (distribution 2.8), started for a test on 127.0.0.1 on a free port with
/// its own config file and storage directory, stopped by pid and removed on dispose. Reusable by
/// any test project: start one per class with IClassFixture of <see cref="PlainRegistry"/>,
/// <see cref="TlsBasicRegistry"/> or <see cref="TokenRegistry"/>, then use <see cref="Host"/>,
/// <see cref="Url"/>, <see cref="CaCert"/>/<see cref="CertDir"/>, <see cref="Username"/>/<see cref="Password"/>,
/// and <see cref="Options"/> for a client configured to reach it.
/// </summary>
public class RegistryFixture : IDisposable
{
    public const string Binary = "/usr/bin/docker-registry";

    public RegistryMode Mode { get; }
    public string Dir { get; }
    public int Port { get; }
    /// <summary>"127.0.0.1:PORT", as references name the registry.</summary>
    public string Host => $"127.0.0.1:{Port}";
    public string Scheme => Mode is RegistryMode.TlsBasic or RegistryMode.MutualTls ? "https" : "http";
    public string Url => $"{Scheme}://{Host}";
    public string Username { get; } = "berth";
    public string Password { get; } = "s3cret-" + Guid.NewGuid().ToString("N")[..8];
    public RegistryCredentials Credentials => new(Username, Password);
    public Pki? Pki { get; }
    /// <summary>The CA that signed the server certificate (TlsBasic).</summary>
    public string? CaCert => Pki?.CaCert;
    /// <summary>A --cert-dir holding ca.crt only (TlsBasic).</summary>
    public string? CertDir { get; }
    public TokenServer? Tokens { get; }
    public string StorageDir => Path.Combine(Dir, "storage");
    public string LogPath => Path.Combine(Dir, "registry.log");
    /// <summary>An empty home and runtime dir for clients: no auth.json, certs.d or registries.conf of the machine leaks in.</summary>
    public RegistryEnvironment Environment { get; }
    public int Pid => _process?.Id ?? 0;

    Process? _process;
    string _config = "";

    /// <summary>Starts the registry (again, after <see cref="Kill"/>): same port, config and storage.</summary>
    public void Start()
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        // exec: the pid is the registry's own, so it is stopped by that pid.
        psi.ArgumentList.Add("exec \"$0\" serve \"$1\" </dev/null >>\"$2\" 2>&1");
        psi.ArgumentList.Add(Binary);
        psi.ArgumentList.Add(_config);
        psi.ArgumentList.Add(LogPath);
        _process = Process.Start(psi)!;
        Ports.WaitListening(Port, TimeSpan.FromSeconds(20), () => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "no log");
    }

    /// <summary>Kills the registry by its pid (SIGKILL: a crash, mid-transfer), leaving its storage for <see cref="Start"/>.</summary>
    public void Kill()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public RegistryFixture(RegistryMode mode)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: scripts/install-deps.sh test installs docker-registry");
        Mode = mode;
        Dir = Directory.CreateTempSubdirectory($"berth-registry-{mode.ToString().ToLowerInvariant()}-").FullName;
        try
        {
            Directory.CreateDirectory(StorageDir);
            Environment = new RegistryEnvironment(Path.Combine(Dir, "home"), Path.Combine(Dir, "run"), null, null, null, null, 0);
            Directory.CreateDirectory(Environment.Home!);
            Directory.CreateDirectory(Environment.XdgRuntimeDir!);
            Port = Ports.Free();
            var auth = "";
            var tls = "";
            if (mode == RegistryMode.TlsBasic)
            {
                Pki = new Pki();
                CertDir = Path.Combine(Dir, "certdir");
                Directory.CreateDirectory(CertDir);
                File.Copy(Pki.CaCert, Path.Combine(CertDir, "ca.crt"));
                var htpasswd = Path.Combine(Dir, "htpasswd");
                Run("htpasswd", "-Bbc", htpasswd, Username, Password);
                tls = $"  tls:\n    certificate: {Pki.ServerCert}\n    key: {Pki.ServerKey}\n";
                auth = $"auth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n";
            }
            else if (mode == RegistryMode.MutualTls)
            {
                Pki = new Pki();
                CertDir = Path.Combine(Dir, "certdir");
                Directory.CreateDirectory(CertDir);
                File.Copy(Pki.CaCert, Path.Combine(CertDir, "ca.crt"));
                File.Copy(Pki.ClientCert, Path.Combine(CertDir, "client.cert"));
                File.Copy(Pki.ClientKey, Path.Combine(CertDir, "client.key"));
                tls = $"  tls:\n    certificate: {Pki.ServerCert}\n    key: {Pki.ServerKey}\n    clientcas:\n      - {Pki.CaCert}\n";
            }
            else if (mode == RegistryMode.Token)
            {
                Pki = new Pki();
                Tokens = new TokenServer(Pki, Username, Password);
                auth = $"auth:\n  token:\n    realm: {Tokens.Realm}\n    service: {TokenServer.Service}\n    issuer: {TokenServer.Issuer}\n    rootcertbundle: {Pki.TokenCert}\n";
            }
            var config = Path.Combine(Dir, "config.yml");
            File.WriteAllText(config, $"""
                version: 0.1
                log:
                  level: info
                  formatter: text
                storage:
                  filesystem:
                    rootdirectory: {StorageDir}
                  delete:
                    enabled: true
                  maintenance:
                    uploadpurging:
                      enabled: false
                http:
                  addr: 127.0.0.1:{Port}
                  secret: berth-test-{Guid.NewGuid():N}
                  relativeurls: {(mode == RegistryMode.Plain ? "true" : "false")}
                {tls}{auth}
                """);
            _config = config;
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Options for a client of this registry: TLS as the mode needs, the fixture's credentials unless <paramref name="anonymous"/>.</summary>
    public RegistryOptions Options(bool anonymous = false, RetryPolicy? retry = null, int maxConcurrentTransfers = 6, Action<string>? log = null) => new()
    {
        Environment = Environment,
        Credentials = anonymous || Mode is RegistryMode.Plain or RegistryMode.MutualTls ? FixedCredentials.Anonymous : new FixedCredentials(Credentials),
        TlsVerify = Scheme == "https" ? null : false,
        CertDir = CertDir,
        Retry = retry ?? new RetryPolicy(4, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(5)),
        MaxConcurrentTransfers = maxConcurrentTransfers,
        Log = log,
    };

    public RegistryClient Client(bool anonymous = false) => new(Host, Options(anonymous));

    /// <summary>The registry's log so far (for a failing test's message).</summary>
    public string Log() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    /// <summary>skopeo's flags to reach this registry as source or destination ("src" or "dest").</summary>
    public string[] SkopeoFlags(string side) => Mode switch
    {
        RegistryMode.Plain => [$"--{side}-tls-verify=false"],
        RegistryMode.TlsBasic => [$"--{side}-cert-dir={CertDir}", $"--{side}-creds={Username}:{Password}"],
        RegistryMode.MutualTls => [$"--{side}-cert-dir={CertDir}"],
        _ => [$"--{side}-tls-verify=false", $"--{side}-creds={Username}:{Password}"],
    };

    static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException($"{file} did not finish in 30 s"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file}: exit {p.ExitCode}: {err.Result}");
    }

    public void Dispose()
    {
        Kill();
        Tokens?.Dispose();
        Pki?.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (DirectoryNotFoundException) { }
        GC.SuppressFinalize(this);
    }
}

public sealed class PlainRegistry() : RegistryFixture(RegistryMode.Plain);
public sealed class TlsBasicRegistry() : RegistryFixture(RegistryMode.TlsBasic);
public sealed class TokenRegistry() : RegistryFixture(RegistryMode.Token);
public sealed class MutualTlsRegistry() : RegistryFixture(RegistryMode.MutualTls);
