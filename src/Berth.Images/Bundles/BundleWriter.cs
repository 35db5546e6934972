using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Images.Bundles;

/// <summary>
/// Image → runtime bundle (umoci unpack's job): the rootfs, extracted layer by layer or stacked
/// from snapshots with overlayfs, and a config.json from the image config (image-spec
/// conversion.md) on top of Berth's default spec.
/// </summary>
public sealed class BundleWriter
{
    const string OverlayMarker = ".berth-overlay";
    readonly ImageService _images;

    public BundleWriter(ImageService images) => _images = images;

    public ResolvedImage Unpack(ImageReference r, string bundle, bool overlay, PlatformSpec? platform, long maxLayerBytes = LayerStream.DefaultMaxBytes)
    {
        bundle = Path.GetFullPath(bundle);
        bool existed = Directory.Exists(bundle);
        if (existed && FileSystem.Names(bundle).Count > 0)
            throw new ImageException($"{bundle}: exists and is not empty");
        using var src = ImageService.Open(r);
        var image = ResolvedImage.Resolve(src, platform);
        if (overlay && image.Layers.Count > OverlayMount.MaxLayers)
            throw new ImageException($"{r}: {image.Layers.Count} layers, and overlayfs stacks at most {OverlayMount.MaxLayers} (unpack it without --overlay)");
        // The bundle is 0700, its rootfs keeps the image's mode (runc's and podman's layout): the
        // bundle is what keeps other host users from the image's setuid binaries and devices. A
        // container whose root is a host user (a user namespace) must still reach its rootfs
        // through it: give the bundle to that user (chown), as Docker's userns-remap does its
        // root; an overlay's lower layers are read with the mounter's credentials and need nothing.
        PrivateDirectory.Ensure(bundle, "bundle", _ => false);
        var rootfs = Path.Combine(bundle, "rootfs");
        try
        {
            if (overlay) MountOverlay(src, image, bundle, rootfs, maxLayerBytes);
            else Extract(src, image, rootfs, maxLayerBytes);
            var spec = SpecFrom(image.Config, rootfs);
            FileSystem.WriteNew(Path.Combine(bundle, "config.json"), JsonOut.Document(spec, indent: "\t"));
            return image;
        }
        catch
        {
            // Left as found: a directory given empty stays (emptied), one made here goes.
            if (existed) RemoveContents(bundle);
            else Remove(bundle);
            throw;
        }
    }

    void Extract(IImageSource source, ResolvedImage image, string rootfs, long maxBytes)
    {
        using var unpacker = new LayerUnpacker(rootfs, WhiteoutMode.Apply);
        for (int i = 0; i < image.Layers.Count; i++)
        {
            using var layer = LayerStream.Open(source, image.Layers[i], image.Config.Rootfs!.DiffIds![i], maxBytes, _images.Store.Root);
            unpacker.Unpack(layer);
        }
    }

    /// <summary>Lower directories are the layers' snapshots (topmost first, as overlayfs lists them), upper and work are the bundle's own.</summary>
    void MountOverlay(IImageSource source, ResolvedImage image, string bundle, string rootfs, long maxBytes)
    {
        // Shared hold of the store's lock until mounted: gc (exclusive) cannot remove a snapshot in between.
        using var storeLock = _images.Store.Lock(exclusive: false);
        var snapshots = new Snapshots(_images.SnapshotsRoot);
        snapshots.Prepare();
        var diffIds = image.Config.Rootfs!.DiffIds!;
        var chainIds = Snapshots.ChainIds(diffIds);
        var lowers = new List<string>();
        for (int i = 0; i < image.Layers.Count; i++)
            lowers.Insert(0, snapshots.Ensure(source, image.Layers[i], diffIds[i], chainIds[i], lowers.ToArray(), maxBytes, _images.Store.Root));
        foreach (var d in new[] { "upper", "work", "rootfs" }) FileSystem.CreateDirectory(Path.Combine(bundle, d));
        if (lowers.Count == 0)
        {
            FileSystem.CreateDirectory(Path.Combine(bundle, "empty"));
            lowers.Add(Path.Combine(bundle, "empty"));
        }
        FileSystem.WriteNew(Path.Combine(bundle, OverlayMarker), System.Text.Encoding.UTF8.GetBytes(string.Concat(lowers.Select(l => l + "\n"))));
        OverlayMount.Mount(rootfs, lowers, Path.Combine(bundle, "upper"), Path.Combine(bundle, "work"));
    }

