using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`berth commit`: a container's changes as one more layer of its image, the config changed by --change, checked by skopeo and umoci.</summary>
public sealed class CommitTests : IDisposable
{
    readonly EngineSandbox _e = new();
    const string Image = EngineSandbox.Image;

    public void Dispose() => _e.Dispose();

    static readonly Regex ImageId = new("^sha256:[0-9a-f]{64}\n$");

    [Fact]
    public void A_written_file_is_in_the_image_a_deleted_one_stays_deleted_and_CMD_becomes_the_default()
    {
        _e.Run("run", "--name", "c1", "--read-only=false", Image, "sh", "-c",
            "echo hello > /data/new.txt && chmod 0640 /data/new.txt && rm /data/seed.txt && ln -s new.txt /data/link && mkdir -p /opt/app").Ok();
        var commit = _e.Run("commit", "-m", "a message", "-a", "Ann <ann@example.org>",
            "-c", "CMD [\"cat\", \"/data/new.txt\"]", "-c", "ENV K=V", "-c", "WORKDIR /opt/app", "-c", "LABEL a=b", "-c", "EXPOSE 8080",
            "c1", "test/committed:1").Ok();
        Assert.Matches(ImageId, commit.Stdout);

        Assert.Equal("hello\n", _e.Run("run", "--rm", "test/committed:1", "cat", "/data/new.txt").Ok().Stdout);
        Assert.Equal("hello\n", _e.Run("run", "--rm", "test/committed:1").Ok().Stdout);
        var inside = _e.Run("run", "--rm", "test/committed:1", "sh", "-c",
            "test -e /data/seed.txt && echo seed-present || echo seed-gone; readlink /data/link; stat -c %a /data/new.txt; echo $K; pwd").Ok().Stdout;
        Assert.Equal("seed-gone\nnew.txt\n640\nV\n/opt/app\n", inside);
    }

    [Fact]
    public void The_image_is_one_layer_more_with_history_and_config_as_skopeo_reads_them()
    {
        _e.Run("run", "--name", "c1", "--read-only=false", Image, "sh", "-c", "echo x > /root/x").Ok();
        var id = _e.Run("commit", "-m", "why", "-a", "me", "-c", "EXPOSE 8080", "-c", "LABEL k=v", "-c", "USER nobody", "c1", "test/c").Ok().Stdout.Trim();
        var oci = Path.Combine(_e.Dir, "oci");
        _e.Run("image", "copy", "test/c", $"oci:{oci}:c").Ok();

        var config = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", "--config", $"oci:{oci}:c").Ok().Stdout).RootElement;
        var layers = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", $"oci:{oci}:c").Ok().Stdout).RootElement.GetProperty("Layers");
        Assert.Equal(2, layers.GetArrayLength());
        Assert.Equal(2, config.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
        var last = config.GetProperty("history").EnumerateArray().Last();
        Assert.Equal("berth commit", last.GetProperty("created_by").GetString());
        Assert.Equal("why", last.GetProperty("comment").GetString());
        Assert.Equal("me", last.GetProperty("author").GetString());
        Assert.Equal("me", config.GetProperty("author").GetString());
        var c = config.GetProperty("config");
        Assert.Equal("nobody", c.GetProperty("User").GetString());
        Assert.Equal("v", c.GetProperty("Labels").GetProperty("k").GetString());
        Assert.True(c.GetProperty("ExposedPorts").TryGetProperty("8080/tcp", out _));
        // The id printed is the config's digest, as `podman images --no-trunc` shows it.
        var manifest = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", "--raw", $"oci:{oci}:c").Ok().Stdout).RootElement;
        Assert.Equal(id, manifest.GetProperty("config").GetProperty("digest").GetString());

        // The same changes make the same layer: entries sorted, no time but the files' own.
        _e.Run("commit", "c1", "test/again").Ok();
        _e.Run("image", "copy", "test/again", $"oci:{oci}:again").Ok();
        var again = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", $"oci:{oci}:again").Ok().Stdout).RootElement.GetProperty("Layers");
        Assert.Equal(layers[1].GetString(), again[1].GetString());
    }

    [Fact]
    public void An_opaque_directory_and_a_whiteout_are_written_as_the_spec_says_and_umoci_unpacks_the_same_tree()
    {
        _e.Run("run", "--name", "c1", "--read-only=false", Image, "sh", "-c",
            "rm -rf /data && mkdir /data && echo only > /data/only.txt && rm /etc/group && echo a > /root/a && ln /root/a /root/b").Ok();
        _e.Run("commit", "c1", "test/opaque").Ok();
        var oci = Path.Combine(_e.Dir, "oci");
        _e.Run("image", "copy", "test/opaque", $"oci:{oci}:o").Ok();

        // The new layer, as a tar: whiteout and opaque marker by name, sorted, a hard link.
        var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(oci, "index.json"))).RootElement;
        var manifestDigest = index.GetProperty("manifests")[0].GetProperty("digest").GetString()!;
        var manifest = JsonDocument.Parse(File.ReadAllText(Blob(oci, manifestDigest))).RootElement;
        var layer = manifest.GetProperty("layers").EnumerateArray().Last().GetProperty("digest").GetString()!;
        var names = Commands.Exec("tar", "-tzf", Blob(oci, layer)).Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("data/.wh..wh..opq", names);
        Assert.Contains("data/only.txt", names);
        Assert.Contains("etc/.wh.group", names);
        Assert.DoesNotContain(names, n => n.Contains("hosts") || n.Contains("resolv.conf") || n.Contains("hostname"));
        var verbose = Commands.Exec("tar", "-tvzf", Blob(oci, layer)).Ok().Stdout;
        Assert.Contains("root/b link to root/a", verbose);

