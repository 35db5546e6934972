using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`berth build`: Containerfiles built from the busybox fixture, the images run with `berth run` and read with `image inspect`.</summary>
public sealed class BuildTests : IDisposable
{
    readonly EngineSandbox _e = new();
    readonly string _ctx;

    public BuildTests()
    {
        _ctx = Path.Combine(_e.Dir, "ctx");
        Directory.CreateDirectory(_ctx);
    }

    public void Dispose() => _e.Dispose();

    void Write(string name, string content)
    {
        var path = Path.Combine(_ctx, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    Result Build(params string[] args) => _e.Run(new[] { "build" }.Concat(args).Append(_ctx).ToArray());

    JsonElement Config(string image) => JsonDocument.Parse(_e.Run("image", "inspect", "--config", image).Ok().Stdout).RootElement;

    /// <summary>What a failed build must not leave: a mount under the sandbox, a runtime container, a step directory, an image.</summary>
    void AssertNothingLeft(int imagesBefore)
    {
        Assert.Empty(_e.Mounts());
        Assert.Equal("", _e.RuntimeList());
        var build = Path.Combine(_e.Store, "build");
        Assert.True(!Directory.Exists(build) || Directory.GetFileSystemEntries(build).Length == 0, "the build directory is empty");
        Assert.Equal(imagesBefore, ImageCount());
    }

    int ImageCount() => _e.Run("image", "ls").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;

    [Fact]
    public void A_multi_stage_build_ending_in_scratch_copies_from_a_busybox_stage_and_runs()
    {
        Write("hello.txt", "hello from the context\n");
        Write("Containerfile", """
            FROM test/busybox AS build
            ARG GREETING=hi
            ENV WHO=world
            RUN mkdir -p /out && echo "$GREETING $WHO" > /out/msg
            COPY hello.txt /out/
            FROM scratch
            COPY --from=build /out/ /
            COPY --from=build /bin/busybox /bin/sh
            CMD ["/bin/sh", "-c", "cat /msg /hello.txt"]
            """);
        var r = Build("-t", "test/multi", "--build-arg", "GREETING=howdy").Ok();
        Assert.Contains("[1/2] STEP 4/5: RUN mkdir -p /out", r.Stdout);
        Assert.Contains("[2/2] STEP 1/4: FROM scratch", r.Stdout);
        Assert.Matches("sha256:[0-9a-f]{64}\n$", r.Stdout);
        Assert.Equal("howdy world\nhello from the context\n", _e.Run("run", "--rm", "test/multi").Ok().Stdout);
        // Two layers: the files of /out and the shell; CMD is metadata (an empty_layer history entry).
        var config = Config("test/multi");
        Assert.Equal(2, config.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
        var history = config.GetProperty("history").EnumerateArray().ToList();
        Assert.Equal(3, history.Count);
        Assert.True(history[2].GetProperty("empty_layer").GetBoolean());
        Assert.DoesNotContain("Env", config.GetProperty("config").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public void Metadata_instructions_are_in_the_config_in_dockers_format_and_make_no_layer()
    {
        Write("Containerfile", """
            FROM test/busybox
            ENV A=1 B="two words"
            ENV C=${A}x
            LABEL org.example.k="v v" other=o
            EXPOSE 8080 53/udp
            USER nobody
            WORKDIR /srv/app
            VOLUME ["/data", "/cache"]
            STOPSIGNAL SIGINT
            HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --retries=3 CMD wget -q -O- http://localhost/ || exit 1
            SHELL ["/bin/sh", "-ec"]
            ONBUILD USER root
            ONBUILD RUN echo triggered > /srv/app/onbuild
            ENTRYPOINT ["/bin/sh", "-c"]
            CMD ["pwd; id -u; echo $A $C"]
            MAINTAINER Ann <ann@example.org>
            """);
        Build("-t", "test/meta", "--label", "added=by-flag").Ok();
        var config = Config("test/meta");
        var c = config.GetProperty("config");
        var env = c.GetProperty("Env").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("A=1", env);
        Assert.Contains("B=two words", env);
        Assert.Contains("C=1x", env);
        Assert.Equal("v v", c.GetProperty("Labels").GetProperty("org.example.k").GetString());
        Assert.Equal("by-flag", c.GetProperty("Labels").GetProperty("added").GetString());
        Assert.Equal(new[] { "53/udp", "8080/tcp" }, c.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal("nobody", c.GetProperty("User").GetString());
        Assert.Equal("/srv/app", c.GetProperty("WorkingDir").GetString());
        Assert.Equal(new[] { "/cache", "/data" }, c.GetProperty("Volumes").EnumerateObject().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal("SIGINT", c.GetProperty("StopSignal").GetString());
        var hc = c.GetProperty("Healthcheck");
        Assert.Equal(new[] { "CMD-SHELL", "wget -q -O- http://localhost/ || exit 1" }, hc.GetProperty("Test").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(30_000_000_000L, hc.GetProperty("Interval").GetInt64());
        Assert.Equal(5_000_000_000L, hc.GetProperty("Timeout").GetInt64());
        Assert.Equal(60_000_000_000L, hc.GetProperty("StartPeriod").GetInt64());
        Assert.Equal(3, hc.GetProperty("Retries").GetInt32());
        Assert.Equal(new[] { "/bin/sh", "-ec" }, c.GetProperty("Shell").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(new[] { "USER root", "RUN echo triggered > /srv/app/onbuild" }, c.GetProperty("OnBuild").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("Ann <ann@example.org>", config.GetProperty("author").GetString());
        // Only WORKDIR made a layer (the directory); every other instruction is an empty_layer entry.
        var history = config.GetProperty("history").EnumerateArray().ToList();
        var baseLayers = 1;
        Assert.Equal(baseLayers + 1, config.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
        Assert.Equal(history.Count - baseLayers - 1, history.Count(h => h.TryGetProperty("empty_layer", out var el) && el.GetBoolean()));

        Assert.Equal("/srv/app\n65534\n1 1x\n", _e.Run("run", "--rm", "test/meta").Ok().Stdout);

        // A child build runs the ONBUILD trigger first, and its image carries no trigger.
        Write("Containerfile", "FROM test/meta\nUSER root\n");
        Build("-t", "test/child").Ok();
        Assert.Equal("triggered\n", _e.Run("run", "--rm", "--entrypoint", "", "test/child", "cat", "/srv/app/onbuild").Ok().Stdout);
        Assert.False(Config("test/child").GetProperty("config").TryGetProperty("OnBuild", out _));
    }

    [Fact]
    public void COPY_and_ADD_follow_dockers_destination_ownership_and_archive_rules()
    {
        Write("app/a.txt", "a\n");
        Write("app/sub/b.txt", "b\n");
        Write("app/skip.log", "ignored\n");
        Write("one.txt", "one\n");
        Write(".dockerignore", "**/*.log\n");
        using (var fs = File.Create(Path.Combine(_ctx, "bundle.tar.gz")))
        using (var gz = new GZipStream(fs, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gz, TarEntryFormat.Pax))
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "inside/t.txt") { DataStream = new MemoryStream("from the tar\n"u8.ToArray()), Mode = (UnixFileMode)0x1a4 });
        Write("Containerfile", """
            FROM test/busybox
            COPY app /dst/
            COPY --chown=nobody:nogroup --chmod=600 one.txt /owned
            COPY one.txt app/a.txt /multi/
            ADD bundle.tar.gz /x/
            WORKDIR /w
            COPY one.txt rel.txt
            RUN rm /etc/group && echo changed > /dst/a.txt
            CMD ["sh", "-c", "cat /dst/a.txt /dst/sub/b.txt; test -e /dst/skip.log && echo log || echo nolog; stat -c '%u:%g %a' /owned; ls /multi; cat /x/inside/t.txt /w/rel.txt; test -e /etc/group && echo group || echo nogroup"]
            """);
        Build("-t", "test/copy").Ok();
        Assert.Equal("changed\nb\nnolog\n65534:65534 600\na.txt\none.txt\nfrom the tar\none\nnogroup\n", _e.Run("run", "--rm", "test/copy").Ok().Stdout);

        Write("Containerfile", "FROM test/busybox\nCOPY one.txt app/a.txt /notadir\n");
        var bad = Build();
        Assert.Equal(125, bad.ExitCode);
        Assert.Contains("Containerfile:2:1: When using COPY with more than one source file, the destination must be a directory and end with a /", bad.Stderr);
    }

    [Fact]
    public void A_syntax_error_names_the_file_line_and_column_and_builds_nothing()
    {
        int before = ImageCount();
        Write("Containerfile", "FROM test/busybox\nRUN true\n  FROBNICATE x\n");
        var r = Build();
        Assert.Equal(125, r.ExitCode);
        Assert.Equal("berth: build: Containerfile:3:3: unknown instruction: FROBNICATE\n", r.Stderr);
        Assert.DoesNotContain("STEP", r.Stdout);

        File.WriteAllText(Path.Combine(_e.Dir, "Other.file"), "FROM test/busybox\nCOPY --frm=x a b\n");
        r = _e.Run("build", "-f", Path.Combine(_e.Dir, "Other.file"), _ctx);
        Assert.Equal(125, r.ExitCode);
        Assert.Contains($"{Path.Combine(_e.Dir, "Other.file")}:2:6: unknown flag: --frm", r.Stderr);
        AssertNothingLeft(before);
    }

    [Fact]
    public void A_missing_COPY_source_is_named_and_leaves_no_image()
    {
        int before = ImageCount();
        Write("Containerfile", "FROM test/busybox\nRUN echo made > /made\nCOPY nothere.txt /x\n");
        var r = Build("-t", "test/never");
        Assert.Equal(125, r.ExitCode);
        Assert.Equal("berth: build: Containerfile:3:1: COPY source \"nothere.txt\" not found in context\n", r.Stderr);
        AssertNothingLeft(before);
        Assert.NotEqual(0, _e.Run("image", "inspect", "test/never").ExitCode);
    }

    [Fact]
    public void A_failing_RUN_reports_its_exit_code_and_last_output_and_leaves_no_container_mount_or_image()
    {
        int before = ImageCount();
        Write("Containerfile", "FROM test/busybox\nRUN echo first && echo to-stderr >&2 && exit 3\n");
        var r = Build("-t", "test/failed");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("first\nto-stderr\n", r.Stdout);
        Assert.Equal("berth: build: Containerfile:2:1: RUN echo first && echo to-stderr >&2 && exit 3: exit status 3; its last output: first | to-stderr\n", r.Stderr);
        AssertNothingLeft(before);
    }

    [Fact]
    public void A_stage_cycle_is_an_error_before_anything_runs()
    {
        Write("Containerfile", "FROM test/busybox AS a\nRUN echo should-not-run\nCOPY --from=b /x /x\nFROM test/busybox AS b\nCOPY --from=a /y /y\n");
        var r = Build();
        Assert.Equal(125, r.ExitCode);
        Assert.Equal("berth: build: Containerfile:3:6: COPY --from=b: stage \"b\" is a later stage: that is a cycle\n", r.Stderr);
        Assert.DoesNotContain("should-not-run", r.Stdout);
    }

    [Fact]
    public void Target_builds_only_the_stages_it_needs()
    {
        Write("Containerfile", """
            FROM test/busybox AS broken
            RUN exit 9
            FROM test/busybox AS base
            RUN echo base > /base
            FROM base AS wanted
            RUN cat /base > /wanted
            FROM test/busybox AS last
            COPY --from=broken /x /x
            """);
        var r = Build("-t", "test/wanted", "--target", "wanted").Ok();
        Assert.DoesNotContain("exit 9", r.Stdout);
        Assert.Contains("STEP 1/2: FROM test/busybox AS base", r.Stdout);
        Assert.Equal("base\n", _e.Run("run", "--rm", "test/wanted", "cat", "/wanted").Ok().Stdout);
        Assert.Equal(9, Build("-t", "test/last").ExitCode);
    }

    [Fact]
    public void A_secret_is_readable_by_its_RUN_and_is_in_no_layer_blob()
    {
        const string secret = "s3cr3t-value-7f0c2a";
        var file = Path.Combine(_e.Dir, "token");
        File.WriteAllText(file, secret + "\n");
        Write("Containerfile", """
            FROM test/busybox
            RUN --mount=type=secret,id=token grep -q "^s3cr3t-" /run/secrets/token && stat -c %a /run/secrets/token > /mode && cp /run/secrets/token /dev/null
            RUN --mount=type=secret,id=token,target=/etc/tok,required=true wc -c < /etc/tok > /len
            """);
        Build("-t", "test/secret", "--secret", $"id=token,src={file}").Ok();
        Assert.Equal("400\n20\n", _e.Run("run", "--rm", "test/secret", "cat", "/mode", "/len").Ok().Stdout);
        Assert.Equal("absent\n", _e.Run("run", "--rm", "test/secret", "sh", "-c", "test -e /run/secrets/token || test -e /etc/tok && echo present || echo absent").Ok().Stdout);

        // Every blob of the store (layers decompressed), and every file of the store: no secret.
        var blobs = Directory.GetFiles(Path.Combine(_e.Store, "images", "blobs", "sha256"));
        Assert.NotEmpty(blobs);
        foreach (var blob in blobs)
        {
            var bytes = File.ReadAllBytes(blob);
            if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                bytes = ms.ToArray();
            }
            Assert.False(Encoding.UTF8.GetString(bytes).Contains(secret), $"blob {Path.GetFileName(blob)} holds the secret");
        }
        foreach (var f in Directory.GetFiles(_e.Store, "*", SearchOption.AllDirectories))
            if (new FileInfo(f).Length < 64 << 20 && !f.Contains("/blobs/"))
                Assert.False(File.ReadAllText(f).Contains(secret), $"{f} holds the secret");

        // A required secret that was not given fails its step.
        Write("Containerfile", "FROM test/busybox\nRUN --mount=type=secret,id=token,required=true true\n");
        var r = _e.Run("build", _ctx);
        Assert.Equal(125, r.ExitCode);
        Assert.Contains("Containerfile:2:1: RUN --mount=type=secret,id=token: no secret of that id", r.Stderr);
    }

    [Fact]
    public void RUN_mounts_a_cache_directory_that_persists_and_a_tmpfs_that_leaves_nothing()
    {
        Write("Containerfile", "FROM test/busybox\nARG N\nRUN --mount=type=cache,target=/cache --mount=type=tmpfs,target=/scratch echo $N >> /cache/runs && echo t > /scratch/t && cat /cache/runs | wc -l > /count\n");
        Build("-t", "test/cache1", "--build-arg", "N=1").Ok();
        Build("-t", "test/cache2", "--build-arg", "N=2").Ok();
        Assert.Equal("2\n", _e.Run("run", "--rm", "test/cache2", "cat", "/count").Ok().Stdout);
        Assert.Equal("nothing\n", _e.Run("run", "--rm", "test/cache2", "sh", "-c", "ls /cache /scratch 2>/dev/null | grep . || echo nothing").Ok().Stdout);
    }

    [Fact]
    public void Heredocs_run_as_scripts_and_become_files()
    {
        Write("Containerfile", "FROM test/busybox\nENV NAME=berth\nRUN <<EOF\nset -e\necho one > /one\necho two >> /one\nEOF\nCOPY <<EOT /greeting\nhello $NAME\nEOT\nCOPY <<'RAW' /raw\nhello $NAME\nRAW\n");
        Build("-t", "test/heredoc").Ok();
        Assert.Equal("one\ntwo\nhello berth\nhello $NAME\n", _e.Run("run", "--rm", "test/heredoc", "cat", "/one", "/greeting", "/raw").Ok().Stdout);
    }

    [Fact]
    public void Outputs_go_to_an_oci_layout_and_the_iidfile_names_the_image()
    {
        Write("Containerfile", "FROM test/busybox\nRUN echo x > /x\n");
        var oci = Path.Combine(_e.Dir, "oci");
        var iid = Path.Combine(_e.Dir, "iid");
        var r = Build("-t", "test/out", "--output", $"oci:{oci}:out", "--iidfile", iid).Ok();
        var id = File.ReadAllText(iid).Trim();
        Assert.EndsWith(id + "\n", r.Stdout);
        var config = JsonDocument.Parse(Commands.Exec("skopeo", "inspect", "--config", $"oci:{oci}:out").Ok().Stdout).RootElement;
        Assert.Equal(2, config.GetProperty("rootfs").GetProperty("diff_ids").GetArrayLength());
    }

    [Fact]
    public void ADD_of_a_URL_downloads_the_file_as_0600_with_its_name()
    {
        using var server = new LoopbackFileServer("downloaded content\n"u8.ToArray());
        int port = server.Port;
        Write("Containerfile", $"FROM test/busybox\nADD http://127.0.0.1:{port}/files/dl.txt /dl/\nADD http://127.0.0.1:{port}/other /named.txt\n");
        Build("-t", "test/add-url").Ok();
        Assert.Equal("downloaded content\n600\ndownloaded content\n", _e.Run("run", "--rm", "test/add-url", "sh", "-c", "cat /dl/dl.txt; stat -c %a /dl/dl.txt; cat /named.txt").Ok().Stdout);
    }
}
