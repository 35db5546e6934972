using Berth.Supply.Catalogers;
using Berth.Supply.Packages;

namespace Berth.Supply.Vulnerabilities;

/// <summary>
/// Where a package's advisories are filed in OSV: the ecosystem and name a record's
/// affected[].package uses. Distro packages are looked up by their source package in the
/// distro release's ecosystem ("Debian:12", "Alpine:v3.19"): what DSA/DLA and Alpine's secdb name.
/// </summary>
public static class Ecosystems
{
    /// <summary>The (ecosystem, name, version) to look up for a purl, or null for a type OSV has no ecosystem for.</summary>
    public static (string Ecosystem, string Name, string Version)? Of(PackageUrl p)
    {
        if (p.Version is null) return null;
        var upstream = p.Qualifier("upstream");
        string? sourceName = upstream?.Split('@')[0];
        string? sourceVersion = upstream is not null && upstream.Contains('@') ? upstream[(upstream.IndexOf('@') + 1)..] : null;
        var distro = p.Qualifier("distro");
        switch (p.Type)
        {
            case "deb":
            {
                var family = (p.Namespace ?? "debian").ToLowerInvariant() switch { "ubuntu" => "Ubuntu", _ => "Debian" };
                var release = distro is not null && distro.IndexOf('-') is var dash and > 0 ? distro[(dash + 1)..] : null;
                // Debian's records are per major release ("Debian:12"), not point release.
                if (release is not null && family == "Debian") release = release.Split('.')[0];
                return (release is null ? family : $"{family}:{release}", sourceName ?? p.Name, sourceVersion ?? p.Version);
            }
            case "apk":
            {
                var release = distro is not null && distro.IndexOf('-') is var dash and > 0 ? distro[(dash + 1)..] : null;
                var parts = release?.Split('.');
                return (parts is { Length: >= 2 } ? $"Alpine:v{parts[0]}.{parts[1]}" : "Alpine", sourceName ?? p.Name, p.Version);
            }
            case "rpm":
            {
                // The distributions OSV has rpm ecosystems for, by os-release ID; their records name binary packages, EPOCH:VERSION-RELEASE.
                var release = distro is not null && distro.IndexOf('-') is var dash and > 0 ? distro[(dash + 1)..] : null;
                var major = release?.Split('.')[0];
                var family = (p.Namespace ?? "").ToLowerInvariant() switch
                {
                    "almalinux" => "AlmaLinux", "rocky" => "Rocky Linux", "rhel" or "redhat" => "Red Hat", "opensuse-leap" or "opensuse-tumbleweed" or "opensuse" => "openSUSE",
                    "sles" or "suse" => "SUSE", "mageia" => "Mageia", "openeuler" => "openEuler", _ => null,
                };
                if (family is null) return null;
                var ecosystem = family switch
                {
                    "AlmaLinux" or "Rocky Linux" or "Mageia" when major is not null => $"{family}:{major}",
                    "openSUSE" when p.Namespace == "opensuse-leap" && release is not null => $"openSUSE:Leap {release}",
                    "openSUSE" when p.Namespace == "opensuse-tumbleweed" => "openSUSE:Tumbleweed",
                    _ => family,
                };
                var epoch = p.Qualifier("epoch");
                return (ecosystem, p.Name, epoch is { Length: > 0 } && epoch != "0" ? $"{epoch}:{p.Version}" : p.Version);
            }
            case "pypi": return ("PyPI", PythonCataloger.Normalize503(p.Name), p.Version);
            case "npm": return ("npm", p.Namespace is null ? p.Name : $"{p.Namespace}/{p.Name}", p.Version);
            case "nuget": return ("NuGet", p.Name, p.Version);
            case "golang": return ("Go", p.Namespace is null ? p.Name : $"{p.Namespace}/{p.Name}", p.Version);
            case "cargo": return ("crates.io", p.Name, p.Version);
            case "gem": return ("RubyGems", p.Name, p.Version);
            case "maven": return ("Maven", p.Namespace is null ? p.Name : $"{p.Namespace}:{p.Name}", p.Version);
            default: return null;
        }
    }

    /// <summary>The index key: ecosystems compare exactly, names as each ecosystem's registry does (PyPI normalized, NuGet case-blind).</summary>
    public static string Key(string ecosystem, string name)
    {
        var family = ecosystem.Split(':')[0];
        var n = family switch { "PyPI" => PythonCataloger.Normalize503(name), "NuGet" => name.ToLowerInvariant(), _ => name };
        return ecosystem + "\t" + n;
    }
}
