using Berth.Images.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// A layer blob is proved to be the one its manifest names before a byte of it is decompressed,
/// from every source: the error is the digest's, never the decompressor's or the diff_id's
/// (which come only after extraction), and nothing is left.
/// </summary>
public class VerifyFirstTests
{
    [Theory]
    [InlineData("oci", false)]
    [InlineData("oci", true)]
    [InlineData("store", false)]
    [InlineData("store", true)]
    [InlineData("archive", false)]
    [InlineData("archive", true)]
    public void A_layer_blob_that_is_not_the_one_named_is_refused_before_it_is_unpacked(string source, bool overlay)
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("img"));
        var m = TestImages.Write(layout, "app", new[] { TestImages.Tar(Enumerable.Range(0, 50).Select(i => Entry.File($"f{i}", new string('x', 1000 + i)))) });
        var layerDigest = Digest.Parse(Documents.ParseManifest(layout.Blobs.ReadAll(m), null, "m").Layers![0].Digest!);
        // Same size, one byte changed in the compressed data: only the digest tells.
        void Corrupt(string path)
        {
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x55;
            File.WriteAllBytes(path, bytes);
        }
        string image;
        switch (source)
        {
            case "oci":
                Corrupt(layout.Blobs.PathOf(layerDigest));
                image = $"oci:{s.P("img")}:app";
                break;
            case "store":
                s.Image("copy", $"oci:{s.P("img")}:app", "app").Ok();
                Corrupt(Path.Combine(s.Store, "blobs", "sha256", layerDigest.Encoded));
                image = "app";
                break;
            default:
                Corrupt(layout.Blobs.PathOf(layerDigest));
                Scratch.Exec("tar", "-C", s.P("img"), "-cf", s.P("app.tar"), ".").Ok();
                image = $"oci-archive:{s.P("app.tar")}:app";
                break;
        }
        var r = s.Image(overlay ? new[] { "unpack", "--overlay", image, s.P("b") } : new[] { "unpack", image, s.P("b") });
        r.Fails($"layer {layerDigest}: blob {layerDigest} has digest sha256:");
        Assert.Contains("it is not the blob the manifest names", r.Stderr);
        Assert.False(Directory.Exists(s.P("b")));
        var snapshots = Path.Combine(s.Dir, "store-snapshots");
        Assert.True(!Directory.Exists(snapshots) || !Directory.EnumerateFileSystemEntries(snapshots).Any(), "a snapshot was left");
        Assert.Empty(Directory.GetFileSystemEntries(s.Store, ".tmp-*", SearchOption.AllDirectories));
    }
}
