using Berth.Images;
using Berth.Images.Copy;
using Berth.Images.Transports;

namespace Berth.Supply.Policy;

/// <summary>
/// The gate a copy consults (<see cref="IImagePolicy"/>): the image is judged by the policy's
/// requirements for its source reference, and refused with the requirement that failed:
/// "docker://HOST/REPO:TAG: policy: sigstoreSigned: no signature exists for sha256:…".
/// </summary>
public sealed class ImagePolicy(SignaturePolicy policy, PolicyContext context, Action<string>? log = null) : IImagePolicy
{
    public SignaturePolicy Policy => policy;

    public void Admit(IImageSource source, RawManifest manifest)
    {
        if (log is not null)
        {
            var (requirements, scope) = policy.For(source.Reference);
            log($"policy: {source.Reference} {manifest.Digest}: {scope}: {string.Join(", ", requirements.Select(r => r.Type))}");
        }
        if (policy.Check(new PolicyImage(source.Reference, source, manifest), context) is { } why)
            throw new ImageException($"{source.Reference}: policy: {why}");
    }

    /// <summary>
    /// The policy a command enforces, from skopeo's flags: --insecure-policy enforces none; --policy FILE
    /// that file; else the default file podman honours ($HOME/.config/containers/policy.json, then
    /// /etc/containers/policy.json). Where no file exists Berth accepts every image, as the
    /// insecureAcceptAnything default of Debian's containers-common would (containers/image refuses to
    /// run instead; Berth keeps working on a machine without containers-common, and says so in --debug).
    /// </summary>
    public static ImagePolicy? FromFlags(string? policyPath, bool insecure, string? registriesDir, TransportRegistry transports, string? home,
        ISignatureVerifier? verifier, Action<string>? log = null)
    {
        // skopeo's order: --insecure-policy wins over --policy.
        if (insecure) return null;
        var path = policyPath ?? SignaturePolicy.FindDefault(home);
        if (path is null)
        {
            log?.Invoke($"no policy file ({string.Join(", ", SignaturePolicy.DefaultPaths(home))}): every image is accepted");
            return null;
        }
        var policy = SignaturePolicy.Load(path, transports);
        var dir = registriesDir ?? RegistriesD.DefaultDir(home);
        log?.Invoke($"policy {path}, registries.d {dir}");
        return new ImagePolicy(policy, new PolicyContext(RegistriesD.Load(dir), verifier, home), log);
    }
}
