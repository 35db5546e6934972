using System.Text.Json;
using Berth.Images.Copy;
using Berth.Images.Transports;
using Berth.Linux;
using static Berth.Supply.Policy.StrictJson;

namespace Berth.Supply.Policy;

/// <summary>The image a requirement judges: the reference it is read by, its source, and the manifest to be copied (bytes and digest).</summary>
public sealed record PolicyImage(ImageReference Reference, IImageSource Source, RawManifest Manifest);

/// <summary>What evaluation needs besides the policy: where signatures are read from and how they are checked.</summary>
public sealed record PolicyContext(RegistriesD Registries, ISignatureVerifier? Verifier, string? Home = null);

/// <summary>
/// One entry of a scope's list in containers-policy.json(5); every entry of the list must accept an
/// image. <see cref="Check"/> returns null when it accepts, else why not — containers/image's words.
/// </summary>
public abstract record PolicyRequirement(string Type)
{
    public abstract string? Check(PolicyImage image, PolicyContext context);

    public static PolicyRequirement Parse(JsonElement e, string where)
    {
        var members = Object(e, where, null);
        var type = members.Any(m => m.Name == "type") ? String(members.First(m => m.Name == "type").Value, Field(where, "type")) : throw Error(Field(where, "type"), "is missing");
        switch (type)
        {
            case "insecureAcceptAnything":
                Object(e, where, ["type"]);
                return new InsecureAcceptAnything();
            case "reject":
                Object(e, where, ["type"]);
                return new Reject();
            case "signedBy": return SignedBy.ParseFields(e, where);
            case "signedBaseLayer":
                var fields = Object(e, where, ["type", "baseLayerIdentity"]);
                if (!fields.Any(m => m.Name == "baseLayerIdentity")) throw Error(Field(where, "baseLayerIdentity"), "is missing");
                return new SignedBaseLayer(SignedIdentity.Parse(fields.First(m => m.Name == "baseLayerIdentity").Value, Field(where, "baseLayerIdentity")));
            case "sigstoreSigned": return SigstoreSigned.ParseFields(e, where);
            default:
                throw Error(Field(where, "type"), $"{Q(type)} is not a policy requirement type (insecureAcceptAnything, reject, signedBy, sigstoreSigned)");
        }
    }
}

public sealed record InsecureAcceptAnything() : PolicyRequirement("insecureAcceptAnything")
{
    public override string? Check(PolicyImage image, PolicyContext context) => null;
}

public sealed record Reject() : PolicyRequirement("reject")
{
    public override string? Check(PolicyImage image, PolicyContext context) => $"running image {image.Reference} is rejected by policy";
}

/// <summary>containers/image parses it and refuses every image with it ("not implemented"); so does Berth.</summary>
public sealed record SignedBaseLayer(SignedIdentity BaseLayerIdentity) : PolicyRequirement("signedBaseLayer")
{
    public override string? Check(PolicyImage image, PolicyContext context) => "signedBaseLayer is not implemented (by containers/image either)";
}

/// <summary>
/// signedBy: "simple signing" GPG signatures from the lookaside store registries.d names for the
/// image (containers/image's default /var/lib/containers/sigstore otherwise), at least one made by one
/// of the keys, naming the manifest's digest and an identity <see cref="SignedIdentity"/> accepts.
/// Only keyType GPGKeys is evaluated, as in containers/image.
/// </summary>
public sealed record SignedBy(string KeyType, IReadOnlyList<string>? KeyPaths, byte[]? KeyData, SignedIdentity SignedIdentity) : PolicyRequirement("signedBy")
{
    static readonly string[] KeyTypes = ["GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs"];

    public override string? Check(PolicyImage image, PolicyContext context)
    {
        if (KeyType != "GPGKeys") return $"keyType {KeyType} is not implemented (by containers/image either)";
        var digest = image.Manifest.Digest;
        try
        {
            var keys = KeyPaths is { } paths ? paths.Select(p => FileSystem.ReadBytes(p, 4 << 20)).ToList() : [KeyData!];
            if (image.Reference is not DockerReference reference)
                return $"no signature exists for {digest} (a {image.Reference.Transport.Name}: image carries no simple-signing signatures here)";
            var lookaside = context.Registries.Lookaside(reference, write: false) ?? GpgSignatures.DefaultLookaside(context.Home);
            var signatures = GpgSignatures.Read(lookaside, reference, digest);
            if (signatures.Count == 0) return $"no signature exists for {digest} (in {lookaside})";
            var (verified, reasons) = GpgSignatures.Verify(keys, signatures);
            var intended = image.Reference.PolicyDockerReference;
            foreach (var claims in verified)
            {
                if (claims.ManifestDigest != digest) reasons.Add($"signature for digest {claims.ManifestDigest} does not match");
                else if (SignedIdentity.Matches(intended, claims.DockerReference)) return null;
                else reasons.Add($"signature for identity {Q(claims.DockerReference)} is not accepted ({SignedIdentity.Type})");
            }
            return reasons.Count == 1 ? reasons[0] : $"none of the {signatures.Count} signatures were accepted: {string.Join("; ", reasons)}";
        }
        catch (LinuxException e)
        {
            return e.Message;
        }
        catch (SupplyException e)
        {
            return e.Message;
        }
    }

    internal static SignedBy ParseFields(JsonElement e, string where)
    {
        string? keyType = null;
        List<string>? paths = null;
        byte[]? data = null;
        int sources = 0;
        SignedIdentity identity = SignedIdentity.Default;
        foreach (var m in Object(e, where, ["type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"]))
        {
            var at = Field(where, m.Name);
            switch (m.Name)
            {
                case "keyType": keyType = String(m.Value, at); break;
                case "keyPath": paths = [String(m.Value, at)]; sources++; break;
                case "keyPaths": paths = Strings(m.Value, at); sources++; break;
                case "keyData": data = Base64(m.Value, at); sources++; break;
                case "signedIdentity": identity = SignedIdentity.Parse(m.Value, at); break;
            }
        }
        if (keyType is null || !KeyTypes.Contains(keyType)) throw Error(Field(where, "keyType"), keyType is null ? "is missing" : $"{Q(keyType)} is not a key type ({string.Join(", ", KeyTypes)})");
        if (sources != 1) throw Error(where, $"needs exactly one of keyPath, keyPaths and keyData ({(sources == 0 ? "none" : "more than one")} given)");
        return new SignedBy(keyType, paths, data, identity);
    }
}
