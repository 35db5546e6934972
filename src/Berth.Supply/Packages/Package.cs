namespace Berth.Supply.Packages;

/// <summary>
/// One installed package, as its package manager records it. <see cref="Type"/> is the purl type
/// (deb, apk, pypi, npm, nuget, golang); <see cref="Location"/> is the file it was read from.
/// </summary>
public sealed record Package(string Type, string Name, string Version)
{
    public string? Namespace { get; init; }
    public string? Arch { get; init; }
    /// <summary>The source package (dpkg's Source:, apk's origin): what distro advisories name.</summary>
    public string? SourceName { get; init; }
    public string? SourceVersion { get; init; }
    public string Purl { get; init; } = "";
    public IReadOnlyList<string> Cpes { get; init; } = Array.Empty<string>();
    /// <summary>An SPDX license expression, or null when the metadata names none.</summary>
    public string? License { get; init; }
    public string Location { get; init; } = "";
    public string FoundBy { get; init; } = "";
    /// <summary>The digest of the layer that introduced the package's record (images only).</summary>
    public string? Layer { get; init; }
    public string? Supplier { get; init; }
    /// <summary>The files the package manager says the package installed (directories left out), with its digest of each where it keeps one.</summary>
    public IReadOnlyList<PackageFile> Files { get; init; } = Array.Empty<PackageFile>();

    /// <summary>The sort key that makes every document deterministic.</summary>
    public string Key => $"{Type}\u0000{Namespace}\u0000{Name}\u0000{Version}\u0000{Arch}\u0000{Location}";
}

/// <summary>A file a package owns: its absolute path, and the digest its package manager recorded (SPDX's algorithm name: MD5, SHA1, SHA256 …; hex), if any.</summary>
public sealed record PackageFile(string Path, string? Algorithm = null, string? Digest = null);
