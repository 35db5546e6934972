using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Linux;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// image-spec layer.md: "Whiteout files MUST only apply to resources in lower/parent layers. Files
/// that are present in the same layer as a whiteout file can only be hidden by whiteout files in
/// subsequent layers." Pinned in both unpack modes, and the two must mount to the same tree.
/// </summary>
public class SameLayerWhiteoutTests
{
    static readonly Entry[] Lower =
    {
        Entry.Dir("a"), Entry.File("a/keep", "k"), Entry.File("f", "lower"), Entry.Dir("d"), Entry.File("d/old", "o"),
        Entry.Dir("w"), Entry.File("w/old", "o"),
    };

    /// <summary>Writes and whiteouts of the same paths in one layer, in both orders.</summary>
    static readonly Entry[] Upper =
    {
        // A file this layer writes, then whites out: it stays, with this layer's content.
        Entry.File("f", "upper"), new(".wh.f"),
        // A directory this layer writes into, then whites out: its lower content goes, this layer's stays.
        Entry.Dir("d"), Entry.File("d/new", "n"), new("d/.wh.new"), new(".wh.d"),
        // A whiteout first, then a new directory in its place: only this layer's content.
        new(".wh.w"), Entry.File("w/again", "a"),
        // A file of this layer alone, whited out in it: kept.
        Entry.File("g", "mine"), new(".wh.g"),
    };

    const string Expected = "a,a/keep,d,d/new,f,g,w,w/again";

    static string Listing(string root) =>
        string.Join(",", Directory.GetFileSystemEntries(root, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal));

    static void Apply(string root, WhiteoutMode mode, params IEnumerable<Entry>[] layers)
    {
        using var u = new LayerUnpacker(root, mode);
        foreach (var l in layers) u.Unpack(new MemoryStream(TestImages.Tar(l)), "layer");
    }

    [Fact]
    public void A_plain_whiteout_does_not_delete_what_the_same_layer_wrote_in_a_plain_rootfs()
    {
        using var s = new Scratch();
        Apply(s.P("root"), WhiteoutMode.Apply, Lower, Upper);
        Assert.Equal(Expected, Listing(s.P("root")));
        Assert.Equal("upper", File.ReadAllText(s.P("root/f")));
        Assert.Equal("mine", File.ReadAllText(s.P("root/g")));
    }

    [Fact]
    public void A_plain_whiteout_does_not_delete_what_the_same_layer_wrote_in_an_overlay_snapshot()
    {
        using var s = new Scratch();
        Apply(s.P("lower"), WhiteoutMode.Overlay, Lower);
        using (var u = new LayerUnpacker(s.P("upper"), WhiteoutMode.Overlay, new[] { s.P("lower") }))
            u.Unpack(new MemoryStream(TestImages.Tar(Upper)), "layer");
        Assert.True(Files.Stat(null, s.P("upper/f"), follow: false).IsRegular);
        Assert.Equal("y", Scratch.Exec("getfattr", "--only-values", "-n", "trusted.overlay.opaque", s.P("upper/d")).Stdout);
        Assert.Equal("y", Scratch.Exec("getfattr", "--only-values", "-n", "trusted.overlay.opaque", s.P("upper/w")).Stdout);
        foreach (var d in new[] { "up", "work", "merged" }) Directory.CreateDirectory(s.P(d));
        Mounts.Mount("overlay", s.P("merged"), "overlay", 0, $"lowerdir={s.P("upper")}:{s.P("lower")},upperdir={s.P("up")},workdir={s.P("work")}");
        try
        {
            Assert.Equal(Expected, Listing(s.P("merged")));
            Assert.Equal("upper", File.ReadAllText(s.P("merged/f")));
        }
        finally
        {
            Mounts.Unmount(s.P("merged"), Mounts.MNT_DETACH); // a child forked by a parallel test may hold a directory fd for a moment
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Berth_image_unpack_keeps_what_a_layer_wrote_beside_its_whiteouts(bool overlay)
    {
        using var s = new Scratch();
        TestImages.Write(OciLayout.Create(s.P("img")), "wh", new[] { TestImages.Tar(Lower), TestImages.Tar(Upper) });
        s.Image(overlay ? new[] { "unpack", "--overlay", $"oci:{s.P("img")}:wh", s.P("b") } : new[] { "unpack", $"oci:{s.P("img")}:wh", s.P("b") }).Ok();
        Assert.Equal(Expected, Listing(s.P("b/rootfs")));
        Assert.Equal("upper", File.ReadAllText(s.P("b/rootfs/f")));
        if (overlay) s.Image("umount", s.P("b")).Ok();
    }
}
