using System.Formats.Tar;
using Berth.Images.Store;
using Berth.Linux;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// An image's setuid binaries and device nodes, once unpacked, are out of reach of every other
/// host user: the store, the snapshots and each bundle are 0700. Tried as such a user (nobody,
/// through setpriv), not inferred from modes.
/// </summary>
public class PermissionTests
{
    /// <summary>
    /// Runs <paramref name="command"/> as nobody with no capabilities. Through a shell: setpriv
    /// keeps its capabilities until its own execve, so the lookup of a command it execs directly
    /// would pass directories nobody cannot (measured: a 0700 directory did not stop it).
    /// </summary>
    static Result AsNobody(params string[] command) =>
        Scratch.Exec("setpriv", new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--",
            "/bin/busybox", "sh", "-c", "exec \"$@\"", "sh" }.Concat(command).ToArray());

    /// <summary>busybox setuid root at bin/busybox and a 0666 device node (null's numbers) at dev/open.</summary>
    static byte[] PrivilegedLayer()
    {
        var ms = new MemoryStream();
        using (var w = new TarWriter(ms, TarEntryFormat.Pax, leaveOpen: true))
        {
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "bin") { Mode = (UnixFileMode)0x1ed });
            w.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "dev") { Mode = (UnixFileMode)0x1ed });
            using var busybox = File.OpenRead("/bin/busybox");
            w.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = (UnixFileMode)0x9ed /* 04755 */, DataStream = busybox });
            w.WriteEntry(new PaxTarEntry(TarEntryType.CharacterDevice, "dev/open") { Mode = (UnixFileMode)0x1b6, DeviceMajor = 1, DeviceMinor = 3 });
        }
        return ms.ToArray();
    }

    static uint ModeOf(string path) => Files.Stat(null, path, follow: false).Mode & 0xfff;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Another_host_user_cannot_reach_an_unpacked_setuid_binary_or_device(bool overlay)
    {
        using var s = new Scratch();
        // The scratch directory is open to all: only the modes Berth gives stand in the way.
        File.SetUnixFileMode(s.Dir, (UnixFileMode)0x1ed);
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "suid", new[] { PrivilegedLayer() });
        s.Image(overlay ? new[] { "unpack", "--overlay", $"oci:{s.P("img")}:suid", s.P("b") } : new[] { "unpack", $"oci:{s.P("img")}:suid", s.P("b") }).Ok();

        // What there is to reach, and that the user can reach everything up to Berth's directories.
        var suid = s.P("b/rootfs/bin/busybox");
        Assert.Equal(0x9edu, ModeOf(suid));
        Assert.True(Files.Stat(null, s.P("b/rootfs/dev/open"), follow: false).IsCharDevice);
        Assert.Equal("0\n", Scratch.Exec(suid, "id", "-u").Ok().Stdout);
        AsNobody("/bin/busybox", "test", "-x", s.Dir).Ok();
        Assert.Equal("65534\n", AsNobody("/bin/busybox", "id", "-u").Ok().Stdout);

        var reachable = new List<string> { suid, s.P("b/rootfs/dev/open") };
        if (overlay)
        {
            var snapshot = Assert.Single(Directory.GetDirectories(Path.Combine(s.Dir, "store-snapshots")));
            reachable.Add(Path.Combine(snapshot, "bin/busybox"));
            reachable.Add(Path.Combine(snapshot, "dev/open"));
        }
        foreach (var path in reachable)
        {
            var run = AsNobody(path, "id", "-u");
            Assert.NotEqual(0, run.ExitCode);
            Assert.DoesNotContain("0\n", run.Stdout);
            Assert.NotEqual(0, AsNobody("/bin/busybox", "sh", "-c", $"exec 3<'{path}'").ExitCode);
            Assert.NotEqual(0, AsNobody("/bin/busybox", "stat", path).ExitCode);
        }
        Assert.NotEqual(0, AsNobody("/bin/busybox", "ls", s.Store).ExitCode);
        foreach (var dir in new[] { s.P("b"), s.Store }.Concat(overlay ? new[] { Path.Combine(s.Dir, "store-snapshots") } : Array.Empty<string>()))
            Assert.Equal(0x1c0u, ModeOf(dir));
        // The rootfs itself keeps the image's mode: the 0700 bundle above it is the barrier.
        Assert.Equal(0x1edu, ModeOf(s.P("b/rootfs")));
    }

    [Fact]
    public void An_open_store_is_closed_and_a_bundle_or_store_of_another_user_is_refused()
    {
        using var s = new Scratch();
        Directory.CreateDirectory(s.Store);
        File.SetUnixFileMode(s.Store, (UnixFileMode)0x1ed);
        s.Image("ls").Ok();
        Assert.Equal(0x1c0u, ModeOf(s.Store));

        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "app", new[] { TestImages.Tar(new[] { Entry.File("f", "x") }) });
        // An empty directory its owner could open again once the rootfs is in it.
        Directory.CreateDirectory(s.P("theirs"));
        Files.Chown(s.P("theirs"), 65534, 65534);
        s.Image("unpack", $"oci:{s.P("img")}:app", s.P("theirs")).Fails("belongs to uid 65534");
        Assert.Empty(Directory.GetFileSystemEntries(s.P("theirs")));

        Directory.CreateDirectory(s.P("other-store"));
        Files.Chown(s.P("other-store"), 65534, 65534);
        Scratch.Exec(Scratch.Binary, "image", "ls", "--store", s.P("other-store")).Fails("belongs to uid 65534");
    }

    /// <summary>Closing a directory to 0700 is a chmod as root: never through a symlink someone planted, never of a directory that is not Berth's.</summary>
    [Fact]
    public void A_link_or_a_foreign_directory_in_place_of_a_store_or_bundle_keeps_its_mode()
    {
        using var s = new Scratch();
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "app", new[] { TestImages.Tar(new[] { Entry.File("f", "x") }) });
        var target = Directory.CreateDirectory(s.P("somebody's")).FullName;
        File.SetUnixFileMode(target, (UnixFileMode)0x1ed);
        File.CreateSymbolicLink(s.P("bundle-link"), target);
        File.CreateSymbolicLink(s.P("store-link"), target);
        s.Image("unpack", $"oci:{s.P("img")}:app", s.P("bundle-link")).Fails("is a symbolic link");
        Scratch.Exec(Scratch.Binary, "image", "ls", "--store", s.P("store-link")).Fails("is a symbolic link");
        File.WriteAllText(Path.Combine(target, "notes"), "mine");
        Scratch.Exec(Scratch.Binary, "image", "ls", "--store", target).Fails("holds what Berth did not put there");
        Assert.Equal(0x1edu, ModeOf(target));
        Assert.Equal(new[] { "notes" }, Directory.GetFileSystemEntries(target).Select(Path.GetFileName));
    }
}
