using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Supply.Signing;

/// <summary>
/// Key files as cosign writes and reads them. The public key: PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
/// The private key: PEM "ENCRYPTED SIGSTORE PRIVATE KEY" (older cosign: "ENCRYPTED COSIGN PRIVATE KEY")
/// around secure-systems-lab's encrypted envelope, a JSON object
/// <c>{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},"cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}</c>
/// whose ciphertext is secretbox(PKCS#8 DER) under scrypt(passphrase, salt). Plain PKCS#8
/// ("PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY") PEMs are read too.
/// </summary>
public static class KeyFiles
{
    public const string EncryptedSigstoreLabel = "ENCRYPTED SIGSTORE PRIVATE KEY";
    public const string EncryptedCosignLabel = "ENCRYPTED COSIGN PRIVATE KEY";

    // cosign's parameters (secure-systems-lab's "default" scrypt cost).
    const ulong ScryptN = 32768;
    const uint ScryptR = 8, ScryptP = 1;
    const int SaltBytes = 32;
    // What we accept from a file: at most 2^20 (1 GiB of memory at r=8) so a hostile key file cannot exhaust memory.
    const ulong MaxScryptN = 1 << 20;

    /// <summary>The private key encrypted as cosign writes it, PEM-armoured.</summary>
    public static string EncryptPrivateKey(SigningKey key, ReadOnlySpan<byte> passphrase)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var nonce = RandomNumberGenerator.GetBytes(Sodium.SecretboxNonceBytes);
        var secret = Sodium.Scrypt(passphrase, salt, ScryptN, ScryptR, ScryptP, Sodium.SecretboxKeyBytes);
        var pkcs8 = key.ExportPkcs8();
        try
        {
            var box = Sodium.SecretboxSeal(pkcs8, nonce, secret);
            var json = JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteStartObject("kdf");
                w.WriteString("name", "scrypt");
                w.WriteStartObject("params");
                w.WriteNumber("N", ScryptN);
                w.WriteNumber("r", ScryptR);
                w.WriteNumber("p", ScryptP);
                w.WriteEndObject();
                w.WriteBase64String("salt", salt);
                w.WriteEndObject();
                w.WriteStartObject("cipher");
                w.WriteString("name", "nacl/secretbox");
                w.WriteBase64String("nonce", nonce);
                w.WriteEndObject();
                w.WriteBase64String("ciphertext", box);
                w.WriteEndObject();
            });
            return PemEncoding.WriteString(EncryptedSigstoreLabel, json) + "\n";
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>
    /// A private key from a key file: cosign's encrypted PEM (asks <paramref name="passphrase"/>
    /// only then), or an unencrypted PKCS#8 or EC PEM. <paramref name="what"/> names the file in errors.
    /// </summary>
    public static SigningKey ReadPrivateKey(ReadOnlySpan<byte> file, Func<byte[]> passphrase, string what)
    {
        var (label, der) = Pem(file, what);
        switch (label)
        {
            case EncryptedSigstoreLabel or EncryptedCosignLabel:
            {
                var pkcs8 = Decrypt(der, passphrase(), what);
                try
                {
                    return SigningKey.FromPkcs8(pkcs8, what);
                }
                finally
                {
                    CryptographicOperations.ZeroMemory(pkcs8);
                }
            }
            case "PRIVATE KEY": return SigningKey.FromPkcs8(der, what);
            case "EC PRIVATE KEY": return SigningKey.FromEcPrivateKey(der, what);
            default: throw new SupplyException($"{what}: a PEM \"{label}\" is not a private key (want {EncryptedSigstoreLabel}, PRIVATE KEY or EC PRIVATE KEY)");
        }
    }

    /// <summary>A public key from a "PUBLIC KEY" PEM or a "CERTIFICATE" PEM (its subject's key).</summary>
    public static VerificationKey ReadPublicKey(ReadOnlySpan<byte> file, string what)
    {
        var (label, der) = Pem(file, what);
        switch (label)
        {
            case "PUBLIC KEY": return VerificationKey.FromSubjectPublicKeyInfo(der, what);
            case "CERTIFICATE":
                try
                {
                    using var cert = X509CertificateLoader.LoadCertificate(der);
                    return VerificationKey.FromCertificate(cert);
                }
                catch (CryptographicException e)
                {
                    throw new SupplyException($"{what}: not a valid certificate ({e.Message})");
                }
            default: throw new SupplyException($"{what}: a PEM \"{label}\" is not a public key (want PUBLIC KEY or CERTIFICATE)");
        }
    }

    static byte[] Decrypt(byte[] envelope, byte[] passphrase, string what)
    {
        try
        {
            var (n, r, p, salt, nonce, box) = JsonIn.Parse(envelope, what, o =>
            {
                var kdf = o.Object("kdf", k => new { Name = k.String("name"), Params = k.Object("params", q => new[] { q.Int64("N"), q.Int64("r"), q.Int64("p") }), Salt = k.String("salt") }) ??
                    throw new SupplyException($"{what}: kdf: missing");
                if (kdf.Name != "scrypt") throw new SupplyException($"{what}: kdf.name: {kdf.Name ?? "missing"}, only scrypt is supported");
                var cipher = o.Object("cipher", c => new { Name = c.String("name"), Nonce = c.String("nonce") }) ?? throw new SupplyException($"{what}: cipher: missing");
                if (cipher.Name != "nacl/secretbox") throw new SupplyException($"{what}: cipher.name: {cipher.Name ?? "missing"}, only nacl/secretbox is supported");
                var ps = kdf.Params ?? throw new SupplyException($"{what}: kdf.params: missing");
                if (ps.Any(v => v is null or <= 0)) throw new SupplyException($"{what}: kdf.params: N, r and p must be positive integers");
                return ((ulong)ps[0]!.Value, (uint)ps[1]!.Value, (uint)ps[2]!.Value,
                    Base64(kdf.Salt, "kdf.salt", what), Base64(cipher.Nonce, "cipher.nonce", what), Base64(o.String("ciphertext"), "ciphertext", what));
            });
            if (n > MaxScryptN || (n & (n - 1)) != 0 || r > 32 || p > 16)
                throw new SupplyException($"{what}: kdf.params: N={n} r={r} p={p} out of range (N a power of two up to {MaxScryptN}, r ≤ 32, p ≤ 16)");
            if (nonce.Length != Sodium.SecretboxNonceBytes) throw new SupplyException($"{what}: cipher.nonce: {nonce.Length} bytes, not {Sodium.SecretboxNonceBytes}");
            var secret = Sodium.Scrypt(passphrase, salt, n, r, p, Sodium.SecretboxKeyBytes);
            try
            {
                return Sodium.SecretboxOpen(box, nonce, secret) ?? throw new SupplyException($"{what}: decrypting the private key failed: wrong passphrase?");
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
        catch (Exception e) when (e is JsonException or Oci.SpecException)
        {
            throw new SupplyException($"{what}: not cosign's encrypted key envelope ({e.Message})");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passphrase);
        }
    }

    static byte[] Base64(string? text, string field, string what)
    {
        if (text is null) throw new SupplyException($"{what}: {field}: missing");
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new SupplyException($"{what}: {field}: not base64");
        }
    }

    /// <summary>The first PEM block of the file: its label and its DER.</summary>
    public static (string Label, byte[] Der) Pem(ReadOnlySpan<byte> file, string what)
    {
        var text = Encoding.UTF8.GetString(file);
        if (!PemEncoding.TryFind(text, out var fields)) throw new SupplyException($"{what}: no PEM block found");
        var label = text[fields.Label];
        var der = new byte[fields.DecodedDataLength];
        if (!Convert.TryFromBase64Chars(text.AsSpan()[fields.Base64Data], der, out var written)) throw new SupplyException($"{what}: the PEM block is not base64");
        return (label, der[..written]);
    }

    /// <summary>Every PEM block of a label in the file (a certificate chain, a CA bundle).</summary>
    public static List<byte[]> PemAll(ReadOnlySpan<byte> file, string label, string what)
    {
        var text = Encoding.UTF8.GetString(file);
        var all = new List<byte[]>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var f))
        {
            if (rest[f.Label].SequenceEqual(label))
            {
                var der = new byte[f.DecodedDataLength];
                Convert.TryFromBase64Chars(rest[f.Base64Data], der, out var n);
                all.Add(der[..n]);
            }
            rest = rest[f.Location.End..];
        }
        if (all.Count == 0) throw new SupplyException($"{what}: no PEM \"{label}\" found");
        return all;
    }
}
