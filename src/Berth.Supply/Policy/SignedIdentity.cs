using System.Text.Json;
using System.Text.RegularExpressions;
using Berth.Images.Registry;
using static Berth.Supply.Policy.StrictJson;

namespace Berth.Supply.Policy;

/// <summary>
/// A signature's signedIdentity rule (containers-policy.json(5)): whether the docker reference a
/// signature claims is acceptable for the image being copied (containers/image's PolicyReferenceMatch).
/// </summary>
public abstract record SignedIdentity(string Type)
{
    /// <param name="image">The reference the image is being read by (the policy's "intended" one); null when its transport has none.</param>
    /// <param name="signed">critical.identity.docker-reference of a verified signature, as written.</param>
    public abstract bool Matches(Reference? image, string signed);

    /// <summary>The default of signedBy and sigstoreSigned.</summary>
    public static readonly SignedIdentity Default = new MatchRepoDigestOrExact();

    public static SignedIdentity Parse(JsonElement e, string where)
    {
        var members = Object(e, where, null);
        var type = members.Any(m => m.Name == "type") ? String(members.First(m => m.Name == "type").Value, Field(where, "type")) : throw Error(Field(where, "type"), "is missing");
        string[] fields = type switch
        {
            "matchExact" or "matchRepoDigestOrExact" or "matchRepository" => ["type"],
            "exactReference" => ["type", "dockerReference"],
            "exactRepository" => ["type", "dockerRepository"],
            "remapIdentity" => ["type", "prefix", "signedPrefix"],
            _ => throw Error(Field(where, "type"), $"{Q(type)} is not a signedIdentity type (matchExact, matchRepoDigestOrExact, matchRepository, exactReference, exactRepository, remapIdentity)"),
        };
        var values = new Dictionary<string, string>();
        foreach (var m in Object(e, where, fields))
            values[m.Name] = String(m.Value, Field(where, m.Name));
        string Required(string name) => values.TryGetValue(name, out var v) ? v : throw Error(Field(where, name), "is missing");
        switch (type)
        {
            case "matchExact": return new MatchExact();
            case "matchRepoDigestOrExact": return new MatchRepoDigestOrExact();
            case "matchRepository": return new MatchRepository();
            case "exactReference":
            {
                var text = Required("dockerReference");
                var r = ParseReference(text, Field(where, "dockerReference"));
                if (r.Tag is null && r.Digest is null) throw Error(Field(where, "dockerReference"), $"{Q(text)} names neither a tag nor a digest");
                return new ExactReference(r);
            }
            case "exactRepository":
                return new ExactRepository(ParseReference(Required("dockerRepository"), Field(where, "dockerRepository")));
            default:
            {
                var prefix = Required("prefix");
                var signedPrefix = Required("signedPrefix");
                RemapIdentity.CheckPrefix(prefix, Field(where, "prefix"));
                RemapIdentity.CheckPrefix(signedPrefix, Field(where, "signedPrefix"));
                return new RemapIdentity(prefix, signedPrefix);
            }
        }
    }

    static Reference ParseReference(string text, string where) =>
        Reference.TryParse(text, out var r, out var error) ? r! : throw Error(where, $"{Q(text)} is not a docker reference ({error})");

    protected static Reference? TryParse(string text) => Reference.TryParse(text, out var r, out _) ? r : null;

    protected static bool NameOnly(Reference r) => r.Tag is null && r.Digest is null;

    /// <summary>matchRepoDigestOrExact's rule: a tag must match exactly; an image read by digest accepts any tag of its repository (the digest is checked separately).</summary>
    protected static bool RepoDigestOrExact(Reference intended, Reference signed)
    {
        if (NameOnly(signed)) return false;
        if (intended.Tag is not null) return signed.ToString() == intended.ToString();
        if (intended.Digest is not null) return signed.Name == intended.Name;
        return false;
    }
}

/// <summary>The signed reference is the image's, tag included; an image read by digest never matches (it has no tag to compare).</summary>
public sealed record MatchExact() : SignedIdentity("matchExact")
{
    public override bool Matches(Reference? image, string signed) =>
        image is not null && TryParse(signed) is { } s && !NameOnly(image) && !NameOnly(s) && s.ToString() == image.ToString();
}

public sealed record MatchRepoDigestOrExact() : SignedIdentity("matchRepoDigestOrExact")
{
    public override bool Matches(Reference? image, string signed) =>
        image is not null && TryParse(signed) is { } s && RepoDigestOrExact(image, s);
}

/// <summary>Any tag or digest of the image's repository.</summary>
public sealed record MatchRepository() : SignedIdentity("matchRepository")
{
    public override bool Matches(Reference? image, string signed) =>
        image is not null && TryParse(signed) is { } s && s.Name == image.Name;
}

/// <summary>The signature must name exactly this reference, whatever the image was read by.</summary>
public sealed record ExactReference(Reference DockerReference) : SignedIdentity("exactReference")
{
    public override bool Matches(Reference? image, string signed) =>
        TryParse(signed) is { } s && !NameOnly(s) && s.ToString() == DockerReference.ToString();
}

/// <summary>The signature must name this repository (any tag or digest of it).</summary>
public sealed record ExactRepository(Reference DockerRepository) : SignedIdentity("exactRepository")
{
    public override bool Matches(Reference? image, string signed) => TryParse(signed) is { } s && s.Name == DockerRepository.Name;
}

/// <summary>
/// matchRepoDigestOrExact after the image's reference is rewritten: an image read under
/// <see cref="Prefix"/> (a mirror) is checked as if read under <see cref="SignedPrefix"/>.
/// </summary>
public sealed partial record RemapIdentity(string Prefix, string SignedPrefix) : SignedIdentity("remapIdentity")
{
    public override bool Matches(Reference? image, string signed)
    {
        if (image is null || TryParse(signed) is not { } s) return false;
        var intended = image;
        var name = image.Name;
        if (name == Prefix || (name.Length > Prefix.Length && name.StartsWith(Prefix, StringComparison.Ordinal) && name[Prefix.Length] == '/'))
        {
            var text = image.ToString();
            var rewritten = SignedPrefix + text[Prefix.Length..];
            // Go's reference.ParseNamed: the rewritten text must already be canonical.
            if (TryParse(rewritten) is not { } r || r.ToString() != rewritten) return false;
            intended = r;
        }
        return RepoDigestOrExact(intended, s);
    }

    /// <summary>A prefix is a host[:port], or a name that starts with one ("example.com/ns").</summary>
    internal static void CheckPrefix(string prefix, string where)
    {
        if (DomainRegex().IsMatch(prefix) || (NameRegex().IsMatch(prefix) && DomainPrefixRegex().IsMatch(prefix))) return;
        throw Error(where, $"{Q(prefix)} is not valid (a host[:port] or HOST/PATH)");
    }

    const string Component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const string Domain = Component + @"(?:\." + Component + ")*(?::[0-9]+)?";
    const string PathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*";

    [GeneratedRegex("^" + Domain + "$")]
    private static partial Regex DomainRegex();

    [GeneratedRegex("^" + Domain + "/")]
    private static partial Regex DomainPrefixRegex();

    [GeneratedRegex("^(?:" + Domain + "/)?" + PathComponent + "(?:/" + PathComponent + ")*$")]
    private static partial Regex NameRegex();
}
