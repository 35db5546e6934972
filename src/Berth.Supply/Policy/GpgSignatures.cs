using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Berth.Images;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Supply.Policy;

/// <summary>
/// signedBy's signatures: "simple signing" (containers-signature(5)) — an OpenPGP signed message whose
/// content is the JSON claim {"critical": {"type": "atomic container signature", "image":
/// {"docker-manifest-digest"}, "identity": {"docker-reference"}}, "optional": {…}} — read from the
/// lookaside store registries.d names (BASE/REPO@ALGO=HEX/signature-N, N from 1 until one is missing)
/// and verified by GnuPG's gpg in a throwaway home holding only the policy's keys, so a signature
/// that verifies there was made by one of them.
/// </summary>
public static class GpgSignatures
{
    /// <summary>Where containers/image reads signatures when registries.d names no lookaside store.</summary>
    public static string DefaultLookaside(string? home) =>
        Processes.EffectiveUid == 0 || home is not { Length: > 0 } ? "file:///var/lib/containers/sigstore" : $"file://{home}/.local/share/containers/sigstore";

    const int MaxSignatures = 64;
    const long MaxSignatureBytes = 4 << 20;

    /// <summary>The signatures stored for <paramref name="manifest"/> of <paramref name="reference"/>'s repository under <paramref name="lookaside"/> (file:// or http(s)://).</summary>
    public static IReadOnlyList<byte[]> Read(string lookaside, DockerReference reference, Digest manifest)
    {
        var repo = reference.Qualified?.Repository ?? throw new SupplyException($"{reference}: no repository to read signatures for");
        var list = new List<byte[]>();
        var baseUrl = lookaside.TrimEnd('/') + "/" + repo + $"@{manifest.Algorithm}={manifest.Encoded}";
        for (int n = 1; n <= MaxSignatures; n++)
        {
            var url = $"{baseUrl}/signature-{n}";
            var bytes = Fetch(url);
            if (bytes is null) break;
            list.Add(bytes);
        }
        return list;
    }

