using System.Formats.Tar;
using Berth.Images.Layers;
using Berth.Linux;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>What a layer holds, kept: whiteouts in both forms, ownership, modes, times, xattrs, devices, sparse files, long names.</summary>
public class LayerContentTests
{
    static void Apply(string root, WhiteoutMode mode, params IEnumerable<Entry>[] layers)
    {
        using var u = new LayerUnpacker(root, mode);
        foreach (var l in layers) u.Unpack(new MemoryStream(TestImages.Tar(l)), "layer");
    }

    static readonly Entry[] Lower =
    {
        Entry.Dir("a"), Entry.File("a/b", "b"), Entry.File("a/c", "c"), Entry.File("d", "d"),
        Entry.Dir("e"), Entry.File("e/old1", "1"), Entry.File("e/old2", "2"),
    };

    static readonly Entry[] Upper =
    {
        new("a/.wh.b"), new(".wh.d"), Entry.File("e/new", "n"), new("e/.wh..wh..opq"),
    };

    [Fact]
    public void Whiteouts_delete_lower_files_and_opaque_directories_keep_only_this_layer()
    {
        using var s = new Scratch();
        var root = s.P("root");
        Apply(root, WhiteoutMode.Apply, Lower, Upper);
        Assert.False(File.Exists(Path.Combine(root, "a/b")));
        Assert.True(File.Exists(Path.Combine(root, "a/c")));
        Assert.False(File.Exists(Path.Combine(root, "d")));
        Assert.Equal(new[] { "new" }, Directory.GetFileSystemEntries(Path.Combine(root, "e")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(root, ".wh.*", SearchOption.AllDirectories));
    }

    /// <summary>An opaque directory hides lower content at every depth, and keeps what this layer wrote wherever it is.</summary>
    [Fact]
    public void An_opaque_directory_hides_lower_content_below_directories_this_layer_redeclares()
    {
        using var s = new Scratch();
        var root = s.P("root");
        Apply(root, WhiteoutMode.Apply,
            new[] { Entry.Dir("d"), Entry.Dir("d/x"), Entry.File("d/x/old", "o"), Entry.Dir("d/y"), Entry.File("d/y/old", "o"), Entry.File("d/z", "z") },
            // d/y/new arrives before the marker and without its directory's own entry.
            new[] { Entry.File("d/y/new", "n"), new("d/.wh..wh..opq"), Entry.Dir("d/x"), Entry.File("d/x/new", "n") });
        string Listing(string r) => string.Join(",", Directory.GetFileSystemEntries(r, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(r, p)).Order());
        Assert.Equal("d,d/x,d/x/new,d/y,d/y/new", Listing(root));
    }

    [Fact]
    public void Overlay_snapshots_keep_whiteouts_as_devices_and_opaque_xattrs_and_mount_to_the_same_view()
    {
        using var s = new Scratch();
        Apply(s.P("lower"), WhiteoutMode.Overlay, Lower);
        Apply(s.P("upper-snap"), WhiteoutMode.Overlay, Upper);
        var wh = Files.Stat(null, s.P("upper-snap/a/b"), follow: false);
        Assert.True(wh.IsCharDevice && wh.RdevMajor == 0 && wh.RdevMinor == 0);
        Assert.True(Files.Stat(null, s.P("upper-snap/d"), follow: false).IsCharDevice);
        Assert.Equal("y", Scratch.Exec("getfattr", "--only-values", "-n", "trusted.overlay.opaque", s.P("upper-snap/e")).Stdout);
        foreach (var d in new[] { "up", "work", "merged" }) Directory.CreateDirectory(s.P(d));
        Mounts.Mount("overlay", s.P("merged"), "overlay", 0, $"lowerdir={s.P("upper-snap")}:{s.P("lower")},upperdir={s.P("up")},workdir={s.P("work")}");
        try
        {
            Apply(s.P("plain"), WhiteoutMode.Apply, Lower, Upper);
            string Listing(string r) => string.Join("\n", Directory.GetFileSystemEntries(r, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(r, p)).Order());
            Assert.Equal(Listing(s.P("plain")), Listing(s.P("merged")));
        }
        finally
        {
            Mounts.Unmount(s.P("merged"), Mounts.MNT_DETACH); // a child forked by a parallel test may hold a directory fd for a moment
        }
    }

    [Fact]
    public void Ownership_modes_times_xattrs_and_devices_are_kept()
    {
        using var s = new Scratch();
        var t = new DateTimeOffset(2001, 2, 3, 4, 5, 6, TimeSpan.Zero);
        var caps = "\u0001\0\0\u0002\0\u0004\0\0\0\0\0\0\0\0\0\0\0\0\0\0"; // a VFS_CAP_REVISION_2 blob: CAP_NET_BIND_SERVICE
        Apply(s.P("root"), WhiteoutMode.Apply, new[]
        {
            new Entry("suid", Content: "x", Mode: 0xded /* 06755 */, Uid: 1234, Gid: 5678, MTime: t,
                Pax: new() { ["SCHILY.xattr.user.note"] = "hello", ["SCHILY.xattr.security.capability"] = caps, ["SCHILY.xattr.trusted.evil"] = "no" }),
            new Entry("dir", TarEntryType.Directory, Mode: 0x1c0, Uid: 7, Gid: 8, MTime: t),
            Entry.File("dir/inside", "i"),
            new Entry("null", TarEntryType.CharacterDevice, Mode: 0x1b6, Major: 1, Minor: 3),
            new Entry("fifo", TarEntryType.Fifo, Mode: 0x180),
            new Entry(string.Join('/', Enumerable.Repeat("long-directory-name-x", 12)) + "/file", Content: "deep"),
        });
        var st = Files.Stat(null, s.P("root/suid"));
        Assert.Equal((1234u, 5678u, 0xdedu), (st.Uid, st.Gid, st.Mode & 0xfff));
        Assert.Equal(t.UtcDateTime, File.GetLastWriteTimeUtc(s.P("root/suid")));
        Assert.Equal("hello", Scratch.Exec("getfattr", "--only-values", "-n", "user.note", s.P("root/suid")).Stdout);
        Assert.Contains("cap_net_bind_service", Scratch.Exec("getcap", s.P("root/suid")).Stdout);
        Assert.NotEqual(0, Scratch.Exec("getfattr", "-n", "trusted.evil", s.P("root/suid")).ExitCode);
        var dir = Files.Stat(null, s.P("root/dir"));
        Assert.Equal((7u, 8u, 0x1c0u), (dir.Uid, dir.Gid, dir.Mode & 0xfff));
        Assert.Equal(t.UtcDateTime, Directory.GetLastWriteTimeUtc(s.P("root/dir"))); // set after its children
        var dev = Files.Stat(null, s.P("root/null"), follow: false);
        Assert.True(dev.IsCharDevice && dev.RdevMajor == 1 && dev.RdevMinor == 3);
        Assert.Equal(FileStat.S_IFIFO, Files.Stat(null, s.P("root/fifo"), follow: false).Mode & FileStat.S_IFMT);
        Assert.Equal("deep", File.ReadAllText(s.P("root/" + string.Join('/', Enumerable.Repeat("long-directory-name-x", 12)) + "/file")));
    }

    [Theory]
    [InlineData("0.1")]
    [InlineData("1.0")]
    public void Sparse_files_from_gnu_tar_keep_their_holes(string version)
    {
        using var s = new Scratch();
        var src = s.P("src");
        Directory.CreateDirectory(src);
        // 64 MiB with 4 KiB of data at 1 MiB and at the end.
        Scratch.Exec("dd", "if=/dev/urandom", $"of={src}/sparse", "bs=4096", "count=1", "seek=256", "status=none").Ok();
        Scratch.Exec("truncate", "-s", "64M", $"{src}/sparse").Ok();
        Scratch.Exec("tar", "--format=pax", "--sparse", $"--sparse-version={version}", "-C", src, "-cf", s.P("sparse.tar"), "sparse").Ok();
        using (var u = new LayerUnpacker(s.P("root"), WhiteoutMode.Apply))
        using (var f = File.OpenRead(s.P("sparse.tar")))
            u.Unpack(f, "sparse layer");
        Assert.Equal(File.ReadAllBytes($"{src}/sparse"), File.ReadAllBytes(s.P("root/sparse")));
        var blocks = long.Parse(Scratch.Exec("stat", "-c", "%b", s.P("root/sparse")).Stdout.Trim());
        Assert.True(blocks * 512 < 1 << 20, $"{blocks} blocks: the holes were filled");
    }
}
