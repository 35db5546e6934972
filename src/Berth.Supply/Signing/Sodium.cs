using System.Runtime.InteropServices;

namespace Berth.Supply.Signing;

/// <summary>
/// The two primitives cosign's key encryption needs that the .NET base library lacks: scrypt and
/// NaCl's secretbox (XSalsa20-Poly1305). libsodium, linked statically into the executable
/// (DirectPInvoke, as libzstd), so nothing is looked up at run time.
/// </summary>
static unsafe class Sodium
{
    const string Lib = "libsodium";

    [DllImport(Lib)] static extern int sodium_init();

    [DllImport(Lib)]
    static extern int crypto_pwhash_scryptsalsa208sha256_ll(byte* passwd, nuint passwdlen, byte* salt, nuint saltlen,
        ulong N, uint r, uint p, byte* buf, nuint buflen);

    [DllImport(Lib)] static extern int crypto_secretbox_easy(byte* c, byte* m, ulong mlen, byte* n, byte* k);

    [DllImport(Lib)] static extern int crypto_secretbox_open_easy(byte* m, byte* c, ulong clen, byte* n, byte* k);

    [DllImport(Lib)] static extern int crypto_sign_verify_detached(byte* sig, byte* m, ulong mlen, byte* pk);

    /// <summary>Ed25519 (RFC 8032) verification, which the base library lacks: a 64-byte signature, a 32-byte key.</summary>
    public static bool Ed25519Verify(ReadOnlySpan<byte> signature, ReadOnlySpan<byte> message, ReadOnlySpan<byte> publicKey)
    {
        if (signature.Length != 64 || publicKey.Length != 32) return false;
        Init();
        fixed (byte* sg = signature, m = message, pk = publicKey)
            return crypto_sign_verify_detached(sg, m, (ulong)message.Length, pk) == 0;
    }

    public const int SecretboxKeyBytes = 32;
    public const int SecretboxNonceBytes = 24;
    public const int SecretboxMacBytes = 16;

    static void Init()
    {
        // 0: initialised now, 1: already; -1: no entropy source (cannot happen on Linux with getrandom).
        if (sodium_init() < 0) throw new SupplyException("libsodium: initialisation failed");
    }

    public static byte[] Scrypt(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, ulong n, uint r, uint p, int length)
    {
        Init();
        var key = new byte[length];
        fixed (byte* pw = password, s = salt, k = key)
            if (crypto_pwhash_scryptsalsa208sha256_ll(pw, (nuint)password.Length, s, (nuint)salt.Length, n, r, p, k, (nuint)length) != 0)
                throw new SupplyException($"scrypt: parameters refused (N={n} r={r} p={p}) or out of memory");
        return key;
    }

    /// <summary>secretbox: the MAC then the ciphertext, as Go's nacl/secretbox.Seal writes them.</summary>
    public static byte[] SecretboxSeal(ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        Check(nonce, key);
        Init();
        var box = new byte[message.Length + SecretboxMacBytes];
        fixed (byte* c = box, m = message, n = nonce, k = key)
            if (crypto_secretbox_easy(c, m, (ulong)message.Length, n, k) != 0) throw new SupplyException("secretbox: sealing failed");
        return box;
    }

    /// <summary>The message, or null when the box was not sealed with this key and nonce (a wrong passphrase).</summary>
    public static byte[]? SecretboxOpen(ReadOnlySpan<byte> box, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        Check(nonce, key);
        if (box.Length < SecretboxMacBytes) return null;
        Init();
        var message = new byte[box.Length - SecretboxMacBytes];
        fixed (byte* m = message, c = box, n = nonce, k = key)
            return crypto_secretbox_open_easy(m, c, (ulong)box.Length, n, k) == 0 ? message : null;
    }

    static void Check(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        if (nonce.Length != SecretboxNonceBytes) throw new SupplyException($"secretbox: nonce is {nonce.Length} bytes, not {SecretboxNonceBytes}");
        if (key.Length != SecretboxKeyBytes) throw new SupplyException($"secretbox: key is {key.Length} bytes, not {SecretboxKeyBytes}");
    }
}
