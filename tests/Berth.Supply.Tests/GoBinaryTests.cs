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

    [Fact]
    public void A_module_built_by_the_test_reads_as_go_version_m_prints_it()
    {
        Assert.True(File.Exists("/usr/bin/go"), "go (golang-go) missing: run scripts/install-deps.sh test");
        using var src = new TestRoot();
        src.Write("go.mod", "module example.com/app\n\ngo 1.19\n\nrequire example.com/dep v1.2.3\n\nreplace example.com/dep => ./dep\n");
        src.Write("dep/go.mod", "module example.com/dep\n\ngo 1.19\n");
        src.Write("dep/dep.go", "package dep\n\nfunc Hello() string { return \"hi\" }\n");
        src.Write("main.go", "package main\n\nimport (\n\t\"fmt\"\n\t\"example.com/dep\"\n)\n\nfunc main() { fmt.Println(dep.Hello()) }\n");
        using var root = new TestRoot();
        Directory.CreateDirectory(Path.Combine(root.Path, "srv"));
        var binary = Path.Combine(root.Path, "srv", "app");
        var env = new Dictionary<string, string> { ["GOPROXY"] = "off", ["GOFLAGS"] = "-mod=mod", ["GOCACHE"] = Path.Combine(src.Path, ".cache"), ["HOME"] = src.Path };
        var (code, _, err) = TestRoot.Run("go", new[] { "build", "-o", binary, "." }, cwd: src.Path, env: env);
        Assert.True(code == 0, err);
        // go version -m: "\tmod\tPATH\tVERSION" and "\tdep\tPATH\tVERSION" lines, the reference.
        var reference = TestRoot.Run("go", new[] { "version", "-m", binary }, env: env).Out.Split('\n')
            .Select(l => l.Trim().Split('\t')).Where(f => f.Length >= 3 && f[0] is "mod" or "dep").Select(f => (f[0], f[1], f[2])).ToList();
        Assert.Equal(new[] { ("mod", "example.com/app", "(devel)"), ("dep", "example.com/dep", "v1.2.3") }, reference);
        using var view = RootView.Directory(root.Path);
        var purls = Inventory.Of(view).Packages.Select(p => p.Purl).ToList();
        var goVersion = TestRoot.Run("go", new[] { "env", "GOVERSION" }, env: env).Out.Trim()[2..];
        Assert.Equal(new[] { "pkg:golang/example.com/app", "pkg:golang/example.com/dep@v1.2.3", $"pkg:golang/stdlib@{goVersion}" }, purls.Order(StringComparer.Ordinal));
    }
}
