using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>
/// `berth build` against Debian's buildah: the same Containerfiles and contexts built by both
/// (buildah with a private --root/--runroot, vfs storage, chroot isolation), both images run by
/// `berth run`, and the rootfs trees umoci unpacks from them equal — file list, types, modes,
/// owners, contents, link targets, xattrs (mtimes are each build's own).
/// </summary>
public sealed class BuildahComparisonTests : IDisposable
{
    const string Base = "localhost/test/busybox";
    readonly EngineSandbox _e = new();
    readonly string _buildahRoot, _buildahRunRoot;

    public BuildahComparisonTests()
    {
        _buildahRoot = Path.Combine(_e.Dir, "buildah-root");
        _buildahRunRoot = Path.Combine(_e.Dir, "buildah-runroot");
        _e.Run("image", "tag", EngineSandbox.Image, Base).Ok();
        // The same base bytes for buildah: copied out of Berth's store and pulled into buildah's.
        var baseOci = Path.Combine(_e.Dir, "base-oci");
        _e.Run("image", "copy", EngineSandbox.Image, $"oci:{baseOci}:busybox").Ok();
        // skopeo names it in buildah's store directly (buildah pull would name it after the temp path).
        Commands.Exec("skopeo", "copy", "-q", $"oci:{baseOci}:busybox", $"containers-storage:[vfs@{_buildahRoot}+{_buildahRunRoot}]{Base}").Ok();
    }

    public void Dispose()
    {
        try
        {
            Buildah("rm", "-a");
            Buildah("rmi", "-a", "-f");
        }
        finally
        {
            _e.Dispose();
        }
    }

    Result Buildah(params string[] args) =>
        Commands.Exec("buildah", new[] { "--root", _buildahRoot, "--runroot", _buildahRunRoot, "--storage-driver", "vfs" }.Concat(args).ToArray());

