using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Berth.Images.Registry;

/// <summary>
/// docker's credential helper protocol (docker-credential-helpers): `docker-credential-NAME get`
/// reads the server on stdin and answers {"ServerURL","Username","Secret"}; `store` reads that
/// object; `erase` reads the server. A "not found" answer is no credentials, not an error.
/// </summary>
public static class CredentialHelper
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static RegistryCredentials? Get(string helper, string server)
    {
        var (code, stdout, stderr) = Run(helper, "get", server);
        if (code != 0)
        {
            if ((stdout + stderr).Contains("credentials not found", StringComparison.OrdinalIgnoreCase)) return null;
            throw new RegistryException($"{server}: credential helper docker-credential-{helper} get: exit {code}: {FirstLine(stderr.Length > 0 ? stderr : stdout)}");
        }
        try
        {
            using var doc = JsonDocument.Parse(stdout);
            var root = doc.RootElement;
            string? Field(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var user = Field("Username") ?? "";
            var secret = Field("Secret") ?? "";
            return user.Length == 0 && secret.Length == 0 ? null : new RegistryCredentials(user, secret);
        }
        catch (JsonException e)
        {
            throw new RegistryException($"{server}: credential helper docker-credential-{helper} get: its answer is not JSON ({e.Message})");
        }
    }

    public static void Store(string helper, string server, RegistryCredentials credentials)
    {
        var json = Encoding.UTF8.GetString(Oci.Json.JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("ServerURL", server);
            w.WriteString("Username", credentials.Username);
            w.WriteString("Secret", credentials.Secret);
            w.WriteEndObject();
        }));
        var (code, stdout, stderr) = Run(helper, "store", json);
        if (code != 0) throw new RegistryException($"{server}: credential helper docker-credential-{helper} store: exit {code}: {FirstLine(stderr.Length > 0 ? stderr : stdout)}");
    }

    /// <summary>Erases the server's entry; false when the helper had none.</summary>
    public static bool Erase(string helper, string server)
    {
        var (code, stdout, stderr) = Run(helper, "erase", server);
        if (code == 0) return true;
        if ((stdout + stderr).Contains("credentials not found", StringComparison.OrdinalIgnoreCase)) return false;
        throw new RegistryException($"{server}: credential helper docker-credential-{helper} erase: exit {code}: {FirstLine(stderr.Length > 0 ? stderr : stdout)}");
    }

    static (int Code, string Stdout, string Stderr) Run(string helper, string verb, string input)
    {
        if (helper.Length == 0 || helper.Contains('/')) throw new RegistryException($"credential helper {Quote.Of(helper)}: not a helper name");
        var psi = new ProcessStartInfo("docker-credential-" + helper, verb)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new RegistryException($"credential helper docker-credential-{helper}: could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RegistryException($"credential helper docker-credential-{helper}: {e.Message} (is it on PATH?)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(input);
            process.StandardInput.Close();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill();
                process.WaitForExit();
                throw new RegistryException($"credential helper docker-credential-{helper} {verb}: no answer within {Timeout.TotalSeconds:0} s");
            }
            return (process.ExitCode, stdout.Result.Trim(), stderr.Result.Trim());
        }
    }

    static string FirstLine(string s) => s.Split('\n', 2)[0];
}
