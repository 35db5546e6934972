using System.Security.Cryptography;
using System.Text;

namespace Berth.Clients.Tests;

/// <summary>
/// The test image, made here from Debian's busybox-static (no registry, no network): a rootfs directory,
/// its tarball (podman import), and a docker-archive of it (docker load, ctr image import).
/// </summary>
public static class Busybox
{
    /// <summary>A file the image carries under a directory that tests mount a tmpfs on (tmpcopyup must keep it).</summary>
    public const string SeedFile = "/opt/seed/hello", SeedContent = "from the image\n";

    static readonly Lazy<string[]> Applets = new(() =>
        Tool.MustRun("/bin/busybox", "--list").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    public static void MakeRootfs(string root)
    {
        foreach (var d in new[] { "bin", "proc", "sys", "dev", "etc", "tmp", "root", "run", "var/tmp", "opt/seed" })
            Directory.CreateDirectory(Path.Combine(root, d));
        File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3ff); // 1777
        File.SetUnixFileMode(Path.Combine(root, "var/tmp"), (UnixFileMode)0x3ff);
        File.Copy("/bin/busybox", Path.Combine(root, "bin", "busybox"));
        foreach (var applet in Applets.Value)
        {
            var link = Path.Combine(root, "bin", applet);
            if (!File.Exists(link)) File.CreateSymbolicLink(link, "busybox");
        }
        File.WriteAllText(Path.Combine(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
        File.WriteAllText(Path.Combine(root, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
        File.WriteAllText(Path.Combine(root, SeedFile.TrimStart('/')), SeedContent);
    }

    /// <summary>A tarball of the rootfs, owned by root in the archive whoever unpacks it.</summary>
    public static string RootfsTar(string dir)
    {
        var rootfs = Path.Combine(dir, "rootfs");
        MakeRootfs(rootfs);
        var tar = Path.Combine(dir, "rootfs.tar");
        Tool.MustRun("tar", "--owner=0", "--group=0", "--numeric-owner", "-C", rootfs, "-cf", tar, ".");
        return tar;
    }

    /// <summary>
    /// A docker-archive (`docker save` format: manifest.json, the config, one layer.tar) tagged
    /// <paramref name="repoTag"/>; both `docker load` and `ctr image import` read it.
    /// </summary>
    public static string DockerArchive(string dir, string repoTag)
    {
        var layerTar = RootfsTar(dir);
        var stage = Path.Combine(dir, "archive");
        Directory.CreateDirectory(stage);
        var layerHex = Sha256(File.ReadAllBytes(layerTar));
        Directory.CreateDirectory(Path.Combine(stage, layerHex));
        File.Copy(layerTar, Path.Combine(stage, layerHex, "layer.tar"));
        var config = Encoding.UTF8.GetBytes(
            "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2026-01-01T00:00:00Z\"," +
            "\"config\":{\"Env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"],\"Cmd\":[\"sh\"]}," +
            $"\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"sha256:{layerHex}\"]}}," +
            "\"history\":[{\"created\":\"2026-01-01T00:00:00Z\",\"created_by\":\"Berth client tests: busybox-static\"}]}");
        var configHex = Sha256(config);
        File.WriteAllBytes(Path.Combine(stage, configHex + ".json"), config);
        File.WriteAllText(Path.Combine(stage, "manifest.json"),
            $"[{{\"Config\":\"{configHex}.json\",\"RepoTags\":[\"{repoTag}\"],\"Layers\":[\"{layerHex}/layer.tar\"]}}]");
        var archive = Path.Combine(dir, "busybox-docker-archive.tar");
        Tool.MustRun("tar", "--owner=0", "--group=0", "--numeric-owner", "-C", stage, "-cf", archive, "manifest.json", configHex + ".json", layerHex);
        return archive;
    }

    static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
