using Berth.Images;
using Berth.Images.Copy;
using Berth.Supply.Policy;

namespace Berth.Cli.Commands;

/// <summary>
/// skopeo's policy flags on `image pull` and `image copy` (and through them `berth pull` and
/// `berth run --pull`): --policy FILE, --registries-d DIR (skopeo spells it --registries.d; both are
/// taken), --insecure-policy. Without --policy the default file podman honours applies.
/// </summary>
public static class PolicyFlags
{
    public static readonly Flag[] Flags =
    {
        new("policy", null, true), new("registries-d", null, true), new("registries.d", null, true), new("insecure-policy"),
    };

    /// <summary>The gate a copy consults; null when no policy applies (--insecure-policy, or no policy file at all).</summary>
    public static IImagePolicy? From(CommandLine cl, ImageService images) =>
        ImagePolicy.FromFlags(cl.Value("policy"), cl.Has("insecure-policy"), cl.Value("registries-d") ?? cl.Value("registries.d"), images.Transports,
            Environment.GetEnvironmentVariable("HOME"), Verifier,
            cl.Has("debug") ? line => Runtime.Log.Stderr($"berth: debug: {line}") : null);

    /// <summary>sigstoreSigned's cryptography (Berth.Supply.Signing).</summary>
    static readonly ISignatureVerifier Verifier = new SigstoreSignatures();
}
