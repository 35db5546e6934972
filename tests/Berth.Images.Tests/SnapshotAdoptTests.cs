using Berth.Images.Bundles;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>A build step's upper directory taken as its layer's snapshot (containerd's commit by rename), not extracted again.</summary>
public sealed class SnapshotAdoptTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-adopt-").FullName;
    const string Chain = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Upper(string name, string content)
    {
        var upper = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.Combine(upper, "app"));
        File.WriteAllText(Path.Combine(upper, "app", "file"), content);
        return upper;
    }

    [Fact]
    public void An_adopted_upper_is_the_snapshot_the_next_step_stacks()
    {
        var snapshots = new Snapshots(Path.Combine(_dir, "snapshots"));
        var upper = Upper("upper", "one");
        var path = snapshots.Adopt(Chain, upper);
        Assert.Equal(snapshots.PathOf(Chain), path);
        Assert.False(Directory.Exists(upper));
        Assert.Equal("one", File.ReadAllText(Path.Combine(path!, "app", "file")));
        // Ensure finds it and reads no blob (there is no source to read one from).
        Assert.Equal(path, snapshots.Ensure(null!, new Oci.Image.Descriptor(), "", Chain, Array.Empty<string>(), 0, _dir));
        // A second step making the same layer leaves the first snapshot and its own directory alone.
        var again = Upper("again", "one");
        Assert.Equal(path, snapshots.Adopt(Chain, again));
        Assert.True(Directory.Exists(again));
        // The root stays private.
        Assert.Equal((UnixFileMode)0x1c0, File.GetUnixFileMode(snapshots.Root) & (UnixFileMode)0x1ff);
    }

    [Fact]
    public void An_upper_on_another_file_system_is_not_adopted()
    {
        // /dev/shm is a tmpfs, the temp directory here is not.
        var shm = Directory.CreateDirectory(Path.Combine("/dev/shm", "berth-adopt-" + Guid.NewGuid().ToString("N"))).FullName;
        try
        {
            var other = Path.Combine(shm, "upper");
            Directory.CreateDirectory(other);
            var snapshots = new Snapshots(Path.Combine(_dir, "snapshots"));
            Assert.NotEqual(Linux.Files.Stat(null, shm).DevMinor + Linux.Files.Stat(null, shm).DevMajor * 1000, Linux.Files.Stat(null, _dir).DevMinor + Linux.Files.Stat(null, _dir).DevMajor * 1000);
            Assert.Null(snapshots.Adopt(Chain, other));
            Assert.True(Directory.Exists(other));
            Assert.False(Directory.Exists(snapshots.PathOf(Chain)));
        }
        finally
        {
            Directory.Delete(shm, recursive: true);
        }
    }
}
