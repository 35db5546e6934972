using Berth.Images;
using Berth.Images.Layers;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>Reproducible builds (--timestamp / SOURCE_DATE_EPOCH): the same tree makes the same layer bytes wherever and whenever it was made.</summary>
public sealed class ReproducibleLayerTests : IDisposable
{
    const long T = 1_700_000_000; // 2023-11-14T22:13:20Z
    readonly string _dir = Directory.CreateTempSubdirectory("berth-repro-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int link(string oldpath, string newpath);

    /// <summary>One tree (files, a subdirectory, a symlink, a hard link), all with the given mtime, under a directory of its own name.</summary>
    string Tree(string name, DateTime mtime)
    {
        var root = Path.Combine(_dir, name, "upper");
        Directory.CreateDirectory(Path.Combine(root, "etc/app"));
        File.WriteAllText(Path.Combine(root, "etc/app/conf"), "key=value\n");
        File.WriteAllText(Path.Combine(root, "run.sh"), "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(Path.Combine(root, "run.sh"), (UnixFileMode)0x1ed);
        File.CreateSymbolicLink(Path.Combine(root, "link"), "run.sh");
        Assert.Equal(0, link(Path.Combine(root, "etc/app/conf"), Path.Combine(root, "hard")));
        foreach (var p in new[] { "etc/app/conf", "run.sh", "etc/app", "etc" })
            File.SetLastWriteTimeUtc(Path.Combine(root, p), mtime);
        // lutimes: the symlink's own time.
        new FileInfo(Path.Combine(root, "link")).LastWriteTimeUtc = mtime;
        Directory.SetLastWriteTimeUtc(root, mtime);
        return root;
    }

    static byte[] Layer(string upper, BuildTimestamp? ts)
    {
        var tar = new MemoryStream();
        Changeset.Write(upper, tar, timestamp: ts);
        tar.Position = 0;
        using var gz = new GzipCompressingStream(tar, reproducible: ts is not null);
        var output = new MemoryStream();
        gz.CopyTo(output);
        return output.ToArray();
    }

    [Fact]
    public void The_same_tree_in_two_places_at_two_times_makes_the_same_bytes_with_a_timestamp_and_not_without()
    {
        var a = Tree("a", DateTime.UtcNow);
        var b = Tree("elsewhere/b", DateTime.UtcNow.AddHours(3));
        var ts = new BuildTimestamp(T);
        Assert.Equal(Layer(a, ts), Layer(b, ts));
        Assert.NotEqual(Layer(a, null), Layer(b, null));
    }

    static List<(string Name, long Mtime)> Entries(byte[] tar)
    {
        var list = new List<(string, long)>();
        using var r = new System.Formats.Tar.TarReader(new MemoryStream(tar));
        // A hard link's own header carries no time (mtime 0): it is the file's.
        while (r.GetNextEntry() is { } e)
            if (e.EntryType != System.Formats.Tar.TarEntryType.HardLink) list.Add((e.Name, e.ModificationTime.ToUnixTimeSeconds()));
        return list;
    }

    [Fact]
    public void Mtimes_are_clamped_not_raised()
    {
        var old = Tree("old", DateTime.UnixEpoch.AddSeconds(T - 1000));
        var tar = new MemoryStream();
        Changeset.Write(old, tar, timestamp: new BuildTimestamp(T));
        // Entries before T keep their time; the rest would say T.
        var mtimes = Entries(tar.ToArray()).Select(e => e.Mtime).Distinct().ToList();
        Assert.Equal(new[] { T - 1000 }, mtimes);

        var fresh = Tree("fresh", DateTime.UtcNow);
        tar = new MemoryStream();
        Changeset.Write(fresh, tar, timestamp: new BuildTimestamp(T));
        Assert.Equal(new[] { T }, Entries(tar.ToArray()).Select(e => e.Mtime).Distinct().ToList());
    }

    [Fact]
    public void A_reproducible_gzip_header_has_no_time_and_os_255()
    {
        var bytes = Layer(Tree("gz", DateTime.UtcNow), new BuildTimestamp(T));
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8 }, bytes[..3]);
        Assert.Equal(new byte[] { 0, 0, 0, 0 }, bytes[4..8]);
        Assert.Equal(255, bytes[9]);
        // And it is still gzip that decompresses to the tar.
        using var back = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
        var tar = new MemoryStream();
        back.CopyTo(tar);
        Assert.Contains(Entries(tar.ToArray()), e => e.Name == "run.sh");
    }

    [Theory]
    [InlineData("1700000000", null, "2023-11-14T22:13:20Z")]
    [InlineData(null, "0", "1970-01-01T00:00:00Z")]
    [InlineData("5", "1700000000", "1970-01-01T00:00:05Z")]
    public void The_flag_wins_over_SOURCE_DATE_EPOCH(string? flag, string? env, string created) =>
        Assert.Equal(created, BuildTimestamp.Resolve(flag, env)!.Value.Created);

    [Fact]
    public void Neither_set_is_no_timestamp_and_a_bad_value_names_its_source()
    {
        Assert.Null(BuildTimestamp.Resolve(null, null));
        Assert.Null(BuildTimestamp.Resolve(null, ""));
        Assert.Equal("--timestamp \"yesterday\": not a number of seconds since the epoch (1970-01-01 UTC)",
            Assert.Throws<ImageException>(() => BuildTimestamp.Resolve("yesterday", null)).Message);
        Assert.StartsWith("SOURCE_DATE_EPOCH \"-1\"", Assert.Throws<ImageException>(() => BuildTimestamp.Resolve(null, "-1")).Message);
    }
}
