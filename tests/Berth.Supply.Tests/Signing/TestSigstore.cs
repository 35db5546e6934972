using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Berth.Supply.Signing;
using Berth.Supply.Signing.Keyless;

namespace Berth.Supply.Tests.Signing;

/// <summary>
/// A sigstore of the test's own, offline: a Fulcio-like CA (root and intermediate), a CT log key
/// that signs embedded SCTs, and a Rekor key that signs entry timestamps and checkpoints; and its
/// trusted_root.json. Everything is made with the .NET base library, nothing is fetched.
/// </summary>
public sealed class TestSigstore : IDisposable
{
    public const string Issuer = "https://issuer.test";
    public const string Identity = "signer@example.test";

    public X509Certificate2 Root { get; }
    public X509Certificate2 Intermediate { get; }
    public ECDsa CtLog { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public ECDsa Rekor { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public DateTimeOffset Now { get; } = DateTimeOffset.UtcNow.AddMinutes(-30);

    public byte[] RekorLogId => SHA256.HashData(Rekor.ExportSubjectPublicKeyInfo());
    public byte[] CtLogId => SHA256.HashData(CtLog.ExportSubjectPublicKeyInfo());

    public TestSigstore()
    {
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var rootReq = new CertificateRequest("CN=sigstore-test-root, O=berth-test", rootKey, HashAlgorithmName.SHA384);
        rootReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Root = rootReq.CreateSelfSigned(Now.AddDays(-1), Now.AddYears(5));
        var interKey = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var interReq = new CertificateRequest("CN=sigstore-test-intermediate, O=berth-test", interKey, HashAlgorithmName.SHA384);
        interReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        interReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        interReq.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.3") }, false));
        using var inter = interReq.Create(Root, Now.AddDays(-1), Now.AddYears(1), RandomNumberGenerator.GetBytes(12));
        Intermediate = inter.CopyWithPrivateKey(interKey);
    }

    /// <summary>A short-lived leaf for <paramref name="key"/> as Fulcio issues one: SAN email, issuer extensions, code signing, an SCT (unless <paramref name="sctBy"/> says another log).</summary>
    public X509Certificate2 Leaf(ECDsa key, string identity = Identity, string issuer = Issuer, ECDsa? sctBy = null, DateTimeOffset? notBefore = null, X509Certificate2? caOverride = null)
    {
        var ca = caOverride ?? Intermediate;
        var req = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddEmailAddress(identity);
        req.CertificateExtensions.Add(san.Build(critical: true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.3") }, false));
        req.CertificateExtensions.Add(new X509Extension(FulcioChecker.IssuerOidV1, Encoding.UTF8.GetBytes(issuer), false));
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteCharacterString(UniversalTagNumber.UTF8String, issuer);
        req.CertificateExtensions.Add(new X509Extension(FulcioChecker.IssuerOidV2, w.Encode(), false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var from = notBefore ?? Now.AddMinutes(-1);
        // The precertificate: everything but the SCT list; the log signs its TBS.
        using var pre = req.Create(ca, from, from.AddMinutes(10), serial);
        var log = sctBy ?? CtLog;
        var timestamp = (ulong)from.ToUnixTimeMilliseconds();
        var tbs = Sct.PrecertTbs(pre.RawData);
        var unsigned = new Sct.Timestamp(SHA256.HashData(log.ExportSubjectPublicKeyInfo()), timestamp, [], []);
        var sig = log.SignData(Sct.SignedData(unsigned, SHA256.HashData(ca.PublicKey.ExportSubjectPublicKeyInfo()), tbs), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        req.CertificateExtensions.Add(new X509Extension(FulcioChecker.SctListOid, SctList(unsigned.LogId, timestamp, sig), false));
        return req.Create(ca, from, from.AddMinutes(10), serial);
    }

    static byte[] SctList(byte[] logId, ulong timestamp, byte[] sig)
    {
        var sct = new MemoryStream();
        sct.WriteByte(0);
        sct.Write(logId);
        var b8 = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b8, timestamp);
        sct.Write(b8);
        sct.Write([0, 0]); // no extensions
        sct.Write([4, 3]); // sha256, ecdsa
        sct.Write([(byte)(sig.Length >> 8), (byte)sig.Length]);
        sct.Write(sig);
        var one = sct.ToArray();
        var list = new byte[4 + one.Length];
        BinaryPrimitives.WriteUInt16BigEndian(list, (ushort)(one.Length + 2));
        BinaryPrimitives.WriteUInt16BigEndian(list.AsSpan(2), (ushort)one.Length);
        one.CopyTo(list, 4);
        var w = new AsnWriter(AsnEncodingRules.DER);
        w.WriteOctetString(list);
        return w.Encode();
    }

    public static string Pem(X509Certificate2 c) => c.ExportCertificatePem() + "\n";

    /// <summary>The SET annotation cosign attaches: the log's signature over the canonical payload.</summary>
    public string RekorSet(byte[] body, long integratedTime, long logIndex = 42, ECDsa? signer = null)
    {
        var payload = $"{{\"body\":\"{Convert.ToBase64String(body)}\",\"integratedTime\":{integratedTime},\"logID\":\"{Convert.ToHexStringLower(RekorLogId)}\",\"logIndex\":{logIndex}}}";
        var set = (signer ?? Rekor).SignData(CanonicalJson.Transform(Encoding.UTF8.GetBytes(payload)), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return $"{{\"SignedEntryTimestamp\":\"{Convert.ToBase64String(set)}\",\"Payload\":{payload}}}";
    }

    /// <summary>A keyless simple-signing signature of <paramref name="payload"/>: the layer's annotations as cosign writes them.</summary>
    public SignatureAttachment KeylessSignature(byte[] payload, string identity = Identity, string issuer = Issuer, long? integratedTime = null, ECDsa? sctBy = null, X509Certificate2? ca = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var leaf = Leaf(key, identity, issuer, sctBy, caOverride: ca);
        var sig = key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var certPem = Pem(leaf);
        var body = Berth.Supply.Signing.Keyless.RekorSet.HashedRekordBody(Encoding.UTF8.GetBytes(certPem), sig, SHA256.HashData(payload));
        return new SignatureAttachment(payload, new Dictionary<string, string>
        {
            [CosignAttachments.SignatureAnnotation] = Convert.ToBase64String(sig),
            [CosignAttachments.CertificateAnnotation] = certPem,
            [CosignAttachments.ChainAnnotation] = Pem(Intermediate) + Pem(Root),
            [CosignAttachments.BundleAnnotation] = RekorSet(body, integratedTime ?? Now.ToUnixTimeSeconds()),
        });
    }

    public string TrustedRootJson()
    {
        string Key(ECDsa k) => $"{{\"rawBytes\":\"{Convert.ToBase64String(k.ExportSubjectPublicKeyInfo())}\",\"keyDetails\":\"PKIX_ECDSA_P256_SHA_256\",\"validFor\":{{\"start\":\"2020-01-01T00:00:00Z\"}}}}";
        string Log(ECDsa k, string url) => $"{{\"baseUrl\":\"{url}\",\"hashAlgorithm\":\"SHA2_256\",\"publicKey\":{Key(k)},\"logId\":{{\"keyId\":\"{Convert.ToBase64String(SHA256.HashData(k.ExportSubjectPublicKeyInfo()))}\"}}}}";
        return "{\"mediaType\":\"application/vnd.dev.sigstore.trustedroot+json;version=0.1\"," +
            $"\"tlogs\":[{Log(Rekor, "https://rekor.test")}]," +
            "\"certificateAuthorities\":[{\"subject\":{\"organization\":\"berth-test\",\"commonName\":\"sigstore-test\"},\"uri\":\"https://fulcio.test\"," +
            $"\"certChain\":{{\"certificates\":[{{\"rawBytes\":\"{Convert.ToBase64String(Intermediate.RawData)}\"}},{{\"rawBytes\":\"{Convert.ToBase64String(Root.RawData)}\"}}]}}," +
            "\"validFor\":{\"start\":\"2020-01-01T00:00:00Z\"}}]," +
            $"\"ctlogs\":[{Log(CtLog, "https://ctfe.test")}],\"timestampAuthorities\":[]}}";
    }

    public TrustedRoot Trusted() => TrustedRoot.Parse(Encoding.UTF8.GetBytes(TrustedRootJson()));

    /// <summary>RFC 6962's MTH and PATH, the reference recursion, to make trees and proofs to check against.</summary>
    public static byte[] TreeHash(IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count == 1) return Merkle.LeafHash(leaves[0]);
        int k = SplitPoint(leaves.Count);
        return Merkle.NodeHash(TreeHash(leaves.Take(k).ToList()), TreeHash(leaves.Skip(k).ToList()));
    }

    public static List<byte[]> InclusionPath(int m, IReadOnlyList<byte[]> leaves)
    {
        if (leaves.Count == 1) return [];
        int k = SplitPoint(leaves.Count);
        if (m < k)
        {
            var p = InclusionPath(m, leaves.Take(k).ToList());
            p.Add(TreeHash(leaves.Skip(k).ToList()));
            return p;
        }
        var q = InclusionPath(m - k, leaves.Skip(k).ToList());
        q.Add(TreeHash(leaves.Take(k).ToList()));
        return q;
    }

    static int SplitPoint(int n)
    {
        int k = 1;
        while (k * 2 < n) k *= 2;
        return k;
    }

    /// <summary>A checkpoint (signed note) of the tree, signed by Rekor's key (or <paramref name="signer"/>).</summary>
    public string Checkpoint(long size, byte[] root, ECDsa? signer = null)
    {
        var text = $"rekor.test - 1234\n{size}\n{Convert.ToBase64String(root)}\n";
        var sig = (signer ?? Rekor).SignData(Encoding.UTF8.GetBytes(text), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var hint = SHA256.HashData(Rekor.ExportSubjectPublicKeyInfo())[..4];
        return text + "\n\u2014 rekor.test " + Convert.ToBase64String([.. hint, .. sig]) + "\n";
    }

    public void Dispose()
    {
        Root.Dispose();
        Intermediate.Dispose();
        CtLog.Dispose();
        Rekor.Dispose();
    }
}
