using Berth.Supply.Packages;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

public class CatalogerTests
{
    /// <summary>Paragraphs of this machine's dpkg status for the named packages, as dpkg wrote them.</summary>
    static string HostStatus(params string[] names)
    {
        var text = File.ReadAllText("/var/lib/dpkg/status");
        var keep = text.Split("\n\n").Where(p => names.Any(n => p.StartsWith($"Package: {n}\n", StringComparison.Ordinal)));
        return string.Join("\n\n", keep) + "\n";
    }

    static string HostField(string package, string field) =>
        TestRoot.Run("dpkg-query", new[] { "-W", "-f", $"${{{field}}}", package }).Out;

    [Fact]
    public void Dpkg_packages_from_this_machines_status_have_distro_purls_files_and_licenses()
    {
        using var root = new TestRoot();
        root.Debian12();
        root.Write("var/lib/dpkg/status", HostStatus("libc6", "base-files", "zlib1g"));
        var arch = HostField("libc6", "Architecture");
        root.Write($"var/lib/dpkg/info/libc6:{arch}.list", File.ReadAllText($"/var/lib/dpkg/info/libc6:{arch}.list"));
        root.Write($"var/lib/dpkg/info/libc6:{arch}.md5sums", File.ReadAllText($"/var/lib/dpkg/info/libc6:{arch}.md5sums"));
        root.Write("usr/share/doc/zlib1g/copyright", File.ReadAllText("/usr/share/doc/zlib1g/copyright"));
        using var view = RootView.Directory(root.Path);
        var inv = Inventory.Of(view);

        Assert.Equal("debian-12", inv.Os!.Distro);
        Assert.Equal(new[] { "base-files", "libc6", "zlib1g" }, inv.Packages.Select(p => p.Name));
        var libc = inv.Packages.Single(p => p.Name == "libc6");
        var version = HostField("libc6", "Version");
        Assert.Equal($"pkg:deb/debian/libc6@{Uri.EscapeDataString(version).Replace("%3A", ":")}?arch={arch}&distro=debian-12&upstream=glibc", libc.Purl);
        Assert.Equal("glibc", libc.SourceName);
        // Its files: the .list less the directories in it, each with the MD5 of its .md5sums line.
        var libcSo = $"/lib/{(arch == "amd64" ? "x86_64" : "aarch64")}-linux-gnu/libc.so.6";
        var md5 = File.ReadAllLines($"/var/lib/dpkg/info/libc6:{arch}.md5sums").Single(l => l.EndsWith(" " + libcSo.TrimStart('/')))[..32];
        Assert.Contains(new PackageFile(libcSo, "MD5", md5), libc.Files);
        Assert.DoesNotContain(libc.Files, f => f.Path is "/lib" or "/usr" or "/usr/share/doc");
        Assert.Contains(libc.Files, f => f.Path == "/usr/share/doc/libc6/copyright");
        Assert.StartsWith("cpe:2.3:a:libc6:libc6:", libc.Cpes[0]);
        // zlib1g's copyright is DEP-5 with License: Zlib.
        Assert.Equal("Zlib", inv.Packages.Single(p => p.Name == "zlib1g").License);
    }

    [Fact]
    public void Dpkg_finds_every_package_installed_on_this_machine()
    {
        using var view = RootView.Directory("/");
        var found = new Catalogers.DpkgCataloger().Catalog(view, OsRelease.Read(view)).Select(p => $"{p.Name}:{p.Arch} {p.Version}").Order(StringComparer.Ordinal).ToList();
        var installed = TestRoot.Run("dpkg-query", new[] { "-W", "-f", "${db:Status-Status} ${Package}:${Architecture} ${Version}\n" }).Out
            .Split('\n').Where(l => l.StartsWith("installed ")).Select(l => l["installed ".Length..]).Order(StringComparer.Ordinal).ToList();
        Assert.True(installed.Count > 50);
        Assert.Equal(installed, found);
    }

    [Fact]
    public void Distroless_status_d_entries_are_packages()
    {
        using var root = new TestRoot();
        root.Debian12();
        root.Write("var/lib/dpkg/status.d/tzdata", "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\nMaintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>\n");
        root.Write("var/lib/dpkg/status.d/tzdata.md5sums", "d41d8cd98f00b204e9800998ecf8427e  usr/share/zoneinfo/UTC\n");
        using var view = RootView.Directory(root.Path);
        var p = Assert.Single(Inventory.Of(view).Packages);
        Assert.Equal("pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12", p.Purl);
    }

    [Fact]
    public void Apk_installed_db_gives_packages_with_files_origin_and_license()
    {
        using var root = new TestRoot();
        root.Write("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n");
        root.Write("lib/apk/db/installed",
            "C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:407210\nI:667648\nT:the musl c library (libc) implementation\nL:MIT\no:musl\nm:Timo Teräs <timo.teras@iki.fi>\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n" +
            "P:libcrypto3\nV:3.1.4-r5\nA:x86_64\nL:Apache-2.0\no:openssl\nF:usr/lib\nR:libcrypto.so.3\na:0:0:755\nZ:Q1" + Convert.ToBase64String(Sha1Of("libcrypto")) + "\n\n" +
            "P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\nF:bin\nR:busybox\n");
        using var view = RootView.Directory(root.Path);
        var inv = Inventory.Of(view);
        Assert.Equal(new[] { "busybox", "libcrypto3", "musl" }, inv.Packages.Select(p => p.Name));
        var crypto = inv.Packages.Single(p => p.Name == "libcrypto3");
        Assert.Equal("pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1&upstream=openssl", crypto.Purl);
        Assert.Equal("openssl", crypto.SourceName);
        // Z: is "Q1" and the base64 of the file's SHA-1.
        Assert.Equal(new[] { new PackageFile("/usr/lib/libcrypto.so.3", "SHA1", Convert.ToHexStringLower(Sha1Of("libcrypto"))) }, crypto.Files);
        Assert.Equal(new[] { "/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1" }, inv.Packages.Single(p => p.Name == "musl").Files.Select(f => f.Path));
    }

