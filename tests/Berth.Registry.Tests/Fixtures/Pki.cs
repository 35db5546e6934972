using System.Diagnostics;

namespace Berth.Registry.Tests.Fixtures;

/// <summary>
/// Certificates made by openssl for a test: a CA, a server certificate it signed for 127.0.0.1 and
/// localhost, a client certificate it signed, and a self-signed key pair for signing registry tokens.
/// All in <see cref="Dir"/>, removed on dispose.
/// </summary>
public sealed class Pki : IDisposable
{
    public string Dir { get; }
    public string CaCert => Path.Combine(Dir, "ca.crt");
    public string CaKey => Path.Combine(Dir, "ca.key");
    public string ServerCert => Path.Combine(Dir, "server.crt");
    public string ServerKey => Path.Combine(Dir, "server.key");
    public string ClientCert => Path.Combine(Dir, "client.cert");
    public string ClientKey => Path.Combine(Dir, "client.key");
    public string TokenCert => Path.Combine(Dir, "token.crt");
    public string TokenKey => Path.Combine(Dir, "token.key");

    public Pki()
    {
        Dir = Directory.CreateTempSubdirectory("berth-pki-").FullName;
        try
        {
            OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", CaKey, "-out", CaCert, "-days", "2", "-subj", "/CN=berth-test-ca",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
            Sign("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n", ServerKey, ServerCert);
            Sign("client", "/CN=berth-test-client", "extendedKeyUsage=clientAuth\n", ClientKey, ClientCert);
            OpenSsl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", TokenKey, "-out", TokenCert, "-days", "2", "-subj", "/CN=berth-test-token-signer");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    void Sign(string name, string subject, string extensions, string key, string cert)
    {
        var csr = Path.Combine(Dir, name + ".csr");
        var ext = Path.Combine(Dir, name + ".ext");
        File.WriteAllText(ext, extensions);
        OpenSsl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", subject);
        OpenSsl("x509", "-req", "-in", csr, "-CA", CaCert, "-CAkey", CaKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext);
    }

    static void OpenSsl(params string[] args)
    {
        var psi = new ProcessStartInfo("openssl") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000)) { p.Kill(); throw new TimeoutException("openssl did not finish in 60 s"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"openssl {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result}");
    }

    /// <summary>A directory laid out as containers-certs.d(5) wants for one host: ca.crt (and the client pair when asked).</summary>
    public string CertsDir(string parent, string host, bool withClientCert = false)
    {
        var dir = Path.Combine(parent, host);
        Directory.CreateDirectory(dir);
        File.Copy(CaCert, Path.Combine(dir, "ca.crt"), overwrite: true);
        if (withClientCert)
        {
            File.Copy(ClientCert, Path.Combine(dir, "client.cert"), overwrite: true);
            File.Copy(ClientKey, Path.Combine(dir, "client.key"), overwrite: true);
        }
        return dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
