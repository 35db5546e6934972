using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Berth.Images.Bundles;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images;

/// <summary>
/// Berth's image toolkit on disk: the store (itself an OCI layout, default
/// /var/lib/berth/images), oci: layouts and oci-archive: tarballs — list, inspect, tag, remove,
/// collect garbage, import, copy, and unpack to a runtime bundle.
/// </summary>
public sealed class ImageService
{
    public const string DefaultStore = "/var/lib/berth/images";

    public OciLayout Store { get; }
    public string SnapshotsRoot { get; }

    public ImageService(string storeRoot)
    {
        Store = OciLayout.CreatePrivate(storeRoot);
        SnapshotsRoot = Path.Combine(Path.GetDirectoryName(Store.Root.TrimEnd('/'))!, Path.GetFileName(Store.Root.TrimEnd('/')) + "-snapshots");
    }

    /// <summary>A reference opened for reading: its layout (a temporary one for an archive) and the descriptor it names.</summary>
    public sealed class Source : IDisposable
    {
        public required OciLayout Layout { get; init; }
        public required Descriptor Top { get; init; }
        public IDisposable? Owner { get; init; }
        public void Dispose() => Owner?.Dispose();
    }

    public Source Open(ImageRef r)
    {
        switch (r.Transport)
        {
            case Transport.Store:
                return new Source { Layout = Store, Top = Store.Find(r.Name) };
            case Transport.Oci:
            {
                var layout = OciLayout.OpenExisting(r.Path);
                return new Source { Layout = layout, Top = layout.Find(r.Name) };
            }
            default:
            {
                var archive = OciArchive.OpenRead(r.Path);
                try
                {
                    return new Source { Layout = archive.Layout, Top = archive.Layout.Find(r.Name), Owner = archive };
                }
                catch
                {
                    archive.Dispose();
                    throw;
                }
            }
        }
    }

    public IReadOnlyList<Descriptor> List(ImageRef? where)
    {
        if (where is null || where.Transport == Transport.Store) return Store.ReadIndex().Manifests ?? new();
        using var src = where.Transport == Transport.Oci ? null : OciArchive.OpenRead(where.Path);
        var layout = src?.Layout ?? OciLayout.OpenExisting(where.Path);
        return layout.ReadIndex().Manifests ?? new();
    }

    /// <summary>Copies every blob of the image (all platforms present) and names it at the destination.</summary>
    public Descriptor Copy(ImageRef from, ImageRef to)
    {
        using var src = Open(from);
        var name = to.Name ?? from.Name ?? throw new ImageException($"{to}: a name is required for the copy");
        switch (to.Transport)
        {
            case Transport.Store:
                CopyAndTag(src, Store, ImageRef.Normalize(name));
                break;
            case Transport.Oci:
                CopyAndTag(src, OciLayout.Create(to.Path), name);
                break;
            default:
            {
                using var archive = OciArchive.OpenWrite(to.Path);
                CopyAndTag(src, archive.Layout, name);
                archive.Commit();
                break;
            }
        }
        return src.Top;
    }

    /// <summary>The blobs, then the name, under one hold of the destination's lock: a gc cannot come between.</summary>
    static void CopyAndTag(Source src, OciLayout dst, string name)
    {
        using var lockFd = dst.Lock();
        foreach (var d in ResolvedImage.Closure(src.Layout, src.Top).DistinctBy(d => d.Digest))
        {
            var digest = Digest.Parse(d.Digest ?? "", "descriptor.digest");
            if (dst.Blobs.Has(digest)) continue;
            using var stream = src.Layout.Blobs.Open(digest);
            // Verified again on the way in: a corrupt source blob must not land in the store.
            dst.Blobs.Write(stream, d.MediaType ?? "", digest, d.Size);
        }
        dst.Tag(name, src.Top, lockHeld: true);
    }

    public void Tag(ImageRef from, string name)
    {
        using var src = Open(from);
        if (from.Transport == Transport.Store) Store.Tag(ImageRef.Normalize(name), src.Top);
        else CopyAndTag(src, Store, ImageRef.Normalize(name));
    }