        var byUmoci = Path.Combine(_e.Dir, "umoci");
        Commands.Exec("umoci", "unpack", "--image", $"{oci}:o", byUmoci).Ok();
        var byBerth = Path.Combine(_e.Dir, "berth");
        _e.Run("image", "unpack", "test/opaque", byBerth).Ok();
        var tree = Tree(Path.Combine(byBerth, "rootfs"));
        Assert.Equal(Tree(Path.Combine(byUmoci, "rootfs")), tree);
        Assert.Contains("data/only.txt", tree);
        Assert.DoesNotContain("data/seed.txt", tree);
        Assert.DoesNotContain("etc/group", tree);
        Assert.Contains("etc/passwd", tree);

        Assert.Equal("only.txt\n", _e.Run("run", "--rm", "test/opaque", "ls", "/data").Ok().Stdout);
    }

    [Fact]
    public void A_running_container_is_paused_while_read_and_runs_on_after()
    {
        _e.Run("run", "-d", "--name", "live", "--read-only=false", Image, "sh", "-c", "echo live > /root/live.txt; exec sleep 1000").Ok();
        EngineSandbox.Eventually(() => _e.Run("exec", "live", "cat", "/root/live.txt").ExitCode == 0, "the file written");
        Assert.Matches(ImageId, _e.Run("commit", "live", "test/live").Ok().Stdout);
        Assert.Contains("Up", _e.Run("ps", "--format", "{{.Status}}").Ok().Stdout);
        Assert.DoesNotContain("Paused", _e.Run("ps", "--format", "{{.Status}}").Ok().Stdout);
        Assert.Equal("live\n", _e.Run("run", "--rm", "test/live", "cat", "/root/live.txt").Ok().Stdout);
        Assert.Matches(ImageId, _e.Run("commit", "--pause=false", "live", "test/live2").Ok().Stdout);
    }

    [Fact]
    public void An_unknown_container_or_a_bad_change_is_one_line_exit_125_and_nothing_stored()
    {
        _e.Run("run", "--name", "c1", "--read-only=false", Image, "sh", "-c", "echo x > /root/x").Ok();
        var before = Blobs();
        var images = _e.Run("images").Ok().Stdout;
        foreach (var args in new[]
        {
            new[] { "commit", "no-such-container", "test/x" },
            new[] { "commit", "-c", "FROB x", "c1", "test/x" },
            new[] { "commit", "-c", "CMD [\"unterminated", "c1", "test/x" },
            new[] { "commit", "-c", "EXPOSE 99999", "c1", "test/x" },
        })
        {
            var r = _e.Run(args);
            Assert.Equal(125, r.ExitCode);
            Assert.Single(r.Stderr.Trim().Split('\n'));
            Assert.Empty(r.Stdout);
        }
        Assert.Equal(before, Blobs());
        Assert.Equal(images, _e.Run("images").Ok().Stdout);
    }

    [Fact]
    public void A_shell_form_CMD_and_ENTRYPOINT_are_run_by_sh()
    {
        _e.Run("run", "--name", "c1", Image, "true").Ok();
        _e.Run("commit", "-c", "ENTRYPOINT [\"/bin/echo\", \"e\"]", "-c", "CMD [\"c\"]", "c1", "test/ep").Ok();
        Assert.Equal("e c\n", _e.Run("run", "--rm", "test/ep").Ok().Stdout);
        _e.Run("commit", "-c", "CMD echo shell $((1+1))", "c1", "test/shell").Ok();
        Assert.Equal("shell 2\n", _e.Run("run", "--rm", "test/shell").Ok().Stdout);
    }

    [Fact]
    public void Without_a_name_the_image_is_named_after_its_id()
    {
        _e.Run("run", "--name", "c1", "--read-only=false", Image, "sh", "-c", "echo unnamed > /root/u").Ok();
        var id = _e.Run("commit", "c1").Ok().Stdout.Trim();
        var name = $"localhost/commit-{id["sha256:".Length..][..12]}";
        Assert.Contains(name + ":latest", _e.Run("images").Ok().Stdout);
        Assert.Equal("unnamed\n", _e.Run("run", "--rm", name, "cat", "/root/u").Ok().Stdout);
    }

    string[] Blobs()
    {
        var dir = Path.Combine(_e.Store, "images", "blobs", "sha256");
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Select(f => Path.GetFileName(f)).OrderBy(n => n, StringComparer.Ordinal).ToArray() : Array.Empty<string>();
    }

    static string Blob(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);

    /// <summary>Every path under a root with its type, mode, owner and (for files) content, for comparing two unpackings.</summary>
    static string Tree(string root)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var p in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).OrderBy(p => p, StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(root, p);
            var info = new FileInfo(p);
            if (info.LinkTarget is { } target) sb.Append($"{rel} -> {target}\n");
            else if (Directory.Exists(p)) sb.Append($"{rel}/ {info.UnixFileMode}\n");
            else sb.Append($"{rel} {info.UnixFileMode} {info.Length} {(info.Length < 4096 ? File.ReadAllText(p) : "")}\n");
        }
        return sb.ToString();
    }
}

