using Berth.Images.Bundles;
using Berth.Images.Copy;
using Berth.Images.Layers;
using Berth.Images.Referrers;
using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images;

/// <summary>
/// Berth's image toolkit on disk: the store (itself an OCI layout, default /var/lib/berth/images)
/// and every transport of <see cref="Transports"/> — list, inspect, tag, remove, collect garbage,
/// import, copy between any two, and unpack to a runtime bundle.
/// </summary>
public sealed class ImageService
{
    public const string DefaultStore = "/var/lib/berth/images";

    public OciLayout Store { get; }
    public string SnapshotsRoot { get; }
    public StoreTransport StoreTransport { get; }

    /// <summary>The transports references are parsed with: a prefix per transport, plain names for the store.</summary>
    public TransportRegistry Transports { get; }

    /// <summary>docker://, the registries: its settings are the command's (--tls-verify, --creds…), used only when a reference is opened.</summary>
    public DockerTransport Docker { get; }

    public ImageService(string storeRoot, RegistrySettings? registries = null)
    {
        Store = OciLayout.CreatePrivate(storeRoot);
        SnapshotsRoot = Path.Combine(Path.GetDirectoryName(Store.Root.TrimEnd('/'))!, Path.GetFileName(Store.Root.TrimEnd('/')) + "-snapshots");
        StoreTransport = new StoreTransport(Store);
        Docker = new DockerTransport(registries ?? new RegistrySettings());
        // One Register per transport.
        Transports = new TransportRegistry(StoreTransport)
            .Register(new OciLayoutTransport())
            .Register(new OciArchiveTransport())
            .Register(new DirTransport())
            .Register(new DockerArchiveTransport())
            .Register(Docker);
    }

    public ImageReference Parse(string text) => Transports.Parse(text);

    /// <summary>A source opened for reading; an error names the reference.</summary>
    public static IImageSource Open(ImageReference r) => Named(r, r.OpenSource);

    /// <summary>Runs <paramref name="f"/>, its errors prefixed with the reference unless they name it already.</summary>
    static T Named<T>(ImageReference r, Func<T> f)
    {
        try
        {
            return f();
        }
        catch (ImageException e) when (!e.Message.Contains(r.ToString(), StringComparison.Ordinal))
        {
            throw new ImageException($"{r}: {e.Message}", e);
        }
    }

    /// <summary>The images at <paramref name="where"/> (the store when null).</summary>
    public IReadOnlyList<Descriptor> List(ImageReference? where) =>
        where is null ? (Store.ReadIndex().Manifests ?? new()).Where(m => !StoreReferrers.IsReferrer(m)).ToList() : Named(where, where.List);

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/> (named after the source when it names nothing); returns the top descriptor written.</summary>
    public Descriptor Copy(ImageReference from, ImageReference to, CopyOptions? options = null)
    {
        if (from.Name is { } name && to.Name is null) to = to.WithDefaultName(name);
        using var src = Open(from);
        using var dst = Named(to, to.OpenDestination);
        try
        {
            return ImageCopier.Copy(src, dst, options ?? new CopyOptions());
        }
        catch (ImageException e) when (!e.Message.StartsWith(from.ToString(), StringComparison.Ordinal) && !e.Message.StartsWith(to.ToString(), StringComparison.Ordinal))
        {
            throw new ImageException($"{from} to {to}: {e.Message}", e);
        }
    }

    /// <summary>
    /// `image pull`: the image a registry reference names (a short name resolved first) copied into
    /// the store under podman's name for it, HOST[:PORT]/NAME:TAG (or @DIGEST), through the store's
    /// destination and its lease. Returns what was written and the name.
    /// </summary>
    public (Descriptor Written, string Name) Pull(DockerReference reference, CopyOptions? options = null)
    {
        using var src = Open(reference);
        var name = src.Reference.Name ?? throw new ImageException($"{reference}: it resolved to no name");
        var to = new StoreReference(StoreTransport, StoreTransport.Normalize(name));
        using var dst = to.OpenDestination();
        return (ImageCopier.Copy(src, dst, options ?? new CopyOptions()), name);
    }

    /// <summary>A name in the store for an image: another entry for a store image, a copy into the store for any other.</summary>
    public void Tag(ImageReference from, string name)
    {
        var target = StoreTransport.Normalize(name);
        if (from is StoreReference)
        {
            var entry = Named(from, () => Store.Find(from.Name));
            Store.Tag(target, entry);
        }
        else Copy(from, new StoreReference(StoreTransport, target));
    }

    public void Remove(string name)
    {
        var n = StoreTransport.Normalize(name);
        if (!Store.Untag(n)) throw new ImageException($"no image named {Quote.Of(n)} in the store");
    }