    static void RemoveContents(string bundle)
    {
        var rootfs = Path.Combine(bundle, "rootfs");
        try { Mounts.Unmount(rootfs, Mounts.UMOUNT_NOFOLLOW); }
        catch (LinuxException e) when (e.Errno is Errno.EINVAL or Errno.ENOENT) { /* not mounted, or no rootfs */ }
        using var dir = Files.Open(bundle, O.RDONLY | O.DIRECTORY);
        foreach (var child in FileSystem.Names(dir, bundle))
            FileTree.Remove(dir, child);
    }

    /// <summary>Unmounts an overlay bundle's rootfs and removes the bundle.</summary>
    public static void Remove(string bundle)
    {
        bundle = Path.GetFullPath(bundle);
        var rootfs = Path.Combine(bundle, "rootfs");
        // NOFOLLOW: a rootfs that is a symlink must not unmount whatever it points at.
        try { Mounts.Unmount(rootfs, Mounts.UMOUNT_NOFOLLOW); }
        catch (LinuxException e) when (e.Errno is Errno.EINVAL or Errno.ENOENT) { /* not mounted, or no rootfs */ }
        FileTree.Remove(bundle);
    }

    /// <summary>conversion.md: args, env, cwd, user and annotations from the image config.</summary>
    public static Spec SpecFrom(ImageConfig image, string rootfs)
    {
        var spec = DefaultSpec.Create();
        var c = image.Config ?? new ContainerConfig();
        var p = spec.Process!;
        p.Terminal = false;
        var args = (c.Entrypoint ?? new()).Concat(c.Cmd ?? new()).ToList();
        if (args.Count > 0) p.Args = args;
        var env = new List<string>(c.Env ?? new());
        if (!env.Any(e => e.StartsWith("PATH="))) env.Insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        p.Env = env;
        if (!string.IsNullOrEmpty(c.WorkingDir)) p.Cwd = c.WorkingDir;
        if (!string.IsNullOrEmpty(c.User)) p.User = ResolveUser(c.User, rootfs);
        spec.Root!.Readonly = false;

        var annotations = new Dictionary<string, string>(c.Labels ?? new());
        void Note(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value)) annotations[key] = value;
        }
        Note("org.opencontainers.image.os", image.Os);
        Note("org.opencontainers.image.architecture", image.Architecture);
        Note("org.opencontainers.image.variant", image.Variant);
        Note("org.opencontainers.image.author", image.Author);
        Note("org.opencontainers.image.created", image.Created);
        Note("org.opencontainers.image.stopSignal", c.StopSignal);
        if (c.ExposedPorts is { Count: > 0 } ports) Note("org.opencontainers.image.exposedPorts", string.Join(',', ports));
        if (annotations.Count > 0) spec.Annotations = annotations;
        return spec;
    }

    /// <summary>"user", "uid", "user:group", "uid:gid" from the image's own /etc/passwd and /etc/group, with the user's supplementary groups.</summary>
    static User ResolveUser(string text, string rootfs)
    {
        var parts = text.Split(':', 2);
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY);
        var passwd = UserDb.Passwd(root).ToList();
        var entry = uint.TryParse(parts[0], out var n) ? passwd.FirstOrDefault(u => u.Uid == n) : passwd.FirstOrDefault(u => u.Name == parts[0]);
        if (entry is null && !uint.TryParse(parts[0], out _)) throw new ImageException($"config.User: no user {Quote.Of(parts[0])} in the image's /etc/passwd");
        uint uid = entry?.Uid ?? n;
        uint gid = entry?.Gid ?? 0;
        var groups = UserDb.Groups(root).ToList();
        if (parts.Length == 2)
            gid = uint.TryParse(parts[1], out var g) ? g
                : groups.FirstOrDefault(x => x.Name == parts[1])?.Gid ?? throw new ImageException($"config.User: no group {Quote.Of(parts[1])} in the image's /etc/group");
        var extra = entry is null ? new List<uint>() : groups.Where(x => x.Members.Contains(entry.Name) && x.Gid != gid).Select(x => x.Gid).Distinct().ToList();
        // Checked whether they came from the config or from the image's /etc/passwd and /etc/group.
        return new User { Uid = Id(uid, "uid"), Gid = Id(gid, "gid"), AdditionalGids = extra.Count > 0 ? extra.Select(x => Id(x, "additional gid")).ToList() : null };
    }

    /// <summary>An id from config.User: 2^32-1 is (uid_t)-1, the kernel's "no change", and would leave the process root.</summary>
    static uint Id(uint id, string field) =>
        id == uint.MaxValue ? throw new ImageException($"config.User: {field} {id} is not a valid id (2^32-1 is the kernel's \"no change\")") : id;
}
