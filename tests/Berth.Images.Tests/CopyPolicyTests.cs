using Berth.Images.Copy;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>The copy's policy hook (IImagePolicy): told every image manifest it will write, before anything is written.</summary>
public class CopyPolicyTests
{
    /// <summary>Records what it is shown; refuses the manifests it is told to.</summary>
    sealed class Gate(params string[] refuse) : IImagePolicy
    {
        public List<string> Seen { get; } = new();
        public void Admit(IImageSource source, RawManifest manifest)
        {
            Seen.Add(manifest.Digest.ToString());
            if (refuse.Contains(manifest.Digest.ToString())) throw new ImageException($"{source.Reference}: policy: reject: refused by the test");
        }
    }

    static (ImageService Images, ImageReference Multi, Descriptor Index, Descriptor Amd, Descriptor Arm) Setup(Scratch s)
    {
        var layout = OciLayout.Create(s.P("multi"));
        var amd = TestImages.Write(layout, "x", new[] { TestImages.Tar(new[] { Entry.File("arch", "amd64") }) }, architecture: "amd64", tag: false);
        var arm = TestImages.Write(layout, "x", new[] { TestImages.Tar(new[] { Entry.File("arch", "arm64") }) }, architecture: "arm64", tag: false);
        var index = TestImages.Index(layout, "multi", new[] { amd, arm });
        var images = new ImageService(s.Store);
        return (images, images.Parse($"oci:{s.P("multi")}:multi"), index, amd, arm);
    }

    static string[] Blobs(string root) =>
        Directory.Exists(Path.Combine(root, "blobs")) ? Directory.EnumerateFiles(Path.Combine(root, "blobs"), "*", SearchOption.AllDirectories).Order().ToArray() : [];

    [Fact]
    public void One_platform_copied_shows_the_policy_that_platforms_manifest_only()
    {
        using var s = new Scratch();
        var (images, multi, _, amd, _) = Setup(s);
        var gate = new Gate();
        images.Copy(multi, images.Parse("one"), new CopyOptions { Policy = gate, Platform = PlatformSpec.Parse("linux/amd64") });
        Assert.Equal([amd.Digest!], gate.Seen);
    }

    [Fact]
    public void With_all_every_instance_is_admitted_before_the_first_blob_is_written()
    {
        using var s = new Scratch();
        var (images, multi, _, amd, arm) = Setup(s);
        var before = Blobs(s.Store);
        var gate = new Gate(arm.Digest!);
        var e = Assert.Throws<ImageException>(() => images.Copy(multi, images.Parse("all"), new CopyOptions { Policy = gate, All = true }));
        Assert.Contains("policy: reject: refused by the test", e.Message);
        Assert.Equal([amd.Digest!, arm.Digest!], gate.Seen);
        // Not even the admitted amd64 image's blobs were written.
        Assert.Equal(before, Blobs(s.Store));
        Assert.Empty(images.List(null));
    }

    [Fact]
    public void A_refused_image_leaves_an_oci_destination_without_its_blobs()
    {
        using var s = new Scratch();
        var (images, multi, _, amd, _) = Setup(s);
        var e = Assert.Throws<ImageException>(() => images.Copy(multi, images.Parse($"oci:{s.P("dest")}:x"), new CopyOptions { Policy = new Gate(amd.Digest!), Platform = PlatformSpec.Parse("linux/amd64") }));
        Assert.StartsWith($"oci:{s.P("multi")}:multi: policy:", e.Message);
        Assert.Empty(Blobs(s.P("dest")));
    }
}