    /// <summary>
    /// Deletes blobs no image in the store refers to and no live writer has claimed
    /// (<see cref="BlobLease"/>), and snapshots no image or mounted bundle uses. An artifact
    /// attached to an image (<see cref="StoreReferrers"/>) is kept while its subject is, and its
    /// entry dropped with its blobs when the subject is gone.
    /// </summary>
    public (int Blobs, int Snapshots) CollectGarbage()
    {
        using var lockFd = Store.Lock();
        var live = BlobLease.Claims(Store);
        var liveDiffs = new HashSet<string>();
        var (kept, orphans) = StoreReferrers.Walk(Store, Store.ReadIndex().Manifests ?? new(), d =>
        {
            if (MediaTypes.IsConfig(d.MediaType))
                foreach (var chain in Snapshots.ChainIds(Documents.ParseConfig(Store.Blobs.ReadAll(d), $"config {d.Digest}").Rootfs?.DiffIds ?? new()))
                    liveDiffs.Add(Snapshots.DirName(chain));
        });
        live.UnionWith(kept);
        if (orphans.Count > 0)
            Store.Update(index => index.Manifests!.RemoveAll(m => orphans.Any(o => o.Digest == m.Digest && StoreReferrers.IsReferrer(m))), lockHeld: true);
        int blobs = 0;
        foreach (var digest in Store.Blobs.All().ToList())
            if (!live.Contains(digest.ToString()))
            {
                Store.Blobs.Delete(digest);
                blobs++;
            }
        int snapshots = new Snapshots(SnapshotsRoot).Collect(liveDiffs);
        return (blobs, snapshots);
    }

