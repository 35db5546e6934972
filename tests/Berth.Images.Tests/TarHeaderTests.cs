using Berth.Images.Layers;
using Berth.Linux;
using Berth.Oci.Image;
using Xunit;
using static Berth.Images.Tests.RawTar;

namespace Berth.Images.Tests;

/// <summary>
/// What a tar header carries, from its bytes: xattrs exactly, ids the kernel would misread
/// refused, numbers beyond their range one clear error — in both unpack modes.
/// </summary>
public class TarHeaderTests
{
    /// <summary>Unpacks <paramref name="tar"/> into scratch/root; the error if it failed. Any other exception type fails the test.</summary>
    static ImageException? Unpack(Scratch s, byte[] tar, WhiteoutMode mode)
    {
        using var u = new LayerUnpacker(s.P("root"), mode);
        try
        {
            u.Unpack(new MemoryStream(tar), "test layer");
            return null;
        }
        catch (ImageException e)
        {
            Assert.DoesNotContain('\n', e.Message);
            return e;
        }
    }

    static byte[] Xattr(string path, string name)
    {
        using var fd = Files.Open(path, O.RDONLY);
        return Xattrs.Get(fd, System.Text.Encoding.Latin1.GetBytes(name)) ?? throw new Xunit.Sdk.XunitException($"{path} has no {name}");
    }

    [Theory]
    [InlineData(WhiteoutMode.Apply)]
    [InlineData(WhiteoutMode.Overlay)]
    public void Xattr_names_and_values_are_set_byte_for_byte(WhiteoutMode mode)
    {
        using var s = new Scratch();
        var every = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var high = Enumerable.Range(0x80, 128).Select(i => (byte)i).Reverse().ToArray();
        // A name that is not UTF-8 ("user.\xff\x80") stays those bytes too.
        var tar = new RawTar()
            .Pax(("SCHILY.xattr.user.every", every), ("SCHILY.xattr.user.\u00ff\u0080", high), ("SCHILY.xattr.user.empty", Array.Empty<byte>()))
            .File("f", "x")
            .Pax(("SCHILY.xattr.user.dir", every))
            .Header("d/", '5', mode: 0x1ed)
            .Bytes();
        Assert.Null(Unpack(s, tar, mode));
        Assert.Equal(every, Xattr(s.P("root/f"), "user.every"));
        Assert.Equal(high, Xattr(s.P("root/f"), "user.\u00ff\u0080"));
        Assert.Empty(Xattr(s.P("root/f"), "user.empty"));
        Assert.Equal(every, Xattr(s.P("root/d"), "user.dir"));
    }