    static byte[]? Fetch(string url)
    {
        if (url.StartsWith("file://", StringComparison.Ordinal))
        {
            try
            {
                return FileSystem.ReadBytes(url["file://".Length..], MaxSignatureBytes);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
            {
                return null;
            }
            catch (LinuxException e)
            {
                throw new SupplyException($"lookaside signature {url}: {e.Message}");
            }
        }
        if (url.StartsWith("https://", StringComparison.Ordinal) || url.StartsWith("http://", StringComparison.Ordinal))
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
                using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
                if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
                if (!response.IsSuccessStatusCode) throw new SupplyException($"lookaside signature {url}: HTTP {(int)response.StatusCode}");
                if (response.Content.Headers.ContentLength > MaxSignatureBytes) throw new SupplyException($"lookaside signature {url}: larger than {MaxSignatureBytes} bytes");
                return response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                throw new SupplyException($"lookaside signature {url}: {e.Message}");
            }
        }
        throw new SupplyException($"lookaside {Quote.Of(url)}: only file://, http:// and https:// stores are read");
    }

    /// <summary>A signature's claims once it verified.</summary>
    public sealed record Claims(string DockerReference, Digest ManifestDigest);

    /// <summary>
    /// Verifies each signature with <paramref name="keys"/> (armored or binary OpenPGP public keys) and
    /// parses its claims: (claims of those that verified, one line per one that did not).
    /// </summary>
    public static (List<Claims> Verified, List<string> Failures) Verify(IReadOnlyList<byte[]> keys, IReadOnlyList<byte[]> signatures)
    {
        var verified = new List<Claims>();
        var failures = new List<string>();
        var home = FileSystem.CreateTempDirectory("berth-gpg-");
        try
        {
            var keyFiles = new List<string>();
            for (int i = 0; i < keys.Count; i++)
            {
                var k = Path.Combine(home, $"key-{i + 1}");
                FileSystem.WriteNew(k, keys[i], 0x180);
                keyFiles.Add(k);
            }
            var imported = Gpg(home, ["--import", .. keyFiles]);
            if (!imported.Status.Contains("[GNUPG:] IMPORT_OK", StringComparison.Ordinal))
                throw new SupplyException($"signedBy: no public keys imported ({FirstLine(imported.Stderr)})");
            for (int i = 0; i < signatures.Count; i++)
            {
                var sig = Path.Combine(home, $"signature-{i + 1}");
                var output = sig + ".payload";
                FileSystem.WriteNew(sig, signatures[i], 0x180);
                var r = Gpg(home, ["--trust-model", "always", "--output", output, "--decrypt", sig]);
                // VALIDSIG only for a good signature by a key of this home: the policy's keys alone.
                if (r.Code != 0 || !r.Status.Contains("[GNUPG:] VALIDSIG ", StringComparison.Ordinal))
                {
                    failures.Add($"signature {i + 1}: {Reason(r.Status, r.Stderr)}");
                    continue;
                }
                try
                {
                    verified.Add(ParseClaims(FileSystem.ReadBytes(output, MaxSignatureBytes)));
                }
                catch (SupplyException e)
                {
                    failures.Add($"signature {i + 1}: {e.Message}");
                }
            }
        }
        finally
        {
            FileTree.Remove(home);
        }
        return (verified, failures);
    }

    static string Reason(string status, string stderr)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("[GNUPG:] BADSIG ", StringComparison.Ordinal)) return "the signature does not verify (BADSIG)";
            if (line.StartsWith("[GNUPG:] NO_PUBKEY ", StringComparison.Ordinal)) return $"signed by key {line["[GNUPG:] NO_PUBKEY ".Length..].Trim()}, which the policy does not trust";
            if (line.StartsWith("[GNUPG:] EXPKEYSIG ", StringComparison.Ordinal)) return "signed by an expired key";
            if (line.StartsWith("[GNUPG:] REVKEYSIG ", StringComparison.Ordinal)) return "signed by a revoked key";
        }
        return $"not a valid OpenPGP signed message ({FirstLine(stderr)})";
    }

    static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();

    /// <summary>The simple-signing claim, read as containers/image reads it: the critical section with exactly its fields.</summary>
    public static Claims ParseClaims(byte[] payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("critical", out var critical) || critical.ValueKind != JsonValueKind.Object)
                throw new SupplyException("the payload has no critical section");
            string Field(JsonElement parent, string name, string where) =>
                parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new SupplyException($"the payload's {where}.{name} is missing");
            var names = critical.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
            if (!names.SequenceEqual(["identity", "image", "type"])) throw new SupplyException("the payload's critical section has other fields than type, image and identity");
            var type = Field(critical, "type", "critical");
            if (type != "atomic container signature") throw new SupplyException($"the payload's type is {Quote.Of(type)}, not \"atomic container signature\"");
            var image = critical.GetProperty("image");
            var identity = critical.GetProperty("identity");
            if (image.ValueKind != JsonValueKind.Object || image.EnumerateObject().Count() != 1) throw new SupplyException("the payload's critical.image must hold docker-manifest-digest alone");
            if (identity.ValueKind != JsonValueKind.Object || identity.EnumerateObject().Count() != 1) throw new SupplyException("the payload's critical.identity must hold docker-reference alone");
            var digest = Field(image, "docker-manifest-digest", "critical.image");
            return new Claims(Field(identity, "docker-reference", "critical.identity"), Digest.Parse(digest, "critical.image.docker-manifest-digest"));
        }
        catch (JsonException e)
        {
            throw new SupplyException($"the payload is not JSON ({e.Message})");
        }
        catch (Oci.SpecException e)
        {
            throw new SupplyException(e.Message);
        }
    }

    sealed record GpgResult(int Code, string Status, string Stderr);

    static GpgResult Gpg(string home, IEnumerable<string> args)
    {
        var status = Path.Combine(home, "status-" + Guid.NewGuid().ToString("N")[..8]);
        var psi = new ProcessStartInfo("gpg") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        // No agent, keyserver or tty: public-key operations only, in the throwaway home.
        foreach (var a in new[] { "--homedir", home, "--batch", "--no-tty", "--quiet", "--no-auto-key-retrieve", "--no-permission-warning", "--status-file", status }) psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("GNUPGHOME");
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new SupplyException("signedBy: gpg could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SupplyException($"signedBy: gpg: {e.Message} (GnuPG verifies signedBy signatures: install gnupg)");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                process.Kill();
                process.WaitForExit();
                throw new SupplyException("signedBy: gpg did not finish within 60 s");
            }
            _ = stdout.Result;
            var text = FileSystem.TryReadText(status) ?? "";
            return new GpgResult(process.ExitCode, text, stderr.Result);
        }
    }
}
