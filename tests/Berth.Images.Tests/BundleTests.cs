using System.Text.Json.Nodes;
using Berth.Images.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>Image → bundle: the rootfs, the config.json, and overlay snapshots shared between bundles.</summary>
public class BundleTests
{
    static OciLayout Busybox(Scratch s, ContainerConfig? config = null, params byte[][] extraLayers)
    {
        var layout = OciLayout.Create(s.P("img"));
        TestImages.Write(layout, "bb", new[] { TestImages.BusyboxTar() }.Concat(extraLayers).ToList(), config);
        return layout;
    }

    [Fact]
    public void The_config_comes_from_the_image_and_the_bundle_runs()
    {
        using var s = new Scratch();
        Busybox(s, new ContainerConfig
        {
            Entrypoint = new() { "sh", "-c" }, Cmd = new() { "echo $GREETING from $(pwd) as $(id -u):$(id -g) groups $(id -G)" },
            Env = new() { "GREETING=hello" }, WorkingDir = "/tmp", User = "app",
            Labels = new() { ["org.example.team"] = "berth" }, StopSignal = "SIGINT", ExposedPorts = new() { "80/tcp", "53/udp" },
        });
        s.Image("unpack", $"oci:{s.P("img")}:bb", s.P("b")).Ok();
        var c = JsonNode.Parse(File.ReadAllText(s.P("b/config.json")))!;
        Assert.Equal("sh", (string)c["process"]!["args"]![0]!);
        Assert.Equal("/tmp", (string)c["process"]!["cwd"]!);
        Assert.Equal(1000, (int)c["process"]!["user"]!["uid"]!);
        Assert.Equal(2000, (int)c["process"]!["user"]!["additionalGids"]![0]!);
        Assert.Contains("GREETING=hello", c["process"]!["env"]!.AsArray().Select(e => (string)e!));
        Assert.Equal("berth", (string)c["annotations"]!["org.example.team"]!);
        Assert.Equal("SIGINT", (string)c["annotations"]!["org.opencontainers.image.stopSignal"]!);
        Assert.Equal("80/tcp,53/udp", (string)c["annotations"]!["org.opencontainers.image.exposedPorts"]!);
        var r = Scratch.Exec(Commands.Runtime, "--root", s.P("state"), "run", "--bundle", s.P("b"), "img-run").Ok();
        Assert.Equal("hello from /tmp as 1000:1000 groups 1000 2000\n", r.Stdout);
    }

    [Fact]
    public void Overlay_bundles_share_snapshots_and_removal_cleans_up()
    {
        using var s = new Scratch();
        var upper = TestImages.Tar(new[] { Entry.File("etc/motd", "layer two"), new Entry("bin/.wh.vi") });
        var layout = Busybox(s, null, upper);
        s.Image("copy", $"oci:{s.P("img")}:bb", "bb").Ok();
        s.Image("unpack", "--overlay", "bb", s.P("one")).Ok();
        var snapshots = Path.Combine(s.Dir, "store-snapshots");
        var first = Directory.GetDirectories(snapshots).ToDictionary(d => d, d => Linux.Files.Stat(null, d).Ino);
        Assert.Equal(2, first.Count);
        s.Image("unpack", "--overlay", "bb", s.P("two")).Ok();
        // The second bundle cost a mount: the same snapshot directories, not new copies.
        Assert.Equal(first, Directory.GetDirectories(snapshots).ToDictionary(d => d, d => Linux.Files.Stat(null, d).Ino));
        Assert.Equal(2, File.ReadAllLines("/proc/self/mountinfo").Count(l => l.Contains(" overlay ") && l.Contains(s.Dir)));
        Assert.Equal("layer two", File.ReadAllText(s.P("two/rootfs/etc/motd")));
        Assert.False(File.Exists(s.P("two/rootfs/bin/vi")));
        Assert.True(File.Exists(s.P("two/rootfs/bin/busybox")));
        // Writes go to the bundle's own upper directory.
        File.WriteAllText(s.P("one/rootfs/written"), "x");
        Assert.False(File.Exists(s.P("two/rootfs/written")));
        var r = Scratch.Exec(Commands.Runtime, "--root", s.P("state"), "run", "--bundle", s.P("two"), "ov").Ok();

        Assert.Equal("removed 0 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
        s.Image("umount", s.P("one")).Ok();
        s.Image("umount", s.P("two")).Ok();
        Assert.False(Directory.Exists(s.P("one")));
        Assert.DoesNotContain(s.Dir, File.ReadAllText("/proc/self/mountinfo"));
        s.Image("rm", "bb").Ok();
        Assert.Equal("removed 4 blobs, 2 snapshots\n", s.Image("gc").Ok().Stdout);
        Assert.Empty(Directory.GetDirectories(snapshots));
    }

    [Fact]
    public void Unpack_into_a_non_empty_directory_is_refused()
    {
        using var s = new Scratch();
        Busybox(s);
        Directory.CreateDirectory(s.P("busy"));
        File.WriteAllText(s.P("busy/file"), "x");
        s.Image("unpack", $"oci:{s.P("img")}:bb", s.P("busy")).Fails("not empty");
        Assert.Equal("x", File.ReadAllText(s.P("busy/file")));
    }
}
