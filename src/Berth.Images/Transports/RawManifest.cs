using Berth.Images.Store;
using Berth.Oci;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Transports;

/// <summary>
/// A manifest or index as stored: its exact bytes, its media type and the digest of those bytes.
/// The parsed form is derived from the bytes, never the other way round: a copy that changes
/// nothing writes these bytes again, so the digest (and a signature over it) survives.
/// </summary>
public sealed class RawManifest
{
    public byte[] Bytes { get; }
    public string MediaType { get; }
    public Digest Digest { get; }

    /// <param name="digest">The digest the bytes were verified against (its algorithm is kept); computed as sha256 when null.</param>
    public RawManifest(byte[] bytes, string mediaType, Digest? digest = null)
    {
        Bytes = bytes;
        MediaType = mediaType;
        Digest = digest ?? Sha256(bytes);
    }

    /// <summary>Bytes whose media type the transport does not record (dir:, an index's instance): taken from the document.</summary>
    public static RawManifest Guess(byte[] bytes, string what, Digest? digest = null) => new(bytes, GuessMediaType(bytes, what), digest);

    public static Digest Sha256(ReadOnlySpan<byte> bytes)
    {
        using var h = Digest.NewHash("sha256");
        h.AppendData(bytes);
        return Digest.From("sha256", h);
    }

    public bool IsIndex => MediaTypes.IsIndex(MediaType);
    public bool IsManifest => MediaTypes.IsManifest(MediaType);

    public Descriptor Descriptor => new() { MediaType = MediaType, Digest = Digest.ToString(), Size = Bytes.Length };

    public Manifest ParseManifest(string what) => Documents.ParseManifest(Bytes, MediaType, what);

    public ImageIndex ParseIndex(string what) => Documents.ParseIndex(Bytes, MediaType, what);

    /// <summary>
    /// The media type a document declares, or the one its shape implies when it declares none
    /// (an OCI manifest or index may omit it): "manifests" is an index, "config" a manifest,
    /// schemaVersion 1 Docker's schema 1 (signed when it has "signatures").
    /// </summary>
    public static string GuessMediaType(byte[] bytes, string what)
    {
        try
        {
            return JsonIn.Parse(bytes, what, o =>
            {
                if (o.String("mediaType") is { Length: > 0 } declared) return declared;
                if (o.Int64("schemaVersion") == 1) return o.Has("signatures") ? MediaTypes.DockerSchema1Signed : MediaTypes.DockerSchema1;
                if (o.Has("manifests")) return MediaTypes.Index;
                if (o.Has("config") || o.Has("layers")) return MediaTypes.Manifest;
                throw new ImageException($"{what}: neither a manifest nor an index (no mediaType, config or manifests)");
            });
        }
        catch (SpecException e)
        {
            throw new ImageException(e.Field == what ? e.Message : $"{what}: {e.Message}");
        }
    }

    /// <summary>Schema 1 is refused by name wherever a manifest enters a copy or an unpack.</summary>
    public RawManifest RefuseSchema1(string what) => MediaTypes.IsSchema1(MediaType)
        ? throw new ImageException($"{what}: a Docker schema 1 manifest ({MediaType}): not supported (deprecated since 2017, without config or diff_ids); ask the registry for schema 2 or OCI")
        : this;
}
