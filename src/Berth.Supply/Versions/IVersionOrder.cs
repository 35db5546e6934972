namespace Berth.Supply.Versions;

/// <summary>One ecosystem's order of versions: negative, zero or positive as a sorts before, with or after b.</summary>
public interface IVersionOrder
{
    int Compare(string a, string b);
}

/// <summary>The order each OSV ecosystem uses (ossf.github.io/osv-schema, "Affected versions").</summary>
public static class VersionOrders
{
    public static readonly IVersionOrder Dpkg = new DpkgVersion();
    public static readonly IVersionOrder Apk = new ApkVersion();
    public static readonly IVersionOrder SemVer = new SemVersion();
    public static readonly IVersionOrder Pep440 = new Pep440Version();
    public static readonly IVersionOrder Rpm = new RpmVersion();
    public static readonly IVersionOrder Maven = new MavenVersion();
    public static readonly IVersionOrder Gem = new GemVersion();

    /// <summary>The order of an OSV ecosystem name ("Debian:12", "Alpine:v3.19", "AlmaLinux:9", "PyPI", "npm", "Go", "NuGet", "Maven", "RubyGems", "crates.io"); crates.io, npm, Go and NuGet are semver.</summary>
    public static IVersionOrder For(string ecosystem)
    {
        var family = ecosystem.Split(':')[0];
        return family switch
        {
            "Debian" or "Ubuntu" => Dpkg,
            "Alpine" or "Wolfi" or "Chainguard" => Apk,
            "PyPI" => Pep440,
            "Red Hat" or "AlmaLinux" or "Rocky Linux" or "openSUSE" or "SUSE" or "Mageia" or "openEuler" => Rpm,
            "Maven" => Maven,
            "RubyGems" => Gem,
            _ => SemVer,
        };
    }
}
