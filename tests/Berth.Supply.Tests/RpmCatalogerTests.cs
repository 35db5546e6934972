using System.Text;
using Berth.Supply.Catalogers;
using Berth.Supply.Catalogers.Rpm;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;
using Berth.Supply.Sbom;
using Xunit;

namespace Berth.Supply.Tests;

public class RpmCatalogerTests
{
    /// <summary>
    /// A root whose rpmdb.sqlite rpm itself wrote: rpmbuild makes a package of 300 files (a header
    /// larger than a page: overflow pages) and 40 small subpackages (more rows than a leaf page holds:
    /// an interior page), and `rpm -i --justdb` records them.
    /// </summary>
    static TestRoot RpmRoot(string dbDir = "var/lib/rpm")
    {
        var root = new TestRoot();
        root.Write("etc/os-release", "NAME=\"AlmaLinux\"\nVERSION_ID=\"9.3\"\nID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nPRETTY_NAME=\"AlmaLinux 9.3\"\n");
        var work = Directory.CreateTempSubdirectory("berth-rpm-build-").FullName;
        try
        {
            var spec = new StringBuilder("Name: berthtest\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 2\nSummary: t\nLicense: MIT and (BSD-3-Clause or GPL-2.0-or-later)\nVendor: Berth Tests\nBuildArch: noarch\n%description\nt\n");
            spec.Append("%install\nmkdir -p %{buildroot}/usr/share/berthtest/many\necho hello > %{buildroot}/usr/share/berthtest/hello.txt\n");
            spec.Append("for i in $(seq 1 300); do echo $i > %{buildroot}/usr/share/berthtest/many/file-$i.txt; done\n");
            for (int i = 1; i <= 40; i++) spec.Append($"echo {i} > %{{buildroot}}/usr/share/sub{i}.txt\n");
            spec.Append("%files\n/usr/share/berthtest\n");
            for (int i = 1; i <= 40; i++) spec.Append($"%package -n berthsub{i}\nSummary: s\nLicense: Apache-2.0\n%description -n berthsub{i}\ns\n%files -n berthsub{i}\n/usr/share/sub{i}.txt\n");
            File.WriteAllText(Path.Combine(work, "t.spec"), spec.ToString());
            var build = TestRoot.Run("rpmbuild", new[] { "--define", $"_topdir {work}/top", "--define", "_build_id_links none", "-bb", Path.Combine(work, "t.spec") });
            Assert.True(build.Code == 0, "rpmbuild (install-deps.sh test installs rpm): " + build.Err[^Math.Min(build.Err.Length, 2000)..]);
            var rpms = Directory.GetFiles(Path.Combine(work, "top", "RPMS"), "*.rpm", SearchOption.AllDirectories);
            var db = Path.Combine(root.Path, dbDir);
            Directory.CreateDirectory(db);
            Assert.Equal(0, TestRoot.Run("rpm", new[] { "--dbpath", db, "--initdb" }).Code);
            var install = TestRoot.Run("rpm", new[] { "--dbpath", db, "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos" }.Concat(rpms));
            Assert.True(install.Code == 0, install.Err);
            return root;
        }
        catch
        {
            root.Dispose();
            throw;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    static string Query(string db, string format) => TestRoot.Run("rpm", new[] { "--dbpath", db, "-qa", "--qf", format }).Out;

    [Fact]
    public void Rpm_packages_are_what_rpm_itself_lists_with_their_files_and_digests()
    {
        using var root = RpmRoot();
        var db = Path.Combine(root.Path, "var/lib/rpm");
        using var view = RootView.Directory(root.Path);
        var inv = Inventory.Of(view);
        var rpm = inv.Packages.Where(p => p.Type == "rpm").ToList();
        Assert.Equal(41, rpm.Count);

        // Names, versions and architectures, as rpm -qa says.
        var expected = Query(db, "%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}\\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        Assert.Equal(expected, rpm.Select(p => $"{p.Name} {p.Version} {p.Arch} {(p.Name == "berthtest" ? "MIT and (BSD-3-Clause or GPL-2.0-or-later)" : "Apache-2.0")}").Order(StringComparer.Ordinal));
        var main = rpm.Single(p => p.Name == "berthtest");
        Assert.Equal("pkg:rpm/almalinux/berthtest@1.2.3-4.el9?arch=noarch&distro=almalinux-9.3&epoch=2", main.Purl);
        Assert.Equal("MIT AND (BSD-3-Clause OR GPL-2.0-or-later)", main.License);
        Assert.Equal("Berth Tests", main.Supplier);

        // Files: rpm's list less its directories, each with the digest rpm recorded.
        var files = TestRoot.Run("rpm", new[] { "--dbpath", db, "-q", "berthtest", "--qf", "[%{FILENAMES} %{FILEMODES:perms} %{FILEDIGESTS}\\n]" }).Out
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).Where(f => !f[1].StartsWith('d')).Select(f => new PackageFile(f[0], "SHA256", f[2])).ToList();
        Assert.Equal(301, files.Count);
        Assert.Equal(files.OrderBy(f => f.Path, StringComparer.Ordinal), main.Files.OrderBy(f => f.Path, StringComparer.Ordinal));
        Assert.Contains(main.Files, f => f.Path == "/usr/share/berthtest/many/file-300.txt");
    }

    [Fact]
    public void Rpm_database_under_usr_lib_sysimage_is_read_too()
    {
        using var root = RpmRoot("usr/lib/sysimage/rpm");
        using var view = RootView.Directory(root.Path);
        Assert.Equal(41, Inventory.Of(view).Packages.Count(p => p.Type == "rpm"));
    }

    [Fact]
    public void Rpm_packages_are_matched_with_almalinux_advisories_in_rpm_order()
    {
        var purl = PackageUrl.Parse("pkg:rpm/almalinux/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=almalinux-9.3&epoch=1&upstream=openssl");
        var key = Vulnerabilities.Ecosystems.Of(purl);
        Assert.Equal(("AlmaLinux:9", "openssl-libs", "1:3.0.7-24.el9"), key);
        // ALSA-2024:xxxx-shaped range: fixed in 1:3.0.7-27.el9.
        Assert.True(Versions.VersionOrders.For("AlmaLinux:9").Compare("1:3.0.7-24.el9", "1:3.0.7-27.el9") < 0);
    }

    [Fact]
    public void The_sqlite_reader_returns_every_row_sqlite_wrote_overflow_and_interior_pages_included()
    {
        var dir = Directory.CreateTempSubdirectory("berth-sqlite-").FullName;
        try
        {
            var path = Path.Combine(dir, "t.db");
            // 600 rows of blobs from 0 to ~24 KiB (overflow chains of several pages) and a text column; a 1 KiB page size makes the tree deep.
            var sql = "PRAGMA page_size=1024; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL, note TEXT);" +
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600) INSERT INTO Packages (blob, note) SELECT randomblob((i * 397) % 24000), 'row ' || i FROM n;" +
                "DELETE FROM Packages WHERE hnum % 7 = 0;";
            var made = TestRoot.Run("sqlite3", new[] { path, sql });
            Assert.True(made.Code == 0, made.Err);
            var expected = TestRoot.Run("sqlite3", new[] { path, "SELECT hnum || ' ' || hex(blob) || ' ' || note FROM Packages ORDER BY hnum" }).Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var file = new SqliteFile(File.ReadAllBytes(path), path);
            var rows = file.Rows(file.TableRoot("Packages")!.Value);
            Assert.Equal(expected, rows.Select(r => $"{r.RowId} {Convert.ToHexString((byte[])r.Columns[1]!)} {r.Columns[2]}"));
            Assert.Null(file.TableRoot("Missing"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_damaged_rpm_database_is_one_clear_error()
    {
        using var root = RpmRoot();
        var db = Path.Combine(root.Path, "var/lib/rpm/rpmdb.sqlite");
        var bytes = File.ReadAllBytes(db);
        // Cut it short: pages the tree points at are gone.
        File.WriteAllBytes(db, bytes[..(bytes.Length / 3)]);
        using var view = RootView.Directory(root.Path);
        var e = Assert.Throws<SupplyException>(() => Inventory.Of(view));
        Assert.StartsWith("/var/lib/rpm/rpmdb.sqlite: ", e.Message);
        File.WriteAllBytes(db, "not a database"u8.ToArray());
        Assert.Contains("not an SQLite 3 database", Assert.Throws<SupplyException>(() => Inventory.Of(view)).Message);
    }
}
