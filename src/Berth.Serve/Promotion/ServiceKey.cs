using System.Security.Cryptography;
using System.Text;
using Berth.Linux;
using Berth.Supply.Signing;

namespace Berth.Serve.Promotion;

/// <summary>
/// The service's own signing key, for the VEX statements it attests: DATA/keys/vex.key (PKCS#8 PEM,
/// mode 0600), made on first start; its public half beside it (vex.pub) and at GET /vex/key, for
/// whoever verifies the attestations (cosign verify-attestation --key).
/// </summary>
public static class ServiceKey
{
    public static SigningKey LoadOrCreate(string dataDir, Action<string> log)
    {
        var dir = Path.Combine(dataDir, "keys");
        var path = Path.Combine(dir, "vex.key");
        if (FileSystem.TryReadText(path) is { } pem) return KeyFiles.ReadPrivateKey(Encoding.UTF8.GetBytes(pem), () => [], path);
        FileSystem.CreateDirectory(dir, 0x1c0 /* 0700 */);
        var key = SigningKey.GenerateEcdsaP256();
        var der = key.ExportPkcs8();
        try
        {
            // Written aside and renamed: a crash leaves no half key for the next start to choke on.
            var temp = path + ".new";
            FileSystem.TryDelete(temp);
            FileSystem.WriteNew(temp, Encoding.UTF8.GetBytes(PemEncoding.WriteString("PRIVATE KEY", der) + "\n"), 0x180 /* 0600 */);
            FileSystem.Rename(temp, path);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(der);
        }
        FileSystem.TryDelete(Path.Combine(dir, "vex.pub"));
        FileSystem.WriteNew(Path.Combine(dir, "vex.pub"), Encoding.UTF8.GetBytes(key.Public.ToPem()));
        log($"vex: made the service's signing key {path} (key id {key.Public.KeyId})");
        return key;
    }
}
