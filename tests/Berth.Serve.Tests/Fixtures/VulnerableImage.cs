using System.Diagnostics;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;

namespace Berth.Serve.Tests.Fixtures;

/// <summary>
/// A small image whose one layer holds npm packages with real advisories in the OSV fixtures
/// (minimist 1.2.5: GHSA-xvch-5gv4-984h, critical; lodash 4.17.20: GHSA-35jh-r3h4-6jhm, high),
/// written as an OCI layout and pushed to a registry with skopeo (the field's own tool).
/// </summary>
public static class VulnerableImage
{
    public const string Critical = "GHSA-xvch-5gv4-984h";
    public const string High = "GHSA-35jh-r3h4-6jhm";

    /// <summary>Pushes it as HOST/REPO:TAG; <paramref name="salt"/> makes a distinct digest (another image with the same packages).</summary>
    public static string Push(string host, string repository, string tag, string salt = "")
    {
        var dir = Directory.CreateTempSubdirectory("berth-vuln-image-").FullName;
        try
        {
            var layer = Layer(new()
            {
                ["app/node_modules/minimist/package.json"] = "{\"name\":\"minimist\",\"version\":\"1.2.5\"}",
                ["app/node_modules/lodash/package.json"] = "{\"name\":\"lodash\",\"version\":\"4.17.20\"}",
                ["app/salt.txt"] = salt,
            });
            var layerDigest = Hex(layer);
            var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" + layerDigest + "\"]}}");
            var manifest = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
                "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + Hex(config) + "\",\"size\":" + config.Length + "}," +
                "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:" + layerDigest + "\",\"size\":" + layer.Length + "}]}");
            var blobs = Path.Combine(dir, "blobs", "sha256");
            Directory.CreateDirectory(blobs);
            foreach (var b in new[] { layer, config, manifest }) File.WriteAllBytes(Path.Combine(blobs, Hex(b)), b);
            File.WriteAllText(Path.Combine(dir, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""");
            File.WriteAllText(Path.Combine(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" +
                Hex(manifest) + "\",\"size\":" + manifest.Length + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"" + tag + "\"}}]}");
            // skopeo compresses the layer on the way: the digest is the one it wrote, not the layout's.
            var digestFile = Path.Combine(dir, "digest");
            var r = Commands.Exec("skopeo", "copy", "--insecure-policy", "--dest-tls-verify=false", "--digestfile", digestFile, $"oci:{dir}:{tag}", $"docker://{host}/{repository}:{tag}");
            if (r.ExitCode != 0) throw new InvalidOperationException($"skopeo copy: {r.Stderr}");
            return File.ReadAllText(digestFile).Trim();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static byte[] Layer(Dictionary<string, string> files)
    {
        using var ms = new MemoryStream();
        using (var tar = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var d in new[] { "app/", "app/node_modules/", "app/node_modules/minimist/", "app/node_modules/lodash/" })
                tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, d) { Mode = (UnixFileMode)0x1ed, ModificationTime = DateTimeOffset.UnixEpoch });
            foreach (var (name, content) in files)
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = (UnixFileMode)0x1a4, ModificationTime = DateTimeOffset.UnixEpoch, DataStream = new MemoryStream(Encoding.UTF8.GetBytes(content)),
                });
        }
        return ms.ToArray();
    }

    static string Hex(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));
}

/// <summary>The real advisories of Berth.Supply.Tests/Data/osv imported with `berth db import` into a temp dir.</summary>
public sealed class OsvDb : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-serve-osv-").FullName;

    public OsvDb() => Commands.Exec(Commands.Binary, "db", "import", "--db", Dir, Path.Combine(AppContext.BaseDirectory, "Data", "osv")).Ok();

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}
