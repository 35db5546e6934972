using System.Formats.Tar;
using Berth.Images.Layers;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>Layers written to escape the root, each required to fail: nothing outside the rootfs may change.</summary>
public class UnpackAttackTests
{
    /// <summary>Unpacks into scratch/root, with a victim directory next to it; returns the error, if any.</summary>
    static ImageException? Unpack(Scratch s, IEnumerable<Entry> entries, WhiteoutMode mode = WhiteoutMode.Apply)
    {
        using var u = new LayerUnpacker(s.P("root"), mode);
        try
        {
            u.Unpack(new MemoryStream(TestImages.Tar(entries)), "test layer");
            return null;
        }
        catch (ImageException e)
        {
            return e;
        }
    }

    static string Victim(Scratch s)
    {
        var v = s.P("victim");
        Directory.CreateDirectory(v);
        File.WriteAllText(Path.Combine(v, "secret"), "host");
        return v;
    }

    static void Untouched(string victim)
    {
        Assert.Equal(new[] { "secret" }, Directory.GetFileSystemEntries(victim).Select(Path.GetFileName));
        Assert.Equal("host", File.ReadAllText(Path.Combine(victim, "secret")));
    }

    [Theory]
    [InlineData("../victim/pwned")]
    [InlineData("a/../../victim/pwned")]
    [InlineData("/../victim/pwned")]
    public void Dot_dot_paths_are_refused(string name)
    {
        using var s = new Scratch();
        var v = Victim(s);
        var e = Unpack(s, new[] { Entry.File(name, "x") });
        Assert.NotNull(e);
        Assert.Contains("..", e!.Message);
        Untouched(v);
    }

    [Fact]
    public void An_absolute_symlink_resolves_inside_the_root_when_written_through()
    {
        using var s = new Scratch();
        var v = Victim(s);
        Assert.Null(Unpack(s, new[] { Entry.Symlink("etc", v), Entry.File("etc/secret", "pwned") }));
        Untouched(v);
        Assert.Equal("pwned", File.ReadAllText(Path.Combine(s.P("root"), v.TrimStart('/'), "secret")));
    }

    [Fact]
    public void A_relative_symlink_climbing_out_stops_at_the_root()
    {
        using var s = new Scratch();
        var v = Victim(s);
        var climb = string.Concat(Enumerable.Repeat("../", 20)) + v.TrimStart('/');
        Assert.Null(Unpack(s, new[] { Entry.Symlink("d", climb), Entry.File("d/new", "pwned") }));
        Untouched(v);
        Assert.True(File.Exists(Path.Combine(s.P("root"), v.TrimStart('/'), "new")));
    }

    [Fact]
    public void A_hard_link_cannot_reach_a_host_file()
    {
        using var s = new Scratch();
        var v = Victim(s);
        var nlink = new Mono(Path.Combine(v, "secret")).Links;
        Assert.NotNull(Unpack(s, new[] { Entry.Hardlink("h", "../victim/secret") }));
        // An absolute target names a file inside the root, which does not exist here.
        Assert.NotNull(Unpack(s, new[] { Entry.Hardlink("h2", Path.Combine(v, "secret")) }));
        Assert.Equal(nlink, new Mono(Path.Combine(v, "secret")).Links);
        Untouched(v);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("/.")]
    [InlineData("./")]
    public void A_symlink_at_the_root_itself_is_refused(string name)
    {
        using var s = new Scratch();
        var v = Victim(s);
        var e = Unpack(s, new[] { Entry.Symlink(name, v), Entry.File("pwned", "x") });
        Assert.NotNull(e);
        Assert.Contains("would replace the root", e!.Message);
        Untouched(v);
        Assert.False(File.Exists(Path.Combine(v, "pwned")));
    }

    [Fact]
    public void A_directory_swapped_for_a_symlink_between_entries_still_resolves_inside()
    {
        using var s = new Scratch();
        var v = Victim(s);
        Assert.Null(Unpack(s, new[] { Entry.Dir("a"), Entry.File("a/one", "1"), Entry.Symlink("a", v), Entry.File("a/two", "pwned") }));
        Untouched(v);
        Assert.Equal(v, new FileInfo(Path.Combine(s.P("root"), "a")).LinkTarget);
    }

