using Berth.Linux;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Images.Registry;

/// <summary>
/// How one registry's TLS is checked (containers-certs.d(5)): the system's CAs plus every *.crt of
/// the host's certs.d directory, the *.cert/*.key pairs there as client certificates, or nothing
/// checked at all when verification is off (--tls-verify=false, or `insecure` in registries.conf).
/// </summary>
public sealed class TlsSettings
{
    public const string SystemCertsDir = "/etc/containers/certs.d";
    public const string DockerCertsDir = "/etc/docker/certs.d";

    public bool Verify { get; }
    public X509Certificate2Collection Authorities { get; } = new();
    public X509Certificate2Collection ClientCertificates { get; } = new();
    /// <summary>The directories that were read (for errors and --debug).</summary>
    public IReadOnlyList<string> Directories { get; }

    TlsSettings(bool verify, IReadOnlyList<string> dirs)
    {
        Verify = verify;
        Directories = dirs;
    }

    /// <summary>
    /// The settings for <paramref name="host"/> ("HOST[:PORT]"): <paramref name="certDir"/> alone when
    /// given (a --cert-dir flag: its files, no host subdirectory, as containers/image), else
    /// HOST[:PORT] under /etc/containers/certs.d, /etc/docker/certs.d and ~/.config/containers/certs.d.
    /// </summary>
    public static TlsSettings For(string host, bool verify, RegistryEnvironment env, string? certDir = null)
    {
        var dirs = new List<string>();
        if (certDir is not null) dirs.Add(certDir);
        else
        {
            dirs.Add(Path.Combine(SystemCertsDir, host));
            dirs.Add(Path.Combine(DockerCertsDir, host));
            if (env.ConfigHome is { } ch) dirs.Add(Path.Combine(ch, "containers", "certs.d", host));
        }
        var tls = new TlsSettings(verify, dirs);
        foreach (var dir in dirs) tls.Read(dir, host);
        return tls;
    }

    void Read(string dir, string host)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var name in FileSystem.NonDirectories(dir).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, name);
            try
            {
                if (name.EndsWith(".crt"))
                    Authorities.ImportFromPemFile(file);
                else if (name.EndsWith(".cert"))
                {
                    var key = Path.Combine(dir, name[..^5] + ".key");
                    if (!File.Exists(key)) throw new RegistryException($"{host}: certs.d {dir}: missing key {Path.GetFileName(key)} for client certificate {name}");
                    // Through PKCS#12 so the key is bound to the certificate for SslStream on every platform.
                    using var pem = X509Certificate2.CreateFromPemFile(file, key);
                    ClientCertificates.Add(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
                }
                else if (name.EndsWith(".key"))
                {
                    var cert = Path.Combine(dir, name[..^4] + ".cert");
                    if (!File.Exists(cert)) throw new RegistryException($"{host}: certs.d {dir}: missing client certificate {Path.GetFileName(cert)} for key {name}");
                }
            }
            catch (System.Security.Cryptography.CryptographicException e)
            {
                throw new RegistryException($"{host}: certs.d {file}: {e.Message}");
            }
        }
    }

    /// <summary>Puts these settings on a handler.</summary>
    public void Apply(SocketsHttpHandler handler)
    {
        handler.SslOptions.RemoteCertificateValidationCallback = Validate;
        if (ClientCertificates.Count > 0) handler.SslOptions.ClientCertificates = ClientCertificates;
    }

    bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!Verify) return true;
        if (errors == SslPolicyErrors.None) return true;
        // A name that does not match is never rescued by a CA: only an untrusted chain is.
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || Authorities.Count == 0) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
        return custom.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }
}
