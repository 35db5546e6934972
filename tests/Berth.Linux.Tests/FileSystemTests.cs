using Berth.Linux;
using Xunit;

namespace Berth.Linux.Tests;

/// <summary>Berth's file helpers: each failure a LinuxException with the operation, the path and the errno.</summary>
public sealed class FileSystemTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-fs-").FullName;

    string P(string name) => Path.Combine(_dir, name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_sysctl_file_that_says_size_0_is_read_whole()
    {
        // proc_dointvec answers only a read at offset 0: a short first read loses the rest.
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/cap_last_cap"), FileSystem.ReadText("/proc/sys/kernel/cap_last_cap"));
        Assert.Equal(File.ReadAllText("/proc/sys/kernel/pid_max"), FileSystem.ReadText("/proc/sys/kernel/pid_max"));
    }

    [Fact]
    public void Create_directory_makes_parents_and_names_what_is_in_the_way()
    {
        FileSystem.CreateDirectory(P("a/b/c"));
        Assert.True(Directory.Exists(P("a/b/c")));
        FileSystem.CreateDirectory(P("a/b/c")); // there already: fine
        File.WriteAllText(P("f"), "");
        var e = Assert.Throws<LinuxException>(() => FileSystem.CreateDirectory(P("f")));
        Assert.Equal($"mkdir {P("f")}: exists and is not a directory", e.Message);
        e = Assert.Throws<LinuxException>(() => FileSystem.CreateDirectory(P("f/x/y")));
        Assert.Equal((Errno.ENOTDIR, "mkdir", P("f/x/y")), (e.Errno, e.Operation, e.Path));
    }

    [Fact]
    public void Write_new_never_replaces_and_names_the_file()
    {
        FileSystem.WriteNew(P("x"), "one"u8);
        var e = Assert.Throws<LinuxException>(() => FileSystem.WriteNew(P("x"), "two"u8));
        Assert.Equal($"writing {P("x")}: EEXIST (File exists)", e.Message);
        Assert.Equal("one", File.ReadAllText(P("x")));
        File.CreateSymbolicLink(P("link"), P("target"));
        Assert.Equal(Errno.EEXIST, Assert.Throws<LinuxException>(() => FileSystem.WriteNew(P("link"), "x"u8)).Errno);
        Assert.False(File.Exists(P("target")), "written through a symlink");
        e = Assert.Throws<LinuxException>(() => FileSystem.WriteNew(P("x/y"), "x"u8));
        Assert.Equal($"writing {P("x/y")}: ENOTDIR (Not a directory)", e.Message);
    }

    [Fact]
    public void Reading_and_listing_name_the_path()
    {
        Directory.CreateDirectory(P("d/sub"));
        File.WriteAllText(P("d/f"), "text");
        File.CreateSymbolicLink(P("d/l"), "sub");
        Assert.Equal("text", FileSystem.ReadText(P("d/f")));
        Assert.Null(FileSystem.TryReadText(P("d/none")));
        Assert.Equal($"reading {P("d")}: is a directory, not a regular file", Assert.Throws<LinuxException>(() => FileSystem.ReadText(P("d"))).Message);
        Assert.Equal(new[] { "f", "l", "sub" }, FileSystem.Names(P("d")).Order());
        Assert.Equal(new[] { "sub" }, FileSystem.Directories(P("d")));
        Assert.Equal(new[] { "f", "l" }, FileSystem.NonDirectories(P("d")).Order());
        Assert.Equal($"listing {P("d/f")}: ENOTDIR (Not a directory)", Assert.Throws<LinuxException>(() => FileSystem.Names(P("d/f"))).Message);
        Assert.Equal(Errno.ENOENT, Assert.Throws<LinuxException>(() => FileSystem.Names(P("none"))).Errno);
        // Many entries: more than one getdents64 buffer.
        for (int i = 0; i < 2000; i++) File.WriteAllText(P($"d/sub/file-with-a-long-name-{i:D5}"), "");
        Assert.Equal(2000, FileSystem.Names(P("d/sub")).Distinct().Count());
    }

    [Fact]
    public void A_stream_names_its_file_in_errors()
    {
        File.WriteAllText(P("f"), "abc");
        using var fd = Files.Open(P("f"), O.WRONLY);
        using var stream = new FdStream(fd, P("f"), read: true, write: true);
        var e = Assert.Throws<LinuxException>(() => stream.ReadByte());
        Assert.Equal($"read {P("f")}: EBADF (Bad file descriptor)", e.Message);
        stream.Write("xy"u8);
        Assert.Equal(2, stream.Position);
        Assert.Equal(3, stream.Length);
        Assert.Equal($"write /dev/full: ENOSPC (No space left on device)",
            Assert.Throws<LinuxException>(() => new FdStream(Files.Open("/dev/full", O.WRONLY), "/dev/full", read: false, write: true).Write("x"u8)).Message);
    }

    [Fact]
    public void Rename_names_both_paths()
    {
        var e = Assert.Throws<LinuxException>(() => FileSystem.Rename(P("none"), P("other")));
        Assert.Equal($"rename {P("none")} to {P("other")}: ENOENT (No such file or directory)", e.Message);
    }

    [Theory]
    [InlineData("/proc/sys/kernel/cap_last_cap")]
    [InlineData("/proc/sys/kernel/pid_max")]
    [InlineData("/proc/sys/net/core/somaxconn")]
    public void A_sysctl_file_is_read_whole_though_it_says_it_is_empty(string path)
    {
        // A sysctl read from an offset past 0 is end of file: read in pieces, "40" would be "4".
        var expected = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("cat", path) { RedirectStandardOutput = true })!;
        var text = expected.StandardOutput.ReadToEnd();
        expected.WaitForExit();
        Assert.Equal(text, FileSystem.ReadText(path));
        Assert.True(text.Length > 2, text);
    }
}