    [Theory]
    [InlineData(".wh...")]
    [InlineData("dir/.wh...")]
    [InlineData(".wh..")]
    [InlineData(".wh.")]
    public void A_whiteout_of_dot_or_dot_dot_is_refused(string name)
    {
        using var s = new Scratch();
        Directory.CreateDirectory(Path.Combine(s.P("root"), "dir"));
        File.WriteAllText(Path.Combine(s.P("root"), "dir", "keep"), "k");
        var v = Victim(s);
        Assert.NotNull(Unpack(s, new[] { new Entry(name) }));
        Untouched(v);
        Assert.True(File.Exists(Path.Combine(s.P("root"), "dir", "keep")));
    }

    [Fact]
    public void A_whiteout_through_a_symlink_deletes_inside_only()
    {
        using var s = new Scratch();
        var v = Victim(s);
        Assert.Null(Unpack(s, new[] { Entry.Symlink("link", v), new Entry("link/.wh.secret") }));
        Untouched(v);
    }

    [Fact]
    public void A_gzip_bomb_is_stopped_at_the_cap_and_the_bundle_removed()
    {
        using var s = new Scratch();
        // 300 MiB of zeros in a ~300 KiB layer.
        var bomb = TestImages.Tar(new[] { new Entry("zeros", Content: new string('\0', 1)) });
        var big = new MemoryStream();
        using (var w = new TarWriter(big, TarEntryFormat.Pax, leaveOpen: true))
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "zeros") { DataStream = new ZeroStream(300L << 20) });
        var layout = Store.OciLayout.Create(s.P("layout"));
        TestImages.Write(layout, "bomb", new[] { big.ToArray() }, compress: data =>
        {
            var ms = new MemoryStream();
            using (var gz = new System.IO.Compression.GZipStream(ms, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true)) gz.Write(data);
            return ms.ToArray();
        });
        Assert.True(new FileInfo(Directory.GetFiles(Path.Combine(s.P("layout"), "blobs", "sha256")).OrderByDescending(f => new FileInfo(f).Length).First()).Length < 2 << 20);
        s.Image("unpack", "--max-layer-size", "64m", $"oci:{s.P("layout")}:bomb", s.P("bundle")).Fails("decompression bomb");
        Assert.False(Directory.Exists(s.P("bundle")));
    }

    sealed class ZeroStream(long total) : Stream
    {
        readonly long _total = total;
        long _left = total;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = (int)Math.Min(count, _left);
            Array.Clear(buffer, offset, n);
            _left -= n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _total;
        public override long Position { get => _total - _left; set => _left = _total - value; }
        public override void Flush() { }
        public override long Seek(long o, SeekOrigin origin) => Position = o;
        public override void SetLength(long v) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }

    /// <summary>st_nlink of a host file.</summary>
    readonly record struct Mono(string Path)
    {
        public uint Links => Linux.Files.Stat(null, Path).Nlink;
    }

    /// <summary>A sparse 1.0 map whose 512-byte padding the entry does not hold: an error, not an endless read.</summary>
    [Fact]
    public void A_sparse_map_cut_short_is_an_error_not_a_hang()
    {
        using var s = new Scratch();
        var pax = new Dictionary<string, string>
        {
            ["GNU.sparse.major"] = "1", ["GNU.sparse.minor"] = "0", ["GNU.sparse.name"] = "f", ["GNU.sparse.realsize"] = "10",
        };
        var unpack = Task.Run(() => Unpack(s, new[] { new Entry("GNUSparseFile.0/f", Content: "1\n0\n5\n", Pax: pax) }));
        Assert.True(unpack.Wait(TimeSpan.FromSeconds(30)), "the unpack did not finish");
        Assert.Contains("ends inside its sparse map", unpack.Result!.Message);
    }

    /// <summary>A map line that is not a number is the layer's error, not a crash.</summary>
    [Fact]
    public void A_sparse_map_with_a_bad_number_is_refused()
    {
        using var s = new Scratch();
        var pax = new Dictionary<string, string> { ["GNU.sparse.map"] = "0,x", ["GNU.sparse.realsize"] = "10" };
        var e = Unpack(s, new[] { new Entry("f", Content: "abc", Pax: pax) });
        Assert.Contains("is not a number", e!.Message);
    }
}
