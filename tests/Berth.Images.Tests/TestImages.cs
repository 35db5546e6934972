using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using Berth.Images.Store;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>A temporary directory for one test: a store, layouts, bundles; all removed (overlays unmounted) at the end.</summary>
public sealed class Scratch : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-img-").FullName;
    public string Store => Path.Combine(Dir, "store");

    public static string Binary => Commands.Binary;

    public string P(string name) => Path.Combine(Dir, name);

    public Result Berth(params string[] args) => Exec(Binary, args);

    /// <summary>`berth image SUB ... --store STORE`.</summary>
    public Result Image(params string[] args) => Exec(Binary, new[] { "image" }.Concat(args).Concat(new[] { "--store", Store }).ToArray());

    public static Result Exec(string file, params string[] args) => Commands.Exec(file, args);

    public void Dispose()
    {
        foreach (var mp in Linux.MountInfo.Read().Select(m => m.MountPoint).Where(mp => mp.StartsWith(Dir)))
            Exec("umount", "-l", mp);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>One tar entry to put in a test layer.</summary>
public sealed record Entry(string Name, TarEntryType Type = TarEntryType.RegularFile, string? Content = null, string? Link = null,
    int Mode = 0x1a4, int Uid = 0, int Gid = 0, DateTimeOffset? MTime = null, Dictionary<string, string>? Pax = null, int Major = 0, int Minor = 0)
{
    public static Entry Dir(string name, int mode = 0x1ed) => new(name, TarEntryType.Directory, Mode: mode);
    public static Entry File(string name, string content) => new(name, Content: content);
    public static Entry Symlink(string name, string target) => new(name, TarEntryType.SymbolicLink, Link: target, Mode: 0x1ff);
    public static Entry Hardlink(string name, string target) => new(name, TarEntryType.HardLink, Link: target);
}

/// <summary>Builds layers and images on disk, the way a registry or a builder would.</summary>
public static class TestImages
{
    public static byte[] Tar(IEnumerable<Entry> entries)
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries)
            {
                var entry = new PaxTarEntry(e.Type, e.Name, e.Pax ?? new Dictionary<string, string>())
                {
                    Mode = (UnixFileMode)e.Mode, Uid = e.Uid, Gid = e.Gid, ModificationTime = e.MTime ?? new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero),
                };
                if (e.Link is not null) entry.LinkName = e.Link;
                if (e.Type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
                {
                    entry.DeviceMajor = e.Major;
                    entry.DeviceMinor = e.Minor;
                }
                if (e.Content is not null) entry.DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(e.Content));
                w.WriteEntry(entry);
            }
        }
        return ms.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    public static string Sha256(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>An image in an OCI layout from layers given as uncompressed tars (stored gzipped unless given pre-compressed).</summary>
    public static Descriptor Write(OciLayout layout, string name, IReadOnlyList<byte[]> tars, ContainerConfig? config = null,
        string architecture = "amd64", string manifestType = MediaTypes.Manifest, string configType = MediaTypes.Config,
        string layerType = MediaTypes.LayerGzip, Func<byte[], byte[]>? compress = null, bool tag = true)
    {
        var layers = new List<Descriptor>();
        var diffs = new List<string>();
        foreach (var tar in tars)
        {
            var blob = (compress ?? Gzip)(tar);
            layers.Add(layout.Blobs.Write(blob, layerType));
            diffs.Add(Sha256(tar));
        }
        var cfg = new ImageConfig
        {
            Architecture = architecture, Os = "linux", Config = config ?? new ContainerConfig { Cmd = new() { "sh" } },
            Rootfs = new RootfsDiffs { Type = "layers", DiffIds = diffs },
        };
        var cfgDesc = layout.Blobs.Write(JsonOut.Document(cfg), configType);
        var manifest = new Manifest { SchemaVersion = 2, MediaType = manifestType, Config = cfgDesc, Layers = layers };
        var desc = layout.Blobs.Write(JsonOut.Document(manifest), manifestType);
        desc.Platform = new Platform { Os = "linux", Architecture = architecture };
        if (tag) layout.Tag(name, desc);
        return desc;
    }

    public static Descriptor Index(OciLayout layout, string name, IEnumerable<Descriptor> manifests, string indexType = MediaTypes.Index)
    {
        var index = new ImageIndex { SchemaVersion = 2, MediaType = indexType, Manifests = manifests.ToList() };
        var desc = layout.Blobs.Write(JsonOut.Document(index), indexType);
        layout.Tag(name, desc);
        return desc;
    }

    /// <summary>busybox-static plus its applet links, as the runtime tests use.</summary>
    public static byte[] BusyboxTar()
    {
        var entries = new List<Entry> { Entry.Dir("bin"), Entry.Dir("etc"), Entry.Dir("tmp", 0x3ff), Entry.Dir("proc"), Entry.Dir("sys"), Entry.Dir("dev") };
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var e in entries) w.WriteEntry(new PaxTarEntry(e.Type, e.Name) { Mode = (UnixFileMode)e.Mode });
            w.WriteEntry("/bin/busybox", "bin/busybox");
            foreach (var applet in Scratch.Exec("/bin/busybox", "--list").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(a => a != "busybox"))
                w.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = (UnixFileMode)0x1ff });
            foreach (var (n, c) in new[] { ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), ("etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\n") })
                w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, n) { Mode = (UnixFileMode)0x1a4, DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(c)) });
        }
        return ms.ToArray();
    }
}