    /// <summary>cap_sys_nice's bit (23) puts 0x80 in the capability blob: decoded as text it became a different set of capabilities.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_file_capability_made_by_setcap_is_the_same_after_unpack(bool overlay)
    {
        using var s = new Scratch();
        Directory.CreateDirectory(s.P("src/bin"));
        File.Copy("/bin/true", s.P("src/bin/nice"));
        Scratch.Exec("setcap", "cap_sys_nice+ep", s.P("src/bin/nice")).Ok();
        Scratch.Exec("tar", "--xattrs", "--format=pax", "-C", s.P("src"), "-cf", s.P("layer.tar"), "bin").Ok();
        var layout = Store.OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "cap", new[] { File.ReadAllBytes(s.P("layer.tar")) });
        s.Image(overlay ? new[] { "unpack", "--overlay", $"oci:{s.P("img")}:cap", s.P("b") } : new[] { "unpack", $"oci:{s.P("img")}:cap", s.P("b") }).Ok();
        string Caps(string path) => Scratch.Exec("getcap", path).Ok().Stdout.Replace(path, "").Trim();
        Assert.Equal("cap_sys_nice=ep", Caps(s.P("src/bin/nice")));
        Assert.Equal(Caps(s.P("src/bin/nice")), Caps(s.P("b/rootfs/bin/nice")));
        Assert.Equal(Xattr(s.P("src/bin/nice"), "security.capability"), Xattr(s.P("b/rootfs/bin/nice"), "security.capability"));
    }

    /// <summary>A header, hostile or broken in one field, and a part of the one line it must fail with.</summary>
    public static readonly Dictionary<string, (Func<byte[]> Tar, string Error)> Hostile = new()
    {
        ["pax uid 2^32-1"] = (() => new RawTar().Pax(("uid", Text("4294967295"))).File("f", "x").Bytes(), "uid 4294967295 is not a valid id"),
        ["pax gid 2^32-1"] = (() => new RawTar().Pax(("gid", Text("4294967295"))).File("f", "x").Bytes(), "gid 4294967295 is not a valid id"),
        ["pax uid 2^32"] = (() => new RawTar().Pax(("uid", Text("4294967296"))).File("f", "x").Bytes(), "uid 4294967296 is not a valid id"),
        ["pax uid 2^64"] = (() => new RawTar().Pax(("uid", Text("18446744073709551616"))).File("f", "x").Bytes(), "beyond 64 bits"),
        ["pax uid -1"] = (() => new RawTar().Pax(("uid", Text("-1"))).File("f", "x").Bytes(), "not a non-negative decimal"),
        ["base-256 uid 2^32-1"] = (() => new RawTar().Header("f", tweak: h => Base256(h, 108, 8, new byte[] { 0xff, 0xff, 0xff, 0xff })).Bytes(), "uid 4294967295 is not a valid id"),
        ["base-256 gid 2^40"] = (() => new RawTar().Header("f", tweak: h => Base256(h, 116, 8, new byte[] { 1, 0, 0, 0, 0, 0 })).Bytes(), "gid 1099511627776 is not a valid id"),
        ["base-256 negative uid"] = (() => new RawTar().Header("f", tweak: h => h.AsSpan(108, 8).Fill(0xff)).Bytes(), "uid -1 is not a valid id"),
        ["pax size 2^64"] = (() => new RawTar().Pax(("size", Text("18446744073709551616"))).File("f", "x").Bytes(), "beyond 64 bits"),
        ["pax size -1"] = (() => new RawTar().Pax(("size", Text("-1"))).File("f", "x").Bytes(), "not a non-negative decimal"),
        ["pax size 2^62"] = (() => new RawTar().Pax(("size", Text("4611686018427387904"))).File("f", "x").Bytes(), "the archive ends"),
        ["base-256 size beyond 64 bits"] = (() => new RawTar().Header("f", tweak: h => { h.AsSpan(124, 12).Fill(0xff); h[124] = 0x80; }).Bytes(), "beyond 64 bits"),
        ["base-256 negative size"] = (() => new RawTar().Header("f", tweak: h => h.AsSpan(124, 12).Fill(0xff)).Bytes(), "size -1 is negative"),
        ["size not octal"] = (() => new RawTar().Header("f", tweak: h => Put(h, 124, 12, Text("00000000009\0"))).Bytes(), "is not an octal number"),
        ["pax mtime 1e300"] = (() => new RawTar().Pax(("mtime", Text("1e300"))).File("f", "x").Bytes(), "is not a time"),
        ["pax mtime 2^70"] = (() => new RawTar().Pax(("mtime", Text("1180591620717411303424.5"))).File("f", "x").Bytes(), "is not a time"),
        ["pax mtime past year 9999"] = (() => new RawTar().Pax(("mtime", Text("253402300800"))).File("f", "x").Bytes(), "mtime 253402300800 is out of range"),
        ["base-256 mtime 2^60"] = (() => new RawTar().Header("f", tweak: h => Base256(h, 136, 12, new byte[] { 0x10, 0, 0, 0, 0, 0, 0, 0 })).Bytes(), "is out of range"),
        ["mode beyond 32 bits"] = (() => new RawTar().Header("f", tweak: h => Base256(h, 100, 8, new byte[] { 1, 0, 0, 0, 0 })).Bytes(), "mode 4294967296 is out of range"),
        ["devmajor 4096"] = (() => new RawTar().Header("dev", '3', tweak: h => Octal(h, 329, 8, 4096)).Bytes(), "devmajor 4096 is out of range"),
        ["devminor 2^20"] = (() => new RawTar().Header("dev", '4', tweak: h => Octal(h, 337, 8, 1 << 20)).Bytes(), "devminor 1048576 is out of range"),
        ["pax record length beyond the header"] = (() => new RawTar().Header("PaxHeaders/x", 'x', 26).Data(Text("999999999999999999 a=b\n")).File("f", "x").Bytes(), "does not fit the header"),
        ["pax record without newline"] = (() => new RawTar().Header("PaxHeaders/x", 'x', 8).Data(Text("8 a=bcd ")).File("f", "x").Bytes(), "not ended by a newline"),
        ["pax header of 2 MiB"] = (() => new RawTar().Header("PaxHeaders/x", 'x', 2 << 20).File("f", "x").Bytes(), "a pax header of 2097152 bytes"),
        ["GNU long name of 2^40 bytes"] = (() => new RawTar().Header("././@LongLink", 'L', gnu: true, tweak: h => Base256(h, 124, 12, new byte[] { 1, 0, 0, 0, 0, 0 })).File("f", "x").Bytes(), "GNU long name of 1099511627776 bytes"),
        ["sparse 1.0 map of 2^62 fragments"] = (() => Sparse1("4611686018427387904\n0\n1\n"), "4611686018427387904 fragments is more than"),
        ["sparse map overlapping"] = (() => Sparse0("0,10,5,10", 100, 20), "overlaps"),
        ["sparse map overflowing"] = (() => Sparse0("9223372036854775807,10", 100, 10), "overflows"),
        ["sparse map past the file"] = (() => Sparse0("0,10", 5, 10), "ends past the file's size 5"),
        ["sparse map short of the data"] = (() => Sparse0("0,5", 100, 10), "holds 5 bytes of data, the entry 10"),
        ["sparse map odd"] = (() => Sparse0("0,5,7", 100, 5), "odd number"),
        ["sparse version 2.0"] = (() => new RawTar().Pax(("GNU.sparse.major", Text("2")), ("GNU.sparse.minor", Text("0"))).File("f", "x").Bytes(), "GNU sparse format 2.0 is not supported"),
        ["sparse map on a symlink"] = (() => new RawTar().Pax(("GNU.sparse.map", Text("0,1"))).Header("l", '2', link: "x").Bytes(), "a sparse map on a Symlink entry"),
        ["old GNU sparse in a ustar header"] = (() => new RawTar().Header("f", 'S').Bytes(), "not GNU's"),
        ["old GNU sparse map past the file"] = (() => new RawTar().Header("f", 'S', 10, gnu: true, tweak: h => { Octal(h, 386, 12, 100); Octal(h, 398, 12, 10); Octal(h, 483, 12, 50); }).Data(new byte[10]).Bytes(), "ends past the file's size 50"),
        ["old GNU sparse extension blocks without end"] = (() => OldGnuEndless(), "the archive ends inside the sparse map"),
        ["checksum wrong"] = (() => new RawTar().Header("f", checksum: false).Bytes(), "checksum"),
        ["header cut short"] = (() => new RawTar().File("a", "x").Raw(new byte[100]).Bytes(end: false), "ends inside it (100 of 512 bytes)"),
        ["data cut short"] = (() => new RawTar().Header("big", '0', 4096).Raw(new byte[1000]).Bytes(end: false), "entry \"big\": the archive ends 3096 bytes before the end of its data"),
        ["name not UTF-8"] = (() => new RawTar().Header("f", tweak: h => h[1] = 0xff).Bytes(), "name \"f\\xff\" is not valid UTF-8"),
        ["pax path not UTF-8"] = (() => new RawTar().Pax(("path", new byte[] { (byte)'a', 0xc3 })).File("f", "x").Bytes(), "is not valid UTF-8"),
        ["pax path with NUL"] = (() => new RawTar().Pax(("path", new byte[] { (byte)'a', 0, (byte)'b' })).File("f", "x").Bytes(), "path holds a NUL"),
        ["data after a zero block"] = (() => new RawTar().Raw(new byte[512]).File("f", "x").Bytes(), "data after a zero block"),
        ["extension header with no entry"] = (() => new RawTar().Pax(("path", Text("x"))).Bytes(), "with no entry for it"),
    };

    /// <summary>A PAX 0.1 sparse file: map, real size, and <paramref name="data"/> bytes of fragments.</summary>
    static byte[] Sparse0(string map, long realSize, int data) =>
        new RawTar().Pax(("GNU.sparse.map", Text(map)), ("GNU.sparse.realsize", Text(realSize.ToString()))).File("f", new byte[data]).Bytes();

    /// <summary>A PAX 1.0 sparse file whose data opens with <paramref name="map"/>.</summary>
    static byte[] Sparse1(string map)
    {
        var data = new byte[1024];
        Text(map).CopyTo(data, 0);
        return new RawTar().Pax(("GNU.sparse.major", Text("1")), ("GNU.sparse.minor", Text("0")), ("GNU.sparse.name", Text("f")), ("GNU.sparse.realsize", Text("10")))
            .File("GNUSparseFile.0/f", data).Bytes();
    }

    /// <summary>An old GNU sparse header saying "more map follows" in every extension block, until the archive ends.</summary>
    static byte[] OldGnuEndless()
    {
        var tar = new RawTar().Header("f", 'S', 0, gnu: true, tweak: h => h[482] = 1);
        var ext = new byte[512];
        ext[504] = 1;
        for (int i = 0; i < 8; i++) tar.Raw(ext);
        return tar.Bytes(end: false);
    }

    public static IEnumerable<object[]> HostileCases() =>
        Hostile.Keys.SelectMany(k => new[] { new object[] { k, WhiteoutMode.Apply }, new object[] { k, WhiteoutMode.Overlay } });

    [Theory]
    [MemberData(nameof(HostileCases))]
    public void A_hostile_header_fails_with_one_clear_line_and_creates_nothing(string name, WhiteoutMode mode)
    {
        using var s = new Scratch();
        var (tar, error) = Hostile[name];
        var e = Unpack(s, tar(), mode);
        Assert.NotNull(e);
        Assert.Contains(error, e!.Message);
        Assert.StartsWith("test layer: ", e.Message);
        // Nothing but what was written before the broken part: "a" (whole, before a broken
        // header) or the entry whose data is cut short. (The bundle, made of layers, goes whole.)
        Assert.All(Directory.GetFileSystemEntries(s.P("root")), p => Assert.Contains(Path.GetFileName(p), new[] { "a", "big", "f" }));
        if (!name.Contains("cut short") && name != "pax size 2^62") Assert.DoesNotContain(s.P("root/f"), Directory.GetFileSystemEntries(s.P("root")));
    }

    /// <summary>The largest valid ids and 65535 are ids like any other.</summary>
    [Theory]
    [InlineData(WhiteoutMode.Apply)]
    [InlineData(WhiteoutMode.Overlay)]
    public void The_largest_valid_ids_are_kept(WhiteoutMode mode)
    {
        using var s = new Scratch();
        var tar = new RawTar()
            .Pax(("uid", Text("4294967294")), ("gid", Text("65535")), ("mtime", Text("-1.5"))).File("max", "x")
            .Header("b256", tweak: h => { Base256(h, 108, 8, new byte[] { 0x7f, 0xff, 0xff, 0xfe }); Base256(h, 116, 8, new byte[] { 0x01, 0x00, 0x00, 0x00 }); })
            .Bytes();
        Assert.Null(Unpack(s, tar, mode));
        var max = Files.Stat(null, s.P("root/max"));
        Assert.Equal((4294967294u, 65535u), (max.Uid, max.Gid));
        Assert.Equal(new DateTime(1969, 12, 31, 23, 59, 58, 500, DateTimeKind.Utc), File.GetLastWriteTimeUtc(s.P("root/max")));
        var b = Files.Stat(null, s.P("root/b256"));
        Assert.Equal((0x7ffffffeu, 0x1000000u), (b.Uid, b.Gid));
    }

    /// <summary>An image config's User of 2^32-1 would run the process as root (the kernel reads it as "no change").</summary>
    [Fact]
    public void A_config_user_the_kernel_reads_as_no_change_is_refused()
    {
        using var s = new Scratch();
        var layout = Store.OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "u", new[] { TestImages.Tar(new[] { Entry.File("f", "x") }) }, new ContainerConfig { User = "4294967295" });
        TestImages.Write(layout, "g", new[] { TestImages.Tar(new[] { Entry.File("f", "x") }) }, new ContainerConfig { User = "0:4294967295" });
        s.Image("unpack", $"oci:{s.P("img")}:u", s.P("b")).Fails("config.User: uid 4294967295 is not a valid id");
        s.Image("unpack", $"oci:{s.P("img")}:g", s.P("b")).Fails("config.User: gid 4294967295 is not a valid id");
        Assert.False(Directory.Exists(s.P("b")));
    }

    /// <summary>Old GNU sparse files ('S'), the format of `tar --format=gnu --sparse`, with more fragments than the header holds (extension blocks).</summary>
    [Theory]
    [InlineData("gnu", WhiteoutMode.Apply)]
    [InlineData("gnu", WhiteoutMode.Overlay)]
    [InlineData("0.0", WhiteoutMode.Apply)]
    [InlineData("0.0", WhiteoutMode.Overlay)]
    public void Sparse_files_of_every_gnu_format_keep_their_data_and_holes(string format, WhiteoutMode mode)
    {
        using var s = new Scratch();
        var src = s.P("src");
        Directory.CreateDirectory(src);
        // 30 extents of 4 KiB, 1 MiB apart: more than the 4 an old GNU header holds.
        for (int i = 0; i < 30; i++)
            Scratch.Exec("dd", "if=/dev/urandom", $"of={src}/sparse", "bs=4096", "count=1", $"seek={i * 256}", "conv=notrunc", "status=none").Ok();
        Scratch.Exec("truncate", "-s", "40M", $"{src}/sparse").Ok();
        var args = format == "gnu" ? new[] { "--format=gnu", "--sparse" } : new[] { "--format=pax", "--sparse", $"--sparse-version={format}" };
        Scratch.Exec("tar", args.Concat(new[] { "-C", src, "-cf", s.P("sparse.tar"), "sparse" }).ToArray()).Ok();
        if (format == "gnu") Assert.Equal((byte)'S', File.ReadAllBytes(s.P("sparse.tar"))[156]);
        Assert.Null(Unpack(s, File.ReadAllBytes(s.P("sparse.tar")), mode));
        Assert.Equal(File.ReadAllBytes($"{src}/sparse"), File.ReadAllBytes(s.P("root/sparse")));
        var blocks = long.Parse(Scratch.Exec("stat", "-c", "%b", s.P("root/sparse")).Stdout.Trim());
        Assert.True(blocks * 512 < 4 << 20, $"{blocks} blocks: the holes were filled");
    }
}