    static byte[] Sha1Of(string text) => System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Apk_files_without_a_checksum_have_no_digest()
    {
        using var root = new TestRoot();
        root.Write("lib/apk/db/installed", "P:x\nV:1-r0\nF:bin\nR:x\nZ:not-q1\n");
        using var view = RootView.Directory(root.Path);
        Assert.Equal(new PackageFile("/bin/x"), Assert.Single(Assert.Single(Inventory.Of(view).Packages).Files));
    }

    [Fact]
    public void Npm_python_and_dotnet_packages_are_found_anywhere_in_the_tree()
    {
        using var root = new TestRoot();
        root.Write("app/node_modules/lodash/package.json", "{\"name\":\"lodash\",\"version\":\"4.17.20\",\"license\":\"MIT\"}");
        root.Write("app/node_modules/@babel/core/package.json", "{\"name\":\"@babel/core\",\"version\":\"7.23.0\",\"license\":\"MIT\"}");
        // lodash's fp/package.json is a stub ({"main": ...}): no name or version, no package.
        root.Write("app/node_modules/lodash/fp/package.json", "{\"main\":\"../fp.js\"}");
        root.Write("app/node_modules/lodash/node_modules/minimist/package.json", "{\"name\":\"minimist\",\"version\":\"1.2.5\",\"license\":{\"type\":\"MIT\"}}");
        root.Write("usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\nLicense: BSD-3-Clause\nClassifier: License :: OSI Approved :: BSD License\n\nbody\n");
        root.Write("usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/RECORD", "jinja2/__init__.py,sha256=" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData("init"u8)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + ",100\nJinja2-3.1.2.dist-info/METADATA,,\n");
        root.Write("usr/lib/python3/dist-packages/PyYAML-6.0.egg-info/PKG-INFO", "Metadata-Version: 1.1\nName: PyYAML\nVersion: 6.0\nClassifier: License :: OSI Approved :: MIT License\n");
        root.Write("srv/app/App.deps.json", "{\"libraries\":{\"App/1.0.0\":{\"type\":\"project\"},\"Newtonsoft.Json/13.0.1\":{\"type\":\"package\",\"sha512\":\"x\"}}}");
        using var view = RootView.Directory(root.Path);
        var purls = Inventory.Of(view).Packages.Select(p => p.Purl).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(new[]
        {
            "pkg:npm/%40babel/core@7.23.0", "pkg:npm/lodash@4.17.20", "pkg:npm/minimist@1.2.5",
            "pkg:nuget/Newtonsoft.Json@13.0.1", "pkg:pypi/jinja2@3.1.2", "pkg:pypi/pyyaml@6.0",
        }, purls);
        var jinja = Inventory.Of(view).Packages.Single(p => p.Name == "Jinja2");
        Assert.Equal("BSD-3-Clause", jinja.License);
        // RECORD's digests are urlsafe base64 without padding.
        Assert.Contains(new PackageFile("/usr/lib/python3/dist-packages/jinja2/__init__.py", "SHA256", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("init"u8))), jinja.Files);
        Assert.Contains(new PackageFile("/usr/lib/python3/dist-packages/Jinja2-3.1.2.dist-info/METADATA"), jinja.Files);
        Assert.Equal("MIT", Inventory.Of(view).Packages.Single(p => p.Name == "PyYAML").License);
    }

    [Fact]
    public void Symlinks_in_the_root_never_reach_the_host()
    {
        using var root = new TestRoot();
        var secret = Path.Combine(Path.GetTempPath(), "berth-supply-host-os-release-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(secret, "ID=host-secret\n");
        try
        {
            root.Symlink("etc/os-release", "../../../../../../../../.." + secret);
            root.Symlink("var/lib/dpkg/status", secret);
            root.Symlink("app/node_modules/x", "/");
            using var view = RootView.Directory(root.Path);
            var inv = Inventory.Of(view);
            Assert.Null(inv.Os);
            Assert.Empty(inv.Packages);
        }
        finally
        {
            File.Delete(secret);
        }
    }

    [Fact]
    public void Debian_copyright_licenses_become_spdx_expressions()
    {
        Assert.Equal("GPL-2.0-or-later AND BSD-3-Clause",
            Catalogers.Licenses.FromDebianCopyright("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: x\nLicense: GPL-2+\n\nFiles: lib/*\nLicense: BSD-3-clause\n text\n\nLicense: GPL-2+\n text\n"));
        Assert.Null(Catalogers.Licenses.FromDebianCopyright("This is free-form.\n"));
        Assert.Equal("(MIT OR Apache-2.0)", Catalogers.Licenses.Expression("(MIT OR Apache-2.0)"));
        Assert.Equal("MIT AND GPL-2.0-or-later", Catalogers.Licenses.Expression("MIT GPL-2.0-or-later"));
    }

    [Fact]
    public void Purls_round_trip_and_sort_their_qualifiers()
    {
        var s = PackageUrl.Build("deb", "debian", "libssl3", "3.0.11-1~deb12u2", ("distro", "debian-12"), ("arch", "amd64"));
        Assert.Equal("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", s);
        var p = PackageUrl.Parse("pkg:npm/%40babel/core@7.23.0");
        Assert.Equal(("npm", "@babel", "core", "7.23.0"), (p.Type, p.Namespace, p.Name, p.Version));
    }
}
