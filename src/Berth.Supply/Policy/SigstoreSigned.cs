using System.Text.Json;
using Berth.Images.Transports;
using Berth.Linux;
using static Berth.Supply.Policy.StrictJson;

namespace Berth.Supply.Policy;

/// <summary>
/// sigstoreSigned: at least one sigstore signature attached to the image (registries.d
/// use-sigstore-attachments) must verify with one of the keys — or, keyless, carry a Fulcio
/// certificate issued to <see cref="Fulcio"/>'s identity and a Rekor SET — name the manifest's digest,
/// and claim an identity <see cref="SignedIdentity"/> accepts. Key material is given as files
/// (…Path/…Paths, read when an image is checked, as containers/image reads them) or inline
/// (…Data/…Datas, base64 of the PEM).
/// </summary>
public sealed record SigstoreSigned(
    IReadOnlyList<string> KeyPaths, IReadOnlyList<byte[]> KeyDatas, FulcioIdentity? Fulcio,
    IReadOnlyList<string> RekorKeyPaths, IReadOnlyList<byte[]> RekorKeyDatas, SignedIdentity SignedIdentity) : PolicyRequirement("sigstoreSigned")
{
    public override string? Check(PolicyImage image, PolicyContext context)
    {
        SigstoreTrust trust;
        try
        {
            trust = new SigstoreTrust(
                KeyPaths.Select(p => FileSystem.ReadBytes(p, 1 << 20)).Concat(KeyDatas).ToList(),
                Fulcio is { } f ? new FulcioTrust(f.CaPath is { } ca ? [FileSystem.ReadBytes(ca, 4 << 20)] : [f.CaData!], f.OidcIssuer, f.SubjectEmail) : null,
                RekorKeyPaths.Select(p => FileSystem.ReadBytes(p, 1 << 20)).Concat(RekorKeyDatas).ToList());
        }
        catch (LinuxException e)
        {
            return e.Message;
        }
        var digest = image.Manifest.Digest;
        // Sigstore signatures are read from a registry, and only where registries.d says to (containers/image's rule).
        if (image.Reference is not DockerReference reference)
            return $"no signature exists for {digest} (a {image.Reference.Transport.Name}: image carries no sigstore signatures)";
        if (!context.Registries.UseSigstoreAttachments(reference))
            return $"no signature exists for {digest} (registries.d: use-sigstore-attachments is not true for {reference.Qualified?.Name}, so none is read)";
        if (context.Verifier is not { } verifier) return "no signature verifier is available";
        SignatureCheck result;
        try
        {
            result = verifier.Verify(image.Source, digest, trust);
        }
        catch (SupplyException e)
        {
            // Key or certificate material that cannot be used: the requirement cannot accept anything.
            return e.Message;
        }
        if (result.Found == 0) return $"no signature exists for {digest}";
        var reasons = new List<string>(result.Failures);
        var intended = image.Reference.PolicyDockerReference;
        foreach (var signed in result.SignedReferences)
        {
            if (SignedIdentity.Matches(intended, signed)) return null;
            reasons.Add($"signature for identity {Q(signed)} is not accepted ({SignedIdentity.Type})");
        }
        return reasons.Count == 1 ? reasons[0] : $"none of the {result.Found} signatures were accepted: {string.Join("; ", reasons)}";
    }

    internal static SigstoreSigned ParseFields(JsonElement e, string where)
    {
        List<string> keyPaths = [], rekorPaths = [];
        List<byte[]> keyDatas = [], rekorDatas = [];
        FulcioIdentity? fulcio = null;
        int keySources = 0, rekorSources = 0;
        SignedIdentity identity = SignedIdentity.Default;
        foreach (var m in Object(e, where, ["type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki",
                     "rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas", "signedIdentity"]))
        {
            var at = Field(where, m.Name);
            switch (m.Name)
            {
                case "keyPath": keyPaths.Add(NonEmpty(String(m.Value, at), at)); keySources++; break;
                case "keyPaths": keyPaths.AddRange(Some(Strings(m.Value, at), at)); keySources++; break;
                case "keyData": keyDatas.Add(Base64(m.Value, at)); keySources++; break;
                case "keyDatas": keyDatas.AddRange(Some(Array(m.Value, at).Select((x, i) => Base64(x, $"{at}[{i}]")).ToList(), at)); keySources++; break;
                case "fulcio": fulcio = FulcioIdentity.Parse(m.Value, at); keySources++; break;
                case "pki": throw Error(at, "(X.509 PKI without Fulcio) is not supported by berth");
                case "rekorPublicKeyPath": rekorPaths.Add(NonEmpty(String(m.Value, at), at)); rekorSources++; break;
                case "rekorPublicKeyPaths": rekorPaths.AddRange(Some(Strings(m.Value, at), at)); rekorSources++; break;
                case "rekorPublicKeyData": rekorDatas.Add(Base64(m.Value, at)); rekorSources++; break;
                case "rekorPublicKeyDatas": rekorDatas.AddRange(Some(Array(m.Value, at).Select((x, i) => Base64(x, $"{at}[{i}]")).ToList(), at)); rekorSources++; break;
                case "signedIdentity": identity = SignedIdentity.Parse(m.Value, at); break;
            }
        }
        if (keySources != 1) throw Error(where, $"needs exactly one of keyPath, keyPaths, keyData, keyDatas and fulcio ({(keySources == 0 ? "none" : "more than one")} given)");
        if (rekorSources > 1) throw Error(where, "takes at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas");
        if (fulcio is not null && rekorSources == 0) throw Error(where, "uses fulcio, which needs a Rekor key too (rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData or rekorPublicKeyDatas)");
        return new SigstoreSigned(keyPaths, keyDatas, fulcio, rekorPaths, rekorDatas, identity);
    }

    static string NonEmpty(string s, string where) => s.Length > 0 ? s : throw Error(where, "is empty");

    static List<T> Some<T>(List<T> list, string where) => list.Count > 0 ? list : throw Error(where, "contains no entries");
}

/// <summary>sigstoreSigned's fulcio: the CA that issued the signing certificate, and the identity it must name.</summary>
public sealed record FulcioIdentity(string? CaPath, byte[]? CaData, string OidcIssuer, string SubjectEmail)
{
    internal static FulcioIdentity Parse(JsonElement e, string where)
    {
        string? caPath = null, issuer = null, email = null;
        byte[]? caData = null;
        foreach (var m in Object(e, where, ["caPath", "caData", "oidcIssuer", "subjectEmail"]))
        {
            var at = Field(where, m.Name);
            switch (m.Name)
            {
                case "caPath": caPath = String(m.Value, at); break;
                case "caData": caData = Base64(m.Value, at); break;
                case "oidcIssuer": issuer = String(m.Value, at); break;
                case "subjectEmail": email = String(m.Value, at); break;
            }
        }
        if (caPath is { Length: > 0 } && caData is not null) throw Error(where, "takes caPath or caData, not both");
        if (caPath is not { Length: > 0 } && caData is null) throw Error(where, "needs caPath or caData");
        if (issuer is not { Length: > 0 }) throw Error(Field(where, "oidcIssuer"), "is missing");
        if (email is not { Length: > 0 }) throw Error(Field(where, "subjectEmail"), "is missing");
        return new FulcioIdentity(caPath is { Length: > 0 } ? caPath : null, caData, issuer, email);
    }
}