    string Context(string name, string containerfile, params (string Path, string Content)[] files)
    {
        var ctx = Path.Combine(_e.Dir, "ctx-" + name);
        Directory.CreateDirectory(ctx);
        File.WriteAllText(Path.Combine(ctx, "Containerfile"), containerfile);
        foreach (var (path, content) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(ctx, path))!);
            File.WriteAllText(Path.Combine(ctx, path), content);
        }
        return ctx;
    }

    /// <summary>Builds <paramref name="ctx"/> with both; returns the two unpacked rootfs directories and the names each image runs under in Berth's store.</summary>
    (string BerthRootfs, string BuildahRootfs, string BerthImage, string BuildahImage) BuildBoth(string name, string ctx)
    {
        var berthImage = $"localhost/cmp/{name}:berth";
        _e.Run("build", "-t", berthImage, ctx).Ok();
        Buildah("bud", "-q", "--isolation", "chroot", "--pull-never", "-t", $"localhost/cmp/{name}", ctx).Ok();

        var berthOci = Path.Combine(_e.Dir, $"{name}-berth-oci");
        var buildahOci = Path.Combine(_e.Dir, $"{name}-buildah-oci");
        _e.Run("image", "copy", berthImage, $"oci:{berthOci}:img").Ok();
        Buildah("push", "-q", $"localhost/cmp/{name}", $"oci:{buildahOci}:img").Ok();
        // buildah's image runs under Berth too: the peer's output is an image Berth takes.
        var buildahImage = $"localhost/cmp/{name}:buildah";
        _e.Run("image", "copy", $"oci:{buildahOci}:img", buildahImage).Ok();

        var berthBundle = Path.Combine(_e.Dir, $"{name}-berth-bundle");
        var buildahBundle = Path.Combine(_e.Dir, $"{name}-buildah-bundle");
        Commands.Exec("umoci", "unpack", "--image", $"{berthOci}:img", berthBundle).Ok();
        Commands.Exec("umoci", "unpack", "--image", $"{buildahOci}:img", buildahBundle).Ok();
        return (Path.Combine(berthBundle, "rootfs"), Path.Combine(buildahBundle, "rootfs"), berthImage, buildahImage);
    }

    [Fact]
    public void A_scratch_stage_copying_from_a_busybox_stage_is_the_same_tree_and_both_images_run()
    {
        var ctx = Context("multi", """
            FROM localhost/test/busybox AS tools
            RUN mkdir -p /out/deep && echo made > /out/made && echo deeper > /out/deep/file && chmod 0750 /out/deep && ln -s made /out/link
            FROM localhost/test/busybox AS unused
            RUN exit 3
            FROM scratch
            COPY --from=tools /bin/busybox /bin/busybox
            COPY --from=tools /out /out
            ENTRYPOINT ["/bin/busybox"]
            CMD ["cat", "/out/made", "/out/link", "/out/deep/file"]
            """);
        var (berthRoot, buildahRoot, berthImage, buildahImage) = BuildBoth("multi", ctx);
        AssertSameTree(buildahRoot, berthRoot);
        foreach (var image in new[] { berthImage, buildahImage })
            Assert.Equal("made\nmade\ndeeper\n", _e.Run("run", "--rm", image).Ok().Stdout);
    }

    [Fact]
    public void Copy_flags_globs_dockerignore_a_local_tar_and_the_config_instructions_build_as_buildah_builds_them()
    {
        var ctx = Context("copy", """
            FROM localhost/test/busybox
            ENV APP=/srv/app GREETING="hello there"
            WORKDIR $APP
            COPY --chown=1000:1000 --chmod=0640 conf/app.conf ./conf/
            COPY *.txt texts/
            COPY dir/ /data/dir/
            ADD bundle.tar /opt/
            COPY --chown=65534:65534 dir /owned
            RUN echo "$GREETING" > greeting && mkdir -p /var/empty && chown 1000:1000 greeting
            USER 1000
            LABEL org.example.kind=compare
            EXPOSE 8080/tcp
            CMD ["sh", "-c", "cat greeting conf/app.conf texts/a.txt /opt/inside/packed; id -u; pwd"]
            """,
            ("conf/app.conf", "port=8080\n"), ("a.txt", "A\n"), ("b.txt", "B\n"), ("skip.txt", "ignored\n"),
            ("dir/one", "1\n"), ("dir/sub/two", "2\n"), ("dir/sub/cache.log", "log\n"), ("dir/keep.log", "kept\n"),
            (".dockerignore", "skip.txt\n**/*.log\n!dir/keep.log\n"));
        File.SetUnixFileMode(Path.Combine(ctx, "dir/one"), (UnixFileMode)0x1ed);
        File.CreateSymbolicLink(Path.Combine(ctx, "dir/link"), "one");
        // A local tar: ADD extracts it.
        var packed = Path.Combine(_e.Dir, "packed");
        Directory.CreateDirectory(Path.Combine(packed, "inside"));
        File.WriteAllText(Path.Combine(packed, "inside/packed"), "from the tar\n");
        Commands.Exec("tar", "-C", packed, "--owner=123", "--group=456", "-cf", Path.Combine(ctx, "bundle.tar"), "inside").Ok();

        var (berthRoot, buildahRoot, berthImage, buildahImage) = BuildBoth("copy", ctx);
        AssertSameTree(buildahRoot, berthRoot);
        Assert.False(File.Exists(Path.Combine(berthRoot, "srv/app/texts/skip.txt")));
        Assert.False(File.Exists(Path.Combine(berthRoot, "data/dir/sub/cache.log")));
        Assert.True(File.Exists(Path.Combine(berthRoot, "data/dir/keep.log")));
        foreach (var image in new[] { berthImage, buildahImage })
            Assert.Equal("hello there\nport=8080\nA\nfrom the tar\n1000\n/srv/app\n", _e.Run("run", "--rm", image).Ok().Stdout);

        // And the config says what buildah's says.
        var berthConfig = Config(berthImage);
        var buildahConfig = Config(buildahImage);
        foreach (var field in new[] { "User", "WorkingDir", "Cmd", "Env", "ExposedPorts", "Entrypoint" })
            Assert.Equal(Field(buildahConfig, field), Field(berthConfig, field));
        // buildah labels every image with its own version; the Containerfile's labels are the same.
        var buildahLabels = buildahConfig.GetProperty("Labels").EnumerateObject().Where(p => p.Name != "io.buildah.version").ToDictionary(p => p.Name, p => p.Value.GetString());
        var berthLabels = berthConfig.GetProperty("Labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(buildahLabels, berthLabels);
    }

    JsonElement Config(string image) => JsonDocument.Parse(_e.Run("image", "inspect", "--config", image).Ok().Stdout).RootElement.GetProperty("config");

    static string Field(JsonElement config, string name) => config.TryGetProperty(name, out var v) ? v.GetRawText() : "(absent)";

    [Fact]
    public void Two_builds_of_one_context_in_two_places_at_two_times_are_one_manifest_with_a_timestamp_and_not_without()
    {
        const string file = """
            FROM localhost/test/busybox
            COPY app/ /app/
            RUN echo built > /app/stamp && touch /app/now
            LABEL stage=repro
            CMD ["cat", "/app/stamp"]
            """;
        var first = Context("repro-a", file, ("app/one", "1\n"), ("app/sub/two", "2\n"));
        var second = Context("elsewhere/repro-b", file, ("app/one", "1\n"), ("app/sub/two", "2\n"));
        // "At different times": the copies' files carry different mtimes, both after T.
        foreach (var (dir, when) in new[] { (first, DateTime.UtcNow.AddMinutes(-5)), (second, DateTime.UtcNow) })
            foreach (var f in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
                File.SetLastWriteTimeUtc(f, when);

        string Manifest(string name, string ctx, params string[] flags)
        {
            _e.Run(new[] { "build", "--no-cache", "-t", name }.Concat(flags).Append(ctx).ToArray()).Ok();
            return JsonDocument.Parse(_e.Run("image", "inspect", name).Ok().Stdout).RootElement.GetProperty("digest").GetString()!;
        }
        var a = Manifest("localhost/repro:a", first, "--timestamp", "1700000000");
        var b = Manifest("localhost/repro:b", second, "--timestamp", "1700000000");
        Assert.Equal(a, b);
        var config = JsonDocument.Parse(_e.Run("image", "inspect", "--config", "localhost/repro:a").Ok().Stdout).RootElement;
        Assert.Equal("2023-11-14T22:13:20Z", config.GetProperty("created").GetString());

        var c = Manifest("localhost/repro:c", first);
        var d = Manifest("localhost/repro:d", second);
        Assert.NotEqual(c, d);
        Assert.NotEqual(a, c);
        Assert.Equal("built\n", _e.Run("run", "--rm", "localhost/repro:a").Ok().Stdout);
    }

    // ---- trees ----------------------------------------------------------------------------

    static readonly string EmptyFile = Convert.ToHexStringLower(SHA256.HashData(Array.Empty<byte>()));

    static void AssertSameTree(string expected, string actual)
    {
        var want = Tree(expected);
        var got = Tree(actual);
        // buildah 1.28 leaves the empty files it bind-mounted over in a RUN step's layer; docker (BuildKit)
        // and Berth leave them out, as the step did not write them.
        foreach (var stub in new[] { "/etc/hostname", "/etc/hosts", "/etc/resolv.conf" })
            if (!got.ContainsKey(stub) && want.TryGetValue(stub, out var w) && w.EndsWith(EmptyFile, StringComparison.Ordinal)) want.Remove(stub);
        var missing = want.Keys.Except(got.Keys).ToList();
        var extra = got.Keys.Except(want.Keys).ToList();
        var differ = want.Keys.Intersect(got.Keys).Where(k => want[k] != got[k]).Select(k => $"{k}: buildah {want[k]} / berth {got[k]}").ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0 && differ.Count == 0,
            $"rootfs trees differ\nonly in buildah's: {string.Join(", ", missing)}\nonly in berth's: {string.Join(", ", extra)}\ndiffering:\n{string.Join('\n', differ)}");
    }

    /// <summary>Each path of a rootfs (not following links) → type, mode, owner, content digest or link target, xattrs.</summary>
    static SortedDictionary<string, string> Tree(string root)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(string dir, string rel)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir).OrderBy(p => p, StringComparer.Ordinal))
            {
                var name = rel + "/" + Path.GetFileName(path);
                var st = Linux.Files.Stat(null, path, follow: false);
                var what = new StringBuilder($"{Convert.ToString(st.Mode, 8)} {st.Uid}:{st.Gid}");
                if (st.IsRegular) what.Append(' ').Append(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
                else if (st.IsSymlink) what.Append(" -> ").Append(new FileInfo(path).LinkTarget);
                else if (!st.IsDirectory) what.Append($" dev {st.RdevMajor}:{st.RdevMinor}");
                foreach (var x in Xattrs(path)) what.Append(' ').Append(x);
                tree[name] = what.ToString();
                if (st.IsDirectory) Walk(path, name);
            }
        }
        tree["/"] = $"{Convert.ToString(Linux.Files.Stat(null, root, follow: false).Mode, 8)}";
        Walk(root, "");
        return tree;
    }

    [DllImport("libc", SetLastError = true)]
    static extern nint llistxattr(string path, byte[]? list, nint size);

    [DllImport("libc", SetLastError = true)]
    static extern nint lgetxattr(string path, string name, byte[]? value, nint size);

    static IEnumerable<string> Xattrs(string path)
    {
        var size = llistxattr(path, null, 0);
        if (size <= 0) yield break;
        var list = new byte[size];
        size = llistxattr(path, list, size);
        foreach (var name in Encoding.UTF8.GetString(list, 0, (int)Math.Max(size, 0)).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal))
        {
            var n = lgetxattr(path, name, null, 0);
            var value = new byte[Math.Max(n, 0)];
            if (n > 0) lgetxattr(path, name, value, n);
            yield return $"{name}={Convert.ToHexStringLower(value)}";
        }
    }
}