    public void Remove(string name)
    {
        if (!Store.Untag(ImageRef.Normalize(name))) throw new ImageException($"no image named {Quote.Of(ImageRef.Normalize(name))} in the store");
    }

    /// <summary>Deletes blobs no image in the store refers to, and snapshots no image or mounted bundle uses.</summary>
    public (int Blobs, int Snapshots) CollectGarbage()
    {
        using var lockFd = Store.Lock();
        var live = new HashSet<string>();
        var liveDiffs = new HashSet<string>();
        foreach (var top in Store.ReadIndex().Manifests ?? new())
            foreach (var d in ResolvedImage.Closure(Store, top))
            {
                live.Add(d.Digest!);
                if (MediaTypes.IsConfig(d.MediaType))
                    foreach (var chain in Snapshots.ChainIds(Documents.ParseConfig(Store.Blobs.ReadAll(d), $"config {d.Digest}").Rootfs?.DiffIds ?? new()))
                        liveDiffs.Add(Snapshots.DirName(chain));
            }
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
    /// A one-layer image from a rootfs tarball: the layer stored gzip-compressed, its diff_id
    /// the digest of the tar as given, a minimal config for this host's platform.
    /// </summary>
    public Descriptor Import(string tarFile, string name)
    {
        // Held to the end: blobs written here are unreferenced until the tag, and gc must not see them so.
        using var lockFd = Store.Lock();
        using var diffHash = Digest.NewHash("sha256");
        Descriptor layer;
        var compressed = Path.Combine(Store.Root, $".import-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using var input = LayoutFiles.OpenUserFile(tarFile);
            using var output = LayoutFiles.AsStream(FileSystem.CreateNew(compressed, read: true), compressed, write: true);
            using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            {
                var buffer = new byte[1 << 16];
                int n;
                while ((n = input.Read(buffer)) > 0)
                {
                    diffHash.AppendData(buffer, 0, n);
                    gz.Write(buffer, 0, n);
                }
            }
            // Read back through the same descriptor: stored (and hashed) as it was written.
            output.Position = 0;
            layer = Store.Blobs.Write(output, MediaTypes.LayerGzip);
        }
        finally
        {
            FileSystem.TryDelete(compressed);
        }
        var diffId = Digest.From("sha256", diffHash).ToString();
        var host = PlatformSpec.Host;
        var created = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        var config = new ImageConfig
        {
            Created = created, Architecture = host.Architecture, Os = host.Os,
            Config = new ContainerConfig { Env = new() { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, Cmd = new() { "sh" } },
            Rootfs = new RootfsDiffs { Type = "layers", DiffIds = new() { diffId } },
            History = new() { new History { Created = created, CreatedBy = $"berth image import {Path.GetFileName(tarFile)}" } },
        };
        var configDesc = Store.Blobs.Write(JsonOut.Document(config), MediaTypes.Config);
        var manifest = new Manifest { SchemaVersion = 2, MediaType = MediaTypes.Manifest, Config = configDesc, Layers = new() { layer } };
        var manifestDesc = Store.Blobs.Write(JsonOut.Document(manifest), MediaTypes.Manifest);
        manifestDesc.Platform = new Platform { Os = host.Os, Architecture = host.Architecture };
        Store.Tag(ImageRef.Normalize(name), manifestDesc, lockHeld: true);
        return manifestDesc;
    }

    /// <summary>`image inspect`: the summary Berth prints, the raw manifest/index, or the config.</summary>
    public byte[] Inspect(ImageRef r, PlatformSpec? platform, string view)
    {
        using var src = Open(r);
        if (view == "raw") return src.Layout.Blobs.ReadAll(src.Top);
        var image = ResolvedImage.Resolve(src.Layout, src.Top, platform);
        if (view == "config") return src.Layout.Blobs.ReadAll(image.Manifest.Config!);
        return JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("name", r.ToString());
            w.WriteString("digest", src.Top.Digest);
            w.WriteString("mediaType", src.Top.MediaType);
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
    }

    public BundleWriter Bundles => new(this);
}
