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

    /// <summary>The order of an OSV ecosystem name ("Debian:12", "Alpine:v3.19", "PyPI", "npm", "Go", "NuGet", "crates.io").</summary>
    public static IVersionOrder For(string ecosystem)
    {
        var family = ecosystem.Split(':')[0];
        return family switch
        {
            "Debian" or "Ubuntu" => Dpkg,
            "Alpine" or "Wolfi" or "Chainguard" => Apk,
            "PyPI" => Pep440,
            _ => SemVer,
        };
    }
}
