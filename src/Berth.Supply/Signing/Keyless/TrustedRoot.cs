using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Berth.Oci.Json;

namespace Berth.Supply.Signing.Keyless;

/// <summary>A transparency log (Rekor) or certificate transparency log: its key, and its id (the SHA-256 of the key's DER).</summary>
public sealed record TransparencyLog(string BaseUrl, VerificationKey Key, byte[] LogId, DateTimeOffset? Start, DateTimeOffset? End);

/// <summary>A certificate authority (Fulcio): its chain, leaf-most first, root last.</summary>
public sealed record CertificateAuthority(string Uri, IReadOnlyList<X509Certificate2> Chain, DateTimeOffset? Start, DateTimeOffset? End);

/// <summary>
/// sigstore's trusted root (protobuf-specs TrustedRoot, "application/vnd.dev.sigstore.trustedroot+json;version=0.1"):
/// the Rekor logs (tlogs), Fulcio CAs (certificateAuthorities) and CT logs (ctlogs) to trust. Keys are
/// base64 SubjectPublicKeyInfo DER ("rawBytes"), certificates base64 DER.
/// </summary>
public sealed class TrustedRoot
{
    public required IReadOnlyList<TransparencyLog> TransparencyLogs { get; init; }
    public required IReadOnlyList<CertificateAuthority> CertificateAuthorities { get; init; }
    public required IReadOnlyList<TransparencyLog> CtLogs { get; init; }

    public static TrustedRoot Parse(ReadOnlySpan<byte> json, string what = "trusted root")
    {
        try
        {
            return JsonIn.Parse(json, what, o =>
            {
                var mt = o.String("mediaType");
                if (mt is not null && !mt.StartsWith("application/vnd.dev.sigstore.trustedroot", StringComparison.Ordinal))
                    throw new SupplyException($"{what}: mediaType: {mt} is not a sigstore trusted root");
                return new TrustedRoot
                {
                    TransparencyLogs = o.Array("tlogs", l => Log(l, what)) ?? [],
                    CertificateAuthorities = o.Array("certificateAuthorities", c => Ca(c, what)) ?? [],
                    CtLogs = o.Array("ctlogs", l => Log(l, what)) ?? [],
                };
            });
        }
        catch (Exception e) when (e is JsonException or Oci.SpecException or FormatException or System.Security.Cryptography.CryptographicException)
        {
            throw new SupplyException($"{what}: {e.Message}");
        }
    }

    static TransparencyLog Log(JsonIn l, string what)
    {
        var pk = l.Object("publicKey", k => new { Raw = k.String("rawBytes"), Valid = k.Object("validFor", v => new[] { v.String("start"), v.String("end") }) }) ??
            throw new SupplyException($"{what}: {l.Path}.publicKey: missing");
        var (raw, start, end) = (pk.Raw, pk.Valid?[0], pk.Valid?[1]);
        if (raw is null) throw new SupplyException($"{what}: {l.Path}.publicKey.rawBytes: missing");
        var key = VerificationKey.FromSubjectPublicKeyInfo(Convert.FromBase64String(raw), $"{what}: {l.Path}.publicKey");
        var id = l.Object("logId", i => new { Id = i.String("keyId") })?.Id is { } kid ? Convert.FromBase64String(kid) : Convert.FromHexString(key.KeyId);
        return new TransparencyLog(l.String("baseUrl") ?? "", key, id, Time(start), Time(end));
    }

    static CertificateAuthority Ca(JsonIn c, string what)
    {
        var certs = c.Object("certChain", ch => ch.Array("certificates", x => x.String("rawBytes")) ?? []) ?? throw new SupplyException($"{what}: {c.Path}.certChain: missing");
        var chain = certs.Select(b => X509CertificateLoader.LoadCertificate(Convert.FromBase64String(b ?? throw new SupplyException($"{what}: {c.Path}.certChain: a certificate has no rawBytes")))).ToList();
        var valid = c.Object("validFor", v => new[] { v.String("start"), v.String("end") });
        return new CertificateAuthority(c.String("uri") ?? "", chain, Time(valid?[0]), Time(valid?[1]));
    }

    static DateTimeOffset? Time(string? s) => s is null ? null : DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
}
