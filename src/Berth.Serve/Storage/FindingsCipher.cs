using System.Security.Cryptography;
using System.Text;
using Berth.Linux;

namespace Berth.Serve.Storage;

/// <summary>
/// Findings at rest: AES-256-GCM, a fresh 96-bit nonce per row, the row's key (digest, database
/// version) as associated data so a row copied onto another image's key does not decrypt.
/// Layout: "bsf1" | nonce(12) | tag(16) | ciphertext.
/// </summary>
public sealed class FindingsCipher
{
    static readonly byte[] Magic = "bsf1"u8.ToArray();
    readonly byte[] _key;

    FindingsCipher(byte[] key) => _key = key;

    /// <summary>The key from <paramref name="path"/> (32 raw bytes or 64 hex digits); when absent, a new one written 0600.</summary>
    public static FindingsCipher FromKeyFile(string path, Action<string> log)
    {
        byte[]? bytes = null;
        if (FileSystem.TryReadText(path, 1024) is not null) bytes = FileSystem.ReadBytes(path, 1024);
        if (bytes is null)
        {
            var key = RandomNumberGenerator.GetBytes(32);
            FileSystem.WriteNew(path, Encoding.ASCII.GetBytes(Convert.ToHexStringLower(key) + "\n"), 0x180 /* 0600 */);
            log($"berth-serve: generated the findings key {path} (0600)");
            return new FindingsCipher(key);
        }
        var text = Encoding.ASCII.GetString(bytes).Trim();
        if (text.Length == 64 && text.All(Uri.IsHexDigit)) return new FindingsCipher(Convert.FromHexString(text));
        if (bytes.Length == 32) return new FindingsCipher(bytes);
        throw new ServeException(0, $"--key-file: {path}: expected 32 bytes or 64 hex digits, found {bytes.Length} bytes");
    }

    public byte[] Seal(byte[] plaintext, string digest, string dbVersion)
    {
        var output = new byte[Magic.Length + 12 + 16 + plaintext.Length];
        Magic.CopyTo(output, 0);
        var nonce = output.AsSpan(4, 12);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key, 16);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(32), output.AsSpan(16, 16), Aad(digest, dbVersion));
        return output;
    }

    public byte[] Open(byte[] sealedBytes, string digest, string dbVersion)
    {
        if (sealedBytes.Length < 32 || !sealedBytes.AsSpan(0, 4).SequenceEqual(Magic))
            throw new ServeException(500, $"findings of {digest}: not an encrypted record");
        var plain = new byte[sealedBytes.Length - 32];
        using var gcm = new AesGcm(_key, 16);
        try { gcm.Decrypt(sealedBytes.AsSpan(4, 12), sealedBytes.AsSpan(32), sealedBytes.AsSpan(16, 16), plain, Aad(digest, dbVersion)); }
        catch (AuthenticationTagMismatchException) { throw new ServeException(500, $"findings of {digest}: the record does not decrypt with --key-file (another key, or tampered)"); }
        return plain;
    }

    static byte[] Aad(string digest, string dbVersion) => Encoding.UTF8.GetBytes(digest + "\n" + dbVersion);
}
