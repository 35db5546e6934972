using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Berth.Images;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

/// <summary>Images as roots: every layer unpacked in order into a private directory, the layer of each package remembered.</summary>
public class ImageRootTests
{
    /// <summary>An OCI layout (oci:PATH) of one image whose layers are the given trees, bottom first.</summary>
    public static string Layout(string dir, params TestRoot[] layers)
    {
        var blobs = Path.Combine(dir, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        string Put(byte[] bytes)
        {
            var hex = Convert.ToHexStringLower(SHA256.HashData(bytes));
            File.WriteAllBytes(Path.Combine(blobs, hex), bytes);
            return "sha256:" + hex;
        }
        var layerDescs = new List<string>();
        var diffIds = new List<string>();
        foreach (var layer in layers)
        {
            var tar = new MemoryStream();
            TarFile.CreateFromDirectory(layer.Path, tar, includeBaseDirectory: false);
            var tarBytes = tar.ToArray();
            diffIds.Add("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tarBytes)));
            var gz = new MemoryStream();
            using (var z = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true)) z.Write(tarBytes);
            var digest = Put(gz.ToArray());
            layerDescs.Add($"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{digest}\",\"size\":{gz.Length}}}");
        }
        var arch = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64";
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"{arch}\",\"os\":\"linux\",\"config\":{{}},\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[{string.Join(',', diffIds.Select(d => $"\"{d}\""))}]}}}}");
        var configDigest = Put(config);
        var manifest = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{configDigest}\",\"size\":{config.Length}}},\"layers\":[{string.Join(',', layerDescs)}]}}");
        var manifestDigest = Put(manifest);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(Path.Combine(dir, "index.json"),
            $"{{\"schemaVersion\":2,\"manifests\":[{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"{manifestDigest}\",\"size\":{manifest.Length},\"annotations\":{{\"org.opencontainers.image.ref.name\":\"latest\"}}}}]}}");
        return manifestDigest;
    }

    [Fact]
    public void Each_package_names_the_layer_that_introduced_it_and_the_unpacked_root_goes_with_the_view()
    {
        using var baseLayer = new TestRoot();
        baseLayer.Debian12();
        baseLayer.Write("var/lib/dpkg/status", "Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n");
        baseLayer.Write("var/lib/dpkg/info/base-files.list", "/.\n/etc\n/etc/debian_version\n");
        using var appLayer = new TestRoot();
        // The second layer installs a Debian package (rewriting status) and an npm tree.
        appLayer.Write("var/lib/dpkg/status", "Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n\n" +
            "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\nSource: zlib\n");
        appLayer.Write("var/lib/dpkg/info/zlib1g:amd64.list", "/.\n/usr/lib/x86_64-linux-gnu/libz.so.1\n");
        appLayer.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.21\"}");
        using var layout = new TestRoot();
        var store = Directory.CreateTempSubdirectory("berth-supply-store-").FullName;
        try
        {
            var digest = Layout(layout.Path, baseLayer, appLayer);
            var images = new ImageService(store);
            string unpacked;
            using (var view = RootView.Image(images, images.Parse($"oci:{layout.Path}:latest")))
            {
                unpacked = view.Path;
                Assert.Equal(2, view.Layers.Count);
                var inv = Inventory.Of(view);
                Assert.Equal(digest, inv.ImageDigest);
                Assert.Equal("debian-12", inv.Os!.Distro);
                var layerOf = inv.Packages.ToDictionary(p => p.Name, p => p.Layer);
                Assert.Equal(view.Layers[0].Digest, layerOf["base-files"]);
                Assert.Equal(view.Layers[1].Digest, layerOf["zlib1g"]);
                Assert.Equal(view.Layers[1].Digest, layerOf["lodash"]);
                var cdx = Encoding.UTF8.GetString(CycloneDxWriter.Write(inv, new SbomOptions(DateTimeOffset.UnixEpoch, "0.1.0")));
                Assert.Contains($"\"value\": \"{view.Layers[1].Digest}\"", cdx);
                Assert.Contains("\"type\": \"container\"", cdx);
            }
            Assert.False(Directory.Exists(unpacked), $"{unpacked} is left behind");
        }
        finally
        {
            Directory.Delete(store, recursive: true);
        }
    }
}
