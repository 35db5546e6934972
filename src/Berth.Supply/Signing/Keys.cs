using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Supply.Signing;

/// <summary>
/// A private key that signs as cosign and containers/image do: ECDSA with SHA-256 (SHA-384 on
/// P-384), signatures in ASN.1 DER; RSA PKCS#1 v1.5 with SHA-256.
/// </summary>
public sealed class SigningKey : IDisposable
{
    readonly AsymmetricAlgorithm _key;

    SigningKey(AsymmetricAlgorithm key) => _key = key;

    public static SigningKey Of(ECDsa key) => new(key);

    public static SigningKey Of(RSA key) => new(key);

    /// <summary>A new ECDSA P-256 key: what `cosign generate-key-pair` makes.</summary>
    public static SigningKey GenerateEcdsaP256() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public byte[] Sign(ReadOnlySpan<byte> data) => _key switch
    {
        ECDsa ec => ec.SignData(data, VerificationKey.HashFor(ec), DSASignatureFormat.Rfc3279DerSequence),
        RSA rsa => rsa.SignData(data.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        _ => throw new SupplyException("signing: unsupported key type"),
    };

    public byte[] ExportPkcs8() => _key.ExportPkcs8PrivateKey();

    /// <summary>The public half, as a verifier takes it.</summary>
    public VerificationKey Public => VerificationKey.FromSubjectPublicKeyInfo(_key switch
    {
        ECDsa ec => ec.ExportSubjectPublicKeyInfo(),
        RSA rsa => rsa.ExportSubjectPublicKeyInfo(),
        _ => throw new SupplyException("signing: unsupported key type"),
    });

    /// <summary>A key from PKCS#8 DER (the content of cosign's encrypted key and of a "PRIVATE KEY" PEM).</summary>
    public static SigningKey FromPkcs8(ReadOnlySpan<byte> der, string what)
    {
        try
        {
            var ec = ECDsa.Create();
            ec.ImportPkcs8PrivateKey(der, out _);
            return new SigningKey(ec);
        }
        catch (CryptographicException)
        {
        }
        try
        {
            var rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(der, out _);
            return new SigningKey(rsa);
        }
        catch (CryptographicException e)
        {
            throw new SupplyException($"{what}: not an ECDSA or RSA private key in PKCS#8 ({e.Message})");
        }
    }

    public static SigningKey FromEcPrivateKey(ReadOnlySpan<byte> der, string what)
    {
        try
        {
            var ec = ECDsa.Create();
            ec.ImportECPrivateKey(der, out _);
            return new SigningKey(ec);
        }
        catch (CryptographicException e)
        {
            throw new SupplyException($"{what}: not an EC private key ({e.Message})");
        }
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>A public key that verifies signatures (from a "PUBLIC KEY" PEM, a certificate, or a trusted root).</summary>
public sealed class VerificationKey
{
    readonly byte[] _spki;

    VerificationKey(byte[] spki) => _spki = spki;

    /// <summary>The SubjectPublicKeyInfo DER: what a Rekor entry and a bundle's hint are computed over.</summary>
    public ReadOnlySpan<byte> SubjectPublicKeyInfo => _spki;

    /// <summary>sigstore's key id: the hex SHA-256 of the SubjectPublicKeyInfo DER.</summary>
    public string KeyId => Convert.ToHexStringLower(SHA256.HashData(_spki));

    public static VerificationKey FromSubjectPublicKeyInfo(byte[] spki, string what = "public key")
    {
        // Import once to refuse what is not a key of a kind we verify with.
        if (TryEc(spki) is { } ec) ec.Dispose();
        else if (TryRsa(spki) is { } rsa) rsa.Dispose();
        else if (Ed25519Key(spki) is null) throw new SupplyException($"{what}: not an ECDSA, RSA or Ed25519 public key");
        return new VerificationKey(spki);
    }

    public static VerificationKey FromCertificate(X509Certificate2 cert) =>
        FromSubjectPublicKeyInfo(cert.PublicKey.ExportSubjectPublicKeyInfo(), $"certificate {cert.Subject}");

    public string ToPem() => PemEncoding.WriteString("PUBLIC KEY", _spki) + "\n";

    public bool Verify(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (TryEc(_spki) is { } ec)
            using (ec)
            {
                // sigstore signs with SHA-256 whatever the curve (cosign, containers/image); Fulcio's
                // P-384 CA certificates are signed with SHA-384.
                return ec.VerifyData(data, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence) ||
                    (HashFor(ec) != HashAlgorithmName.SHA256 && ec.VerifyData(data, signature, HashFor(ec), DSASignatureFormat.Rfc3279DerSequence));
            }
        if (TryRsa(_spki) is { } rsa)
            using (rsa)
                return rsa.VerifyData(data, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        // Ed25519 signs the message itself (PureEdDSA), as sigstore's ed25519 verifier expects.
        if (Ed25519Key(_spki) is { } ed) return Sodium.Ed25519Verify(signature, data, ed);
        return false;
    }

    const string Ed25519Oid = "1.3.101.112";

    /// <summary>The raw 32-byte key of an Ed25519 SubjectPublicKeyInfo (RFC 8410), or null.</summary>
    static byte[]? Ed25519Key(byte[] spki)
    {
        try
        {
            var seq = new System.Formats.Asn1.AsnReader(spki, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
            var alg = seq.ReadSequence();
            if (alg.ReadObjectIdentifier() != Ed25519Oid || alg.HasData) return null;
            var key = seq.ReadBitString(out int unused);
            return unused == 0 && key.Length == 32 && !seq.HasData ? key : null;
        }
        catch (System.Formats.Asn1.AsnContentException)
        {
            return null;
        }
    }

    /// <summary>Verifies a signature over a digest already computed (a Rekor SET, an SCT, a certificate's TBS).</summary>
    public bool VerifyHash(ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature, HashAlgorithmName algorithm)
    {
        if (TryEc(_spki) is { } ec)
            using (ec)
                return ec.VerifyHash(hash, signature, DSASignatureFormat.Rfc3279DerSequence);
        if (TryRsa(_spki) is { } rsa)
            using (rsa)
                return rsa.VerifyHash(hash, signature, algorithm, RSASignaturePadding.Pkcs1);
        return false;
    }

    internal static HashAlgorithmName HashFor(ECDsa ec) => ec.KeySize switch
    {
        384 => HashAlgorithmName.SHA384,
        521 => HashAlgorithmName.SHA512,
        _ => HashAlgorithmName.SHA256,
    };

    static ECDsa? TryEc(byte[] spki)
    {
        var ec = ECDsa.Create();
        try
        {
            ec.ImportSubjectPublicKeyInfo(spki, out _);
            return ec;
        }
        catch (CryptographicException)
        {
            ec.Dispose();
            return null;
        }
    }

    static RSA? TryRsa(byte[] spki)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportSubjectPublicKeyInfo(spki, out _);
            return rsa;
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
            return null;
        }
    }
}