    /// <summary>
    /// A one-layer image from a rootfs tarball: the layer stored gzip-compressed (compressed once,
    /// straight into the store), its diff_id the digest of the tar as given, a minimal config for
    /// this host's platform. No lock is held but for the final tag: the blobs are leased.
    /// </summary>
    public Descriptor Import(string tarFile, string name)
    {
        var target = new StoreReference(StoreTransport, StoreTransport.Normalize(name));
        using var dst = target.OpenDestination();
        Descriptor layer;
        string diffId;
        using (var input = LayoutFiles.OpenUserFile(tarFile))
        using (var tar = new HashingStream(input, "sha256"))
        using (var gzip = new GzipCompressingStream(tar))
        {
            layer = dst.PutBlob(gzip, new Descriptor { MediaType = MediaTypes.LayerGzip });
            diffId = tar.Digest.ToString();
        }
        var host = PlatformSpec.Host;
        var created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        var config = new ImageConfig
        {
            Created = created, Architecture = host.Architecture, Os = host.Os,
            Config = new ContainerConfig { Env = new() { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, Cmd = new() { "sh" } },
            Rootfs = new RootfsDiffs { Type = "layers", DiffIds = new() { diffId } },
            History = new() { new History { Created = created, CreatedBy = $"berth image import {Path.GetFileName(tarFile)}" } },
        };
        var configBytes = JsonOut.Document(config);
        var configDesc = dst.PutBlob(new MemoryStream(configBytes), new Descriptor { MediaType = MediaTypes.Config, Digest = RawManifest.Sha256(configBytes).ToString(), Size = configBytes.Length }, isConfig: true);
        var manifest = new RawManifest(JsonOut.Document(new Manifest { SchemaVersion = 2, MediaType = MediaTypes.Manifest, Config = configDesc, Layers = new() { layer } }), MediaTypes.Manifest);
        dst.PutManifest(manifest);
        var platform = new Platform { Os = host.Os, Architecture = host.Architecture };
        dst.Commit(new Descriptor { Platform = platform });
        var desc = manifest.Descriptor;
        desc.Platform = platform;
        return desc;
    }

    /// <summary>
    /// `commit`: <paramref name="baseImage"/> (the manifest <paramref name="baseManifest"/> when
    /// given) and one more layer, <paramref name="layerTar"/> read to its end and stored
    /// gzip-compressed as Import stores one; its diff_id appended, a history entry, the config
    /// changed by <paramref name="changes"/> (docker's --change) and created now. The image is an
    /// OCI one whatever the base's format; the base's layers are reused where the store has them.
    /// Returns the manifest written, the image's id (its config's digest) and its name: without
    /// one, `localhost/commit-ID12:latest` (the store names every image; podman would leave it untagged).
    /// </summary>
    public (Descriptor Manifest, string Id, string Name) Commit(ImageReference baseImage, string? baseManifest, Stream layerTar, string? name,
        IReadOnlyList<string> changes, string? comment, string? author)
    {
        ImageChanges.Validate(changes);
        using var src = Open(baseImage);
        var image = Named(baseImage, () => ResolvedImage.Resolve(src));
        if (baseManifest is { Length: > 0 } && image.ManifestDescriptor.Digest != baseManifest)
            throw new ImageException($"{baseImage}: it names {image.ManifestDescriptor.Digest} now, not the container's image {baseManifest}");
        // Unnamed, the name comes from the id, known at the end: blobs go in under this lease, the name under the next.
        var target = new StoreReference(StoreTransport, StoreTransport.Normalize(name ?? "localhost/commit-unnamed"));
        using var dst = target.OpenDestination();

        var layers = new List<Descriptor>();
        foreach (var l in image.Layers)
        {
            var oci = new Descriptor { MediaType = OciLayerType(l.MediaType), Digest = l.Digest, Size = l.Size, Annotations = l.Annotations };
            if (dst.TryReusingBlob(l) is null)
                using (var blob = src.GetBlob(l))
                    dst.PutBlob(blob, new Descriptor { MediaType = l.MediaType, Digest = l.Digest, Size = l.Size });
            layers.Add(oci);
        }
        string diffId;
        using (var tar = new HashingStream(layerTar, "sha256", leaveOpen: true))
        using (var gzip = new GzipCompressingStream(tar))
        {
            layers.Add(dst.PutBlob(gzip, new Descriptor { MediaType = MediaTypes.LayerGzip }));
            diffId = tar.Digest.ToString();
        }

        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");
        var config = Documents.ParseConfig(JsonOut.Document(image.Config), "config");
        config.Created = now;
        if (author is not null) config.Author = author;
        config.Config ??= new ContainerConfig();
        foreach (var c in changes) ImageChanges.Apply(config.Config, c);
        config.Rootfs ??= new RootfsDiffs { Type = "layers", DiffIds = new() };
        config.Rootfs.DiffIds ??= new();
        config.Rootfs.DiffIds.Add(diffId);
        config.History ??= new();
        config.History.Add(new History { Created = now, CreatedBy = "berth commit", Author = author, Comment = comment });

        var configBytes = JsonOut.Document(config);
        var id = RawManifest.Sha256(configBytes).ToString();
        var configDesc = dst.PutBlob(new MemoryStream(configBytes), new Descriptor { MediaType = MediaTypes.Config, Digest = id, Size = configBytes.Length }, isConfig: true);
        var manifest = new RawManifest(JsonOut.Document(new Manifest { SchemaVersion = 2, MediaType = MediaTypes.Manifest, Config = configDesc, Layers = layers }), MediaTypes.Manifest);
        var platform = new Platform { Os = config.Os, Architecture = config.Architecture, Variant = config.Variant };
        if (name is null)
        {
            name = StoreTransport.Normalize($"localhost/commit-{id["sha256:".Length..][..12]}");
            using var named = new StoreReference(StoreTransport, name).OpenDestination();
            foreach (var blob in layers.Append(configDesc))
                if (named.TryReusingBlob(blob) is null) throw new ImageException($"{name}: blob {blob.Digest} went from the store while it was committed");
            named.PutManifest(manifest);
            named.Commit(new Descriptor { Platform = platform });
        }
        else
        {
            dst.PutManifest(manifest);
            dst.Commit(new Descriptor { Platform = platform });
        }
        var desc = manifest.Descriptor;
        desc.Platform = platform;
        return (desc, id, StoreTransport.Normalize(name));
    }

    /// <summary>A Docker layer's OCI media type: the bytes are the same (image-spec media-types.md, "Compatibility Matrix").</summary>
    static string? OciLayerType(string? t) => t switch
    {
        MediaTypes.DockerLayerGzip => MediaTypes.LayerGzip,
        MediaTypes.DockerLayer => MediaTypes.Layer,
        MediaTypes.DockerForeignLayerGzip => MediaTypes.LayerNondistributableGzip,
        MediaTypes.DockerForeignLayer => MediaTypes.LayerNondistributable,
        _ => t,
    };

    /// <summary>`image inspect`: the summary Berth prints, the raw manifest/index (its exact bytes), or the config.</summary>
    public byte[] Inspect(ImageReference r, PlatformSpec? platform, string view)
    {
        using var src = Open(r);
        return Named(r, () =>
        {
            var (top, raw) = ResolvedImage.Top(src);
            if (view == "raw") return raw.Bytes;
            var image = ResolvedImage.Resolve(src, platform);
            if (view == "config") return VerifiedBlob.ReadAll(src, image.Manifest.Config!, "config");
            return JsonOut.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", r.ToString());
                w.WriteString("digest", top.Digest);
                w.WriteString("mediaType", top.MediaType);
                w.WriteString("manifest", image.ManifestDescriptor.Digest);
                w.Opt("created", image.Config.Created);
                w.WriteString("platform", $"{image.Config.Os}/{image.Config.Architecture}{(image.Config.Variant is null ? "" : "/" + image.Config.Variant)}");
                w.Opt("config", image.Config.Config);
                w.WriteStartArray("layers");
                for (int i = 0; i < image.Layers.Count; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("digest", image.Layers[i].Digest);
                    w.WriteString("diffID", image.Config.Rootfs!.DiffIds![i]);
                    w.WriteString("mediaType", image.Layers[i].MediaType);
                    w.WriteNumber("size", image.Layers[i].Size ?? 0);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.Opt("annotations", image.Manifest.Annotations);
                w.WriteEndObject();
            }, indent: "  ");
        });
    }

    public BundleWriter Bundles => new(this);
}