/// <summary>The changeset writer on an upper directory made by hand: what overlayfs leaves there, as the image-spec wants it in a tar.</summary>
public sealed class CommitChangesetTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-changeset-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Whiteouts_opaque_dirs_xattrs_links_and_order_are_written_as_the_spec_says()
    {
        var upper = Path.Combine(_dir, "upper");
        Directory.CreateDirectory(Path.Combine(upper, "op", "sub"));
        File.WriteAllText(Path.Combine(upper, "op", "sub", "f"), "in opaque\n");
        File.WriteAllText(Path.Combine(upper, "b.txt"), "bee\n");
        File.SetUnixFileMode(Path.Combine(upper, "b.txt"), (UnixFileMode)0x1e0); // 0740
        Commands.Exec("ln", Path.Combine(upper, "b.txt"), Path.Combine(upper, "a-link")).Ok();
        Commands.Exec("mknod", Path.Combine(upper, "gone"), "c", "0", "0").Ok();
        Commands.Exec("mkfifo", Path.Combine(upper, "fifo")).Ok();
        File.CreateSymbolicLink(Path.Combine(upper, "sym"), "b.txt");
        Commands.Exec("setfattr", "-n", "trusted.overlay.opaque", "-v", "y", Path.Combine(upper, "op")).Ok();
        Commands.Exec("setfattr", "-n", "trusted.overlay.origin", "-v", "0x00", Path.Combine(upper, "b.txt")).Ok();
        Commands.Exec("setfattr", "-n", "user.note", "-v", "kept", Path.Combine(upper, "b.txt")).Ok();
        Commands.Exec("chown", "1234:5678", Path.Combine(upper, "b.txt")).Ok();
        File.SetLastWriteTimeUtc(Path.Combine(upper, "b.txt"), new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc));

        var tar = new MemoryStream();
        Images.Layers.Changeset.Write(upper, tar);
        tar.Position = 0;
        var entries = new List<System.Formats.Tar.TarEntry>();
        using (var reader = new System.Formats.Tar.TarReader(tar))
            while (reader.GetNextEntry(copyData: true) is { } e) entries.Add(e);

        Assert.Equal(new[] { "a-link", "b.txt", "fifo", ".wh.gone", "op/", "op/.wh..wh..opq", "op/sub/", "op/sub/f", "sym" }, entries.Select(e => e.Name));
        var b = entries.Single(e => e.Name == "b.txt");
        var link = entries.Single(e => e.Name == "a-link");
        // The first name of an inode carries the data; the other is a hard link to it.
        Assert.True(link.EntryType == System.Formats.Tar.TarEntryType.RegularFile || b.EntryType == System.Formats.Tar.TarEntryType.HardLink);
        var (data, hard) = link.EntryType == System.Formats.Tar.TarEntryType.HardLink ? (b, link) : (link, b);
        Assert.Equal(System.Formats.Tar.TarEntryType.HardLink, hard.EntryType);
        Assert.Equal(data.Name, hard.LinkName);
        Assert.Equal(1234, data.Uid);
        Assert.Equal(5678, data.Gid);
        Assert.Equal((UnixFileMode)0x1e0, data.Mode);
        Assert.Equal(4, data.Length);
        var pax = Assert.IsType<System.Formats.Tar.PaxTarEntry>(data);
        Assert.Equal("kept", pax.ExtendedAttributes["SCHILY.xattr.user.note"]);
        Assert.DoesNotContain(pax.ExtendedAttributes.Keys, k => k.Contains("overlay"));
        Assert.Equal(System.Formats.Tar.TarEntryType.Fifo, entries.Single(e => e.Name == "fifo").EntryType);
        Assert.Equal("b.txt", entries.Single(e => e.Name == "sym").LinkName);
        Assert.Equal(0, entries.Single(e => e.Name == ".wh.gone").Length);

        var again = new MemoryStream();
        Images.Layers.Changeset.Write(upper, again);
        Assert.Equal(tar.ToArray(), again.ToArray());
    }
}
