using Berth.Linux;
using Berth.Supply.Catalogers;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

public class GoBinaryTests
{
    /// <summary>Go programs Debian ships on this machine (built with Go ≥ 1.18, in GOPATH mode: a version and a path, no module lines).</summary>
    static readonly string[] HostGoBinaries = { "/usr/bin/skopeo", "/usr/sbin/runc", "/usr/bin/umoci", "/usr/lib/cni/bridge" };

    [Fact]
    public void Build_info_of_this_machines_go_binaries_names_the_go_version_and_modules()
    {
        var binary = HostGoBinaries.First(File.Exists);
        using var fd = Files.Open(binary, O.RDONLY);
        using var f = new FdStream(fd, binary);
        var info = GoBinaryCataloger.BuildInfo(f);
        Assert.NotNull(info);
        Assert.StartsWith("go1.", info!.Value.GoVersion);
    }

    [Fact]
    public void Go_modules_in_a_root_are_golang_purls_and_other_files_are_not()
    {
        using var root = new TestRoot();
        var binary = HostGoBinaries.First(File.Exists);
        root.Write("usr/bin/app", "");
        File.Copy(binary, Path.Combine(root.Path, "usr/bin/app"), overwrite: true);
        root.Write("usr/bin/script", "#!/bin/sh\necho hi\n");
        File.Copy("/bin/ls", Path.Combine(root.Path, "usr/bin/ls"));
        using var view = RootView.Directory(root.Path);
        var packages = Inventory.Of(view).Packages;
        Assert.All(packages, p => Assert.Equal("/usr/bin/app", p.Location));
        Assert.Contains(packages, p => p.Purl.StartsWith("pkg:golang/stdlib@1.", StringComparison.Ordinal));
    }
}
