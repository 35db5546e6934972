using Berth.Supply.Vulnerabilities;

namespace Berth.Serve.Policy;

/// <summary>
/// What an image must have to be promoted or admitted. A null field is not set here: an override
/// inherits it from the top level, and the top level's null means "not required".
/// </summary>
public sealed record Requirements(bool? Signature = null, bool? Sbom = null, Severity? MaxSeverity = null, string? ProvenanceBuilder = null, string? ProvenanceSource = null)
{
    /// <summary>This override's fields over <paramref name="under"/>'s.</summary>
    public Requirements Over(Requirements under) => new(
        Signature ?? under.Signature, Sbom ?? under.Sbom, MaxSeverity ?? under.MaxSeverity,
        ProvenanceBuilder ?? under.ProvenanceBuilder, ProvenanceSource ?? under.ProvenanceSource);
}

/// <summary>A public key the policy trusts: where it was given (for reasons and errors) and its PEM.</summary>
public sealed record TrustedKey(string Name, byte[] Pem);

/// <summary>The requirements and keys of the repositories one pattern matches.</summary>
public sealed record RepositoryOverride(RepositoryPattern Pattern, Requirements Require, IReadOnlyList<TrustedKey>? TrustedKeys, long Line);

/// <summary>One plugin of the `plugins:` section: a built-in ("berth") or an external command.</summary>
public sealed record PluginSpec(string Name, IReadOnlyList<string>? Command, TimeSpan Timeout, long Line);

/// <summary>
/// The service's policy file, parsed and validated (<see cref="PolicyLoader"/>). Immutable: a reload
/// makes a new one and swaps it in whole, so a decision sees one policy from start to end.
/// </summary>
public sealed record ServePolicy(
    string Source, string Hash, Requirements Require, IReadOnlyList<TrustedKey> TrustedKeys, IReadOnlyList<RepositoryOverride> Repositories,
    IReadOnlyList<PluginSpec> Scanners, IReadOnlyList<PluginSpec> Verifiers)
{
    /// <summary>The requirements and keys for <paramref name="repository"/> ("host/path"): the most specific matching override over the top level.</summary>
    public EffectivePolicy For(string repository)
    {
        RepositoryOverride? best = null;
        foreach (var o in Repositories)
            if (o.Pattern.Matches(repository) && (best is null || o.Pattern.Specificity > best.Pattern.Specificity)) best = o;
        if (best is null) return new EffectivePolicy(Require, TrustedKeys, null);
        return new EffectivePolicy(best.Require.Over(Require), best.TrustedKeys ?? TrustedKeys, best.Pattern.Text);
    }
}

/// <summary>The policy one repository gets, and the override pattern it came from (null: the top level).</summary>
public sealed record EffectivePolicy(Requirements Require, IReadOnlyList<TrustedKey> TrustedKeys, string? Override);
