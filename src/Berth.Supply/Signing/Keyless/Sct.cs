using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Supply.Signing.Keyless;

/// <summary>
/// RFC 6962 signed certificate timestamps embedded in a certificate (extension 1.3.6.1.4.1.11129.2.4.2):
/// each a CT log's signature over the precertificate — the TBSCertificate without this extension —
/// and the issuer's key hash. One that a trusted CT log signed is enough.
/// </summary>
public static class Sct
{
    public sealed record Timestamp(byte[] LogId, ulong Time, byte[] Extensions, byte[] Signature);

    public static void VerifyEmbedded(X509Certificate2 leaf, X509Certificate2 issuer, IReadOnlyList<TransparencyLog> logs)
    {
        var ext = leaf.Extensions.FirstOrDefault(e => e.Oid?.Value == FulcioChecker.SctListOid)
            ?? throw new SupplyException("signing certificate: no embedded SCT (1.3.6.1.4.1.11129.2.4.2)");
        var scts = ParseList(ext.RawData);
        var tbs = PrecertTbs(leaf.RawData);
        var issuerKeyHash = SHA256.HashData(issuer.PublicKey.ExportSubjectPublicKeyInfo());
        foreach (var sct in scts)
        {
            var log = logs.FirstOrDefault(l => l.LogId.AsSpan().SequenceEqual(sct.LogId));
            if (log is null) continue;
            if (log.Key.Verify(SignedData(sct, issuerKeyHash, tbs), sct.Signature)) return;
        }
        throw new SupplyException($"signing certificate: none of its {scts.Count} SCTs verifies with a trusted CT log key");
    }

    /// <summary>The bytes an SCT signs (RFC 6962 §3.2, precert_entry).</summary>
    public static byte[] SignedData(Timestamp sct, byte[] issuerKeyHash, byte[] tbs)
    {
        var ms = new MemoryStream();
        ms.WriteByte(0); // v1
        ms.WriteByte(0); // certificate_timestamp
        Span<byte> b8 = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b8, sct.Time);
        ms.Write(b8);
        ms.WriteByte(0);
        ms.WriteByte(1); // precert_entry
        ms.Write(issuerKeyHash);
        ms.WriteByte((byte)(tbs.Length >> 16));
        ms.WriteByte((byte)(tbs.Length >> 8));
        ms.WriteByte((byte)tbs.Length);
        ms.Write(tbs);
        ms.WriteByte((byte)(sct.Extensions.Length >> 8));
        ms.WriteByte((byte)sct.Extensions.Length);
        ms.Write(sct.Extensions);
        return ms.ToArray();
    }

    /// <summary>The extension's value: an OCTET STRING holding the TLS-encoded SignedCertificateTimestampList.</summary>
    public static List<Timestamp> ParseList(byte[] extensionValue)
    {
        try
        {
            var tls = new AsnReader(extensionValue, AsnEncodingRules.DER).ReadOctetString();
            var list = new List<Timestamp>();
            int total = BinaryPrimitives.ReadUInt16BigEndian(tls);
            var rest = tls.AsSpan(2, total);
            while (rest.Length > 0)
            {
                int len = BinaryPrimitives.ReadUInt16BigEndian(rest);
                var s = rest.Slice(2, len);
                rest = rest[(2 + len)..];
                if (s[0] != 0) continue; // only v1 is defined
                var logId = s.Slice(1, 32).ToArray();
                var time = BinaryPrimitives.ReadUInt64BigEndian(s[33..]);
                int extLen = BinaryPrimitives.ReadUInt16BigEndian(s[41..]);
                var exts = s.Slice(43, extLen).ToArray();
                var sig = s[(43 + extLen)..];
                // digitally-signed: hash algorithm, signature algorithm, opaque<0..2^16-1>.
                int sigLen = BinaryPrimitives.ReadUInt16BigEndian(sig[2..]);
                list.Add(new Timestamp(logId, time, exts, sig.Slice(4, sigLen).ToArray()));
            }
            return list;
        }
        catch (Exception e) when (e is AsnContentException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            throw new SupplyException("signing certificate: malformed SCT list");
        }
    }

    /// <summary>The TBSCertificate of <paramref name="certDer"/> with the SCT list extension taken out: the precertificate a CT log signed.</summary>
    public static byte[] PrecertTbs(byte[] certDer)
    {
        var cert = new AsnReader(certDer, AsnEncodingRules.DER).ReadSequence();
        var tbs = cert.ReadSequence();
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            while (tbs.HasData)
            {
                var tag = tbs.PeekTag();
                if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 3)
                {
                    var explicitExts = tbs.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 3));
                    var exts = explicitExts.ReadSequence();
                    using (w.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 3)))
                    using (w.PushSequence())
                        while (exts.HasData)
                        {
                            var one = exts.ReadEncodedValue();
                            var oid = new AsnReader(one, AsnEncodingRules.DER).ReadSequence().ReadObjectIdentifier();
                            if (oid != FulcioChecker.SctListOid) w.WriteEncodedValue(one.Span);
                        }
                }
                else w.WriteEncodedValue(tbs.ReadEncodedValue().Span);
            }
        }
        return w.Encode();
    }
}
