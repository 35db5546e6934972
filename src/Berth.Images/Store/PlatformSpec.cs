using System.Runtime.InteropServices;
using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>An os/architecture[/variant] to pick from an index ("linux/amd64", "linux/arm64/v8").</summary>
public sealed record PlatformSpec(string Os, string Architecture, string? Variant)
{
    public static PlatformSpec Host => new("linux", RuntimeInformation.ProcessArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        var a => a.ToString().ToLowerInvariant(),
    }, null);

    public static PlatformSpec Parse(string text)
    {
        var p = text.Split('/');
        if (p.Length is < 2 or > 3 || p.Any(x => x.Length == 0)) throw new ImageException($"--platform: {Quote.Of(text)} is not os/architecture[/variant]");
        return new PlatformSpec(p[0], p[1], p.Length == 3 ? p[2] : null);
    }

    public bool Matches(Platform? p) =>
        p is not null && p.Os == Os && p.Architecture == Architecture && (Variant is null || p.Variant == Variant);

    /// <summary>
    /// The entry of <paramref name="index"/> for this platform: the first manifest (or nested
    /// index) whose platform matches; an index whose one manifest names no platform is for anyone.
    /// </summary>
    public Descriptor Pick(ImageIndex index, string what)
    {
        var candidates = (index.Manifests ?? new()).Where(m => MediaTypes.IsManifest(m.MediaType) || MediaTypes.IsIndex(m.MediaType)).ToList();
        return candidates.FirstOrDefault(m => Matches(m.Platform))
            ?? (candidates.Count == 1 && candidates[0].Platform is null ? candidates[0] : null)
            ?? throw new ImageException($"no image for {this} in {what} (it has {string.Join(", ", candidates.Select(c => Describe(c.Platform)))})");
    }

    public static string Describe(Platform? p) => p is null ? "unspecified" : $"{p.Os}/{p.Architecture}{(p.Variant is null ? "" : "/" + p.Variant)}";

    public override string ToString() => $"{Os}/{Architecture}{(Variant is null ? "" : "/" + Variant)}";
}
