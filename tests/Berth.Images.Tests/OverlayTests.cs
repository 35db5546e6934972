using Berth.Images.Store;
using Berth.Linux;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>Overlay bundles of any depth overlayfs allows, hard links across layers, and layers cut short — in both unpack modes where they apply.</summary>
public class OverlayTests
{
    static string[] UnpackArgs(Scratch s, bool overlay, string image) =>
        overlay ? new[] { "unpack", "--overlay", image, s.P("b") } : new[] { "unpack", image, s.P("b") };

    /// <summary>mount(2) takes its options in one page, which ~38 snapshot paths fill; fsconfig takes one lower layer a call.</summary>
    [Fact]
    public void Five_hundred_layers_mount_as_one_overlay_and_gc_keeps_them_while_mounted()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("img"));
        var tars = Enumerable.Range(0, 500).Select(i => TestImages.Tar(new[] { Entry.File($"layers/{i}", i.ToString()) })).ToList();
        tars[499] = TestImages.Tar(new[] { Entry.File("layers/499", "499"), new Entry("layers/.wh.0") });
        TestImages.Write(layout, "tall", tars);
        s.Image("copy", $"oci:{s.P("img")}:tall", "tall").Ok();
        s.Image("unpack", "--overlay", "tall", s.P("b")).Ok();
        var files = Directory.GetFiles(s.P("b/rootfs/layers")).Select(Path.GetFileName).ToHashSet();
        Assert.Equal(499, files.Count);
        Assert.DoesNotContain("0", files);
        Assert.Equal("250", File.ReadAllText(s.P("b/rootfs/layers/250")));
        var mount = MountInfo.Read().Single(m => m.MountPoint == s.P("b/rootfs"));
        Assert.Equal(500, mount.LowerDirs.Count());

        s.Image("rm", "tall").Ok();
        // The snapshots are the mounted overlay's lower layers: gc must see them in mountinfo's lowerdir+ list.
        Assert.Equal("removed 502 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
        s.Image("umount", s.P("b")).Ok();
        Assert.Equal("removed 0 blobs, 500 snapshots\n", s.Image("gc").Ok().Stdout);
    }

    [Fact]
    public void More_layers_than_overlayfs_stacks_is_refused_before_anything_is_extracted()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "taller", Enumerable.Range(0, 501).Select(i => TestImages.Tar(new[] { Entry.File($"l{i}", "x") })).ToList());
        s.Image("unpack", "--overlay", $"oci:{s.P("img")}:taller", s.P("b")).Fails("overlayfs stacks at most 500");
        Assert.False(Directory.Exists(s.P("b")));
        Assert.False(Directory.Exists(Path.Combine(s.Dir, "store-snapshots")) && Directory.EnumerateFileSystemEntries(Path.Combine(s.Dir, "store-snapshots")).Any());
        // Unpacked plainly, it is just a deep image.
        s.Image("unpack", $"oci:{s.P("img")}:taller", s.P("b")).Ok();
        Assert.Equal(501, Directory.GetFiles(s.P("b/rootfs")).Length);
    }

    /// <summary>The fallback for kernels before 6.8: mount(2) while the options fit a page, and a clear error past it.</summary>
    [Fact]
    public void The_mount_2_fallback_stacks_what_fits_a_page_and_names_the_limit_past_it()
    {
        using var s = new Scratch();
        var lowers = Enumerable.Range(0, 3).Select(i => Directory.CreateDirectory(s.P($"lower-{i}")).FullName).ToList();
        foreach (var (l, i) in lowers.Select((l, i) => (l, i))) File.WriteAllText(Path.Combine(l, $"f{i}"), "x");
        foreach (var d in new[] { "up", "work", "merged" }) Directory.CreateDirectory(s.P(d));
        OverlayMount.MountLegacy(s.P("merged"), lowers, s.P("up"), s.P("work"));
        try
        {
            Assert.Equal(new[] { "f0", "f1", "f2" }, Directory.GetFiles(s.P("merged")).Select(Path.GetFileName).Order());
        }
        finally
        {
            Mounts.Unmount(s.P("merged"), Mounts.MNT_DETACH); // a child forked by a parallel test may hold a directory fd for a moment
        }
        var many = Enumerable.Range(0, 60).Select(i => s.P($"a-lower-directory-with-a-long-name-{i:D3}-" + new string('x', 40))).ToList();
        var e = Assert.Throws<LinuxException>(() => OverlayMount.MountLegacy(s.P("merged"), many, s.P("up"), s.P("work")));
        Assert.Equal(Errno.E2BIG, e.Errno);
        Assert.Contains("more than a page", e.Message);
    }

    /// <summary>gc keeps a mounted overlay's snapshots: it reads them from mountinfo, written as mount(2) or as fsconfig lowerdir+ wrote them.</summary>
    [Fact]
    public void Mountinfo_lower_directories_are_read_in_both_option_forms()
    {
        var text = "48 27 0:40 / /m1 rw - overlay none rw,lowerdir=/s/a:/s/b,upperdir=/u,workdir=/w\n" +
                   "49 27 0:41 / /m\\0402 rw - overlay none ro,lowerdir+=/s/c,lowerdir+=/s/with\\040space,redirect_dir=on\n" +
                   "50 27 0:42 / /m3 rw - ext4 /dev/vda rw,lowerdir=/not/overlay\n";
        var mounts = MountInfo.Parse(text);
        Assert.Equal(new[] { "/s/a", "/s/b" }, mounts[0].LowerDirs);
        Assert.Equal(new[] { "/s/c", "/s/with space" }, mounts[1].LowerDirs);
        Assert.Empty(mounts[2].LowerDirs);
    }

    public static readonly DateTimeOffset T0 = new(2011, 1, 2, 3, 4, 5, TimeSpan.Zero), T1 = new(2012, 6, 7, 8, 9, 10, TimeSpan.Zero);

    /// <summary>A hard link in the top layer to a file of the lowest: two layers (one lower snapshot), or three (a merged view of two).</summary>
    [Theory]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    [InlineData(false, 3)]
    [InlineData(true, 3)]
    public void A_hard_link_to_a_file_of_a_lower_layer_shares_its_inode_and_keeps_its_metadata(bool overlay, int layers)
    {
        using var s = new Scratch();
        var lowest = new RawTar()
            .Header("data/", '5', mode: 0x1e8 /* 0750 */, uid: 1000, gid: 1000, mtime: T0.ToUnixTimeSeconds())
            .Pax(("SCHILY.xattr.user.note", Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()), ("uid", RawTar.Text("1000")), ("gid", RawTar.Text("1000")))
            .Header("data/f", '0', 5, mode: 0x9ed /* 04755 */, mtime: T1.ToUnixTimeSeconds()).Data("lower"u8)
            .Bytes();
        var tars = new List<byte[]> { lowest };
        if (layers == 3) tars.Add(TestImages.Tar(new[] { Entry.File("other", "x") }));
        tars.Add(TestImages.Tar(new[] { Entry.Dir("links"), Entry.Hardlink("links/g", "data/f") }));
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "ln", tars);
        s.Image(UnpackArgs(s, overlay, $"oci:{s.P("img")}:ln")).Ok();

        var f = Files.Stat(null, s.P("b/rootfs/data/f"));
        var g = Files.Stat(null, s.P("b/rootfs/links/g"));
        Assert.Equal("lower", File.ReadAllText(s.P("b/rootfs/links/g")));
        Assert.Equal(f.Ino, g.Ino);
        Assert.Equal(2u, g.Nlink);
        Assert.Equal((1000u, 1000u, 0x9edu), (f.Uid, f.Gid, f.Mode & 0xfff));
        Assert.Equal(T1.UtcDateTime, File.GetLastWriteTimeUtc(s.P("b/rootfs/data/f")));
        using (var fd = Files.Open(s.P("b/rootfs/links/g"), O.RDONLY))
            Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), Xattrs.Get(fd, "user.note"u8));
        // The directory made in the upper snapshot to hold the copy shows the lower one's metadata, as overlayfs' copy-up does.
        var data = Files.Stat(null, s.P("b/rootfs/data"));
        Assert.Equal((1000u, 1000u, 0x1e8u), (data.Uid, data.Gid, data.Mode & 0xfff));
        Assert.Equal(T0.UtcDateTime, Directory.GetLastWriteTimeUtc(s.P("b/rootfs/data")));
        if (overlay)
        {
            // The lowest snapshot is untouched: the copy is the top snapshot's.
            var lowestSnapshot = Path.Combine(s.Dir, "store-snapshots", Bundles.Snapshots.DirName(TestImages.Sha256(lowest)), "data/f");
            Assert.Equal(1u, Files.Stat(null, lowestSnapshot).Nlink);
        }
    }

    /// <summary>A target deleted on the way — by a layer between, or earlier in the linking layer — is an error in both modes, as in a plain rootfs.</summary>
    [Theory]
    [InlineData(false, "between")]
    [InlineData(true, "between")]
    [InlineData(false, "same layer")]
    [InlineData(true, "same layer")]
    public void A_hard_link_to_a_deleted_file_fails_in_both_modes(bool overlay, string where)
    {
        using var s = new Scratch();
        var tars = where == "between"
            ? new List<byte[]> { TestImages.Tar(new[] { Entry.File("f", "x") }), TestImages.Tar(new[] { new Entry(".wh.f") }), TestImages.Tar(new[] { Entry.Hardlink("g", "f") }) }
            : new List<byte[]> { TestImages.Tar(new[] { Entry.File("f", "x") }), TestImages.Tar(new[] { new Entry(".wh.f"), Entry.Hardlink("g", "f") }) };
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "gone", tars);
        var r = s.Image(UnpackArgs(s, overlay, $"oci:{s.P("img")}:gone"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("entry \"g\"", r.Stderr);
        Assert.False(Directory.Exists(s.P("b")));
    }

    /// <summary>A layer whose tar (or compressed stream) ends inside an entry: the error names the layer's digest and the entry.</summary>
    [Theory]
    [InlineData(false, "tar")]
    [InlineData(true, "tar")]
    [InlineData(false, "gzip")]
    [InlineData(true, "gzip")]
    public void A_truncated_layer_names_the_layer_digest_and_the_entry(bool overlay, string cutWhere)
    {
        using var s = new Scratch();
        var random = new Random(7);
        var big = new byte[200_000];
        random.NextBytes(big);
        var full = new RawTar().File("small", "s").File("big", big).Bytes();
        var cut = cutWhere == "tar" ? TestImages.Gzip(full[..(3 * 512 + 5000)]) : TestImages.Gzip(full)[..60_000];
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "cut", new[] { full }, compress: _ => cut);
        var r = s.Image(UnpackArgs(s, overlay, $"oci:{s.P("img")}:cut"));
        Assert.Equal(1, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"layer {TestImages.Sha256(cut)}", line);
        Assert.Contains("entry \"big\"", line);
        Assert.False(Directory.Exists(s.P("b")));
    }
}
