using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Berth.Supply.Signing.Keyless;

/// <summary>
/// Checks a Fulcio signing certificate offline: it chains to one of the CA certificates at the
/// time the log saw the signature (certificates live minutes), is for code signing, carries the
/// OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the older .1.1) and subject (a SAN
/// email or URI) asked for, and — when CT logs are trusted — holds an embedded SCT one of them signed.
/// </summary>
public sealed class FulcioChecker(IReadOnlyList<X509Certificate2> cas, string? issuer, string? subject, IReadOnlyList<TransparencyLog> ctLogs)
{
    public const string IssuerOidV1 = "1.3.6.1.4.1.57264.1.1";
    public const string IssuerOidV2 = "1.3.6.1.4.1.57264.1.8";
    public const string SctListOid = "1.3.6.1.4.1.11129.2.4.2";
    const string CodeSigningOid = "1.3.6.1.5.5.7.3.3";

    /// <summary>Checks the leaf (DER) with the chain it came with; returns its key.</summary>
    public VerificationKey VerifyLeaf(byte[] leafDer, IReadOnlyList<byte[]> givenChain, DateTimeOffset at)
    {
        using var leaf = Load(leafDer, "signing certificate");
        var extra = givenChain.Select(d => Load(d, "certificate chain")).ToList();
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        foreach (var ca in cas)
            if (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData)) chain.ChainPolicy.CustomTrustStore.Add(ca);
            else chain.ChainPolicy.ExtraStore.Add(ca);
        // Intermediates from the signature only help build a path; trust still ends at our roots.
        foreach (var c in extra) chain.ChainPolicy.ExtraStore.Add(c);
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(CodeSigningOid));
        if (!chain.Build(leaf))
            throw new SupplyException($"signing certificate: does not chain to the trusted Fulcio CA at {at:u}: " +
                string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString())));
        // The path must end at one of our roots, not at a root the signature brought.
        var root = chain.ChainElements[^1].Certificate;
        if (!cas.Any(c => c.RawData.AsSpan().SequenceEqual(root.RawData))) throw new SupplyException("signing certificate: its chain ends at a root that is not trusted");

        var gotIssuer = Issuer(leaf);
        if (issuer is not null && gotIssuer != issuer)
            throw new SupplyException($"signing certificate: OIDC issuer {Q(gotIssuer)}, required {Q(issuer)}");
        var names = SubjectNames(leaf);
        if (subject is not null && !names.Contains(subject))
            throw new SupplyException($"signing certificate: identity {(names.Count == 0 ? "none" : string.Join(", ", names.Select(Q)))}, required {Q(subject)}");
        if (ctLogs.Count > 0)
        {
            var issuerCert = chain.ChainElements.Count > 1 ? chain.ChainElements[1].Certificate : leaf;
            Sct.VerifyEmbedded(leaf, issuerCert, ctLogs);
        }
        return VerificationKey.FromCertificate(leaf);
    }

    static string Q(string? s) => s is null ? "none" : "\"" + s + "\"";

    static X509Certificate2 Load(byte[] der, string what)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            throw new SupplyException($"{what}: not a valid certificate ({e.Message})");
        }
    }

    /// <summary>The OIDC issuer: .1.8 is a DER UTF8String; the deprecated .1.1 holds the raw string.</summary>
    public static string? Issuer(X509Certificate2 cert)
    {
        foreach (var ext in cert.Extensions)
        {
            if (ext.Oid?.Value == IssuerOidV2)
                try { return new AsnReader(ext.RawData, AsnEncodingRules.DER).ReadCharacterString(UniversalTagNumber.UTF8String); }
                catch (AsnContentException) { throw new SupplyException("signing certificate: the OIDC issuer extension (1.3.6.1.4.1.57264.1.8) is not a UTF8String"); }
        }
        foreach (var ext in cert.Extensions)
            if (ext.Oid?.Value == IssuerOidV1) return Encoding.UTF8.GetString(ext.RawData);
        return null;
    }

    /// <summary>The SAN's email addresses (rfc822Name) and URIs: what Fulcio puts the OIDC subject in.</summary>
    public static List<string> SubjectNames(X509Certificate2 cert)
    {
        var names = new List<string>();
        foreach (var ext in cert.Extensions)
        {
            if (ext.Oid?.Value != "2.5.29.17") continue;
            try
            {
                var seq = new AsnReader(ext.RawData, AsnEncodingRules.DER).ReadSequence();
                while (seq.HasData)
                {
                    var tag = seq.PeekTag();
                    if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue is 1 or 6)
                        names.Add(seq.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, tag.TagValue)));
                    else seq.ReadEncodedValue();
                }
            }
            catch (AsnContentException)
            {
                throw new SupplyException("signing certificate: malformed subjectAltName");
            }
        }
        return names;
    }
}
