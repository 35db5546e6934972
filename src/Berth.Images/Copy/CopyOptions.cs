using Berth.Images.Store;
using Berth.Oci.Image;

namespace Berth.Images.Copy;

/// <summary>The manifest format a copy writes (skopeo's --format).</summary>
public enum ManifestFormat
{
    /// <summary>OCI image manifest and index.</summary>
    Oci,
    /// <summary>Docker v2 schema 2 manifest and manifest list.</summary>
    V2s2,
}

/// <summary>What `berth image copy` takes, with skopeo copy's names and meanings.</summary>
public sealed record CopyOptions
{
    /// <summary>--all: an index with every image it lists; otherwise only the image for <see cref="Platform"/> is copied, and named.</summary>
    public bool All { get; init; }

    /// <summary>--platform os/arch[/variant]: the image of an index to copy (the host's by default).</summary>
    public PlatformSpec? Platform { get; init; }

    /// <summary>--preserve-digests: refuse any change that would alter a digest (compression, format).</summary>
    public bool PreserveDigests { get; init; }

    /// <summary>--dest-compress-format gzip|zstd: layers (re)compressed so, where the format allows; diff_ids stay, digests change.</summary>
    public LayerCompression? DestCompressFormat { get; init; }

    /// <summary>--dest-compress-level N: the compressor's level for layers compressed by the copy (gzip 1-9, default 1; zstd 1-19, default 3).</summary>
    public int? DestCompressLevel { get; init; }

    /// <summary>--format oci|v2s2: manifests and configs converted to this format.</summary>
    public ManifestFormat? Format { get; init; }

    /// <summary>--remove-signatures: accepted; Berth copies no signatures yet (they come with the supply chain).</summary>
    public bool RemoveSignatures { get; init; }

    /// <summary>The signature policy every image manifest copied must pass before anything is written (--policy); null: no check (--insecure-policy, or a caller with its own).</summary>
    public IImagePolicy? Policy { get; init; }

    /// <summary>Told about every blob and manifest as the copy goes (progress bars, log lines, the JSON result); null: nothing is told.</summary>
    public ICopyProgress? Progress { get; init; }

    /// <summary>Blobs in flight at once for one image; by default one per core (at most 4), or what a network source or destination asks for.</summary>
    public int? ParallelBlobs { get; init; }

    public static ManifestFormat ParseFormat(string text) => text switch
    {
        "oci" => ManifestFormat.Oci,
        "v2s2" => ManifestFormat.V2s2,
        "v2s1" => throw new ImageException("--format v2s1: Docker schema 1 is not written (deprecated since 2017); use oci or v2s2"),
        _ => throw new ImageException($"--format: {Quote.Of(text)} is not oci or v2s2"),
    };

    public static int ParseLevel(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 22
            ? n : throw new ImageException($"--dest-compress-level: {Quote.Of(text)} is not a level (gzip 1-9, zstd 1-22)");

    public static LayerCompression ParseCompression(string text) => text switch
    {
        "gzip" => LayerCompression.Gzip,
        "zstd" => LayerCompression.Zstd,
        _ => throw new ImageException($"--dest-compress-format: {Quote.Of(text)} is not gzip or zstd"),
    };
}
