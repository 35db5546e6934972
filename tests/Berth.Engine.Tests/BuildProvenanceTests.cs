using System.Text;
using System.Text.Json;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`berth build --provenance KEY`: a signed SLSA v1 provenance beside the built image, checked by `berth verify-provenance`.</summary>
public sealed class BuildProvenanceTests : IDisposable
{
    readonly EngineSandbox _e = new();
    readonly string _ctx;

    public BuildProvenanceTests()
    {
        _ctx = Path.Combine(_e.Dir, "ctx");
        Directory.CreateDirectory(_ctx);
    }

    public void Dispose() => _e.Dispose();

    static void Git(string dir, params string[] args) =>
        Commands.Exec("git", new[] { "-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false" }.Concat(args).ToArray()).Ok();

    [Fact]
    public void A_build_with_provenance_verifies_for_its_builder_and_source_and_not_for_another_builder()
    {
        File.WriteAllText(Path.Combine(_ctx, "Containerfile"), "FROM test/busybox\nARG V=1\nRUN echo $V > /v\n");
        Git(_ctx, "init", "-q");
        Git(_ctx, "remote", "add", "origin", "https://github.com/org/app.git");
        Git(_ctx, "add", ".");
        Git(_ctx, "commit", "-q", "-m", "one");
        var commit = Commands.Exec("git", "-C", _ctx, "rev-parse", "HEAD").Ok().Stdout.Trim();
        var pass = Path.Combine(_e.Dir, "pass");
        File.WriteAllText(pass, "secret\n");
        var k = Path.Combine(_e.Dir, "k");
        _e.Run("key", "generate", "--output-prefix", k, "--passphrase-file", pass).Ok();

        var r = _e.Run("build", "-t", "test/prov", "--build-arg", "V=2", "--provenance", k + ".key", "--passphrase-file", pass,
            "--builder-id", "https://ci.test/builder@v1", _ctx).Ok();
        Assert.Matches("Attested [^ ]*test/prov[^ ]*@sha256:[0-9a-f]{64} ", r.Stdout);

        Result Verify(string builder) => _e.Run("verify-provenance", "--store", _e.Store, "test/prov", "--key", k + ".pub", "--builder-id", builder, "--source-uri", "github.com/org/app");
        Assert.Contains("PASSED: SLSA provenance", Verify("https://ci.test/builder").Ok().Stdout);
        var bad = Verify("https://ci.test/other");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("builder id \"https://ci.test/builder@v1\", expected \"https://ci.test/other\"", bad.Stderr);

        // The predicate names what was built from: the Containerfile, the build arg, the base image's digest and the commit.
        var dl = _e.Run("image", "download-attestation", "--store", _e.Store, "test/prov").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        var statement = JsonDocument.Parse(Convert.FromBase64String(JsonDocument.Parse(dl).RootElement.GetProperty("payload").GetString()!)).RootElement;
        var def = statement.GetProperty("predicate").GetProperty("buildDefinition");
        Assert.Equal("2", def.GetProperty("externalParameters").GetProperty("buildArgs").GetProperty("V").GetString());
        Assert.Contains("RUN echo $V", def.GetProperty("externalParameters").GetProperty("containerfile").GetString());
        var deps = def.GetProperty("resolvedDependencies").EnumerateArray().ToList();
        Assert.Contains(deps, d => d.GetProperty("uri").GetString() == "git+https://github.com/org/app.git" && d.GetProperty("digest").GetProperty("gitCommit").GetString() == commit);
        Assert.Contains(deps, d => d.GetProperty("uri").GetString()!.StartsWith("pkg:docker/test/busybox", StringComparison.Ordinal) && d.GetProperty("digest").TryGetProperty("sha256", out _));
    }

    [Fact]
    public void A_wrong_passphrase_builds_nothing()
    {
        File.WriteAllText(Path.Combine(_ctx, "Containerfile"), "FROM test/busybox\nRUN echo x > /x\n");
        var pass = Path.Combine(_e.Dir, "pass");
        File.WriteAllText(pass, "secret\n");
        var k = Path.Combine(_e.Dir, "k");
        _e.Run("key", "generate", "--output-prefix", k, "--passphrase-file", pass).Ok();
        File.WriteAllText(pass, "wrong\n");
        var before = _e.Run("image", "ls").Ok().Stdout;
        var r = _e.Run("build", "-t", "test/prov", "--provenance", k + ".key", "--passphrase-file", pass, _ctx);
        Assert.NotEqual(0, r.ExitCode);
        Assert.StartsWith("berth: ", r.Stderr);
        Assert.Contains("--provenance", r.Stderr);
        Assert.Equal(before, _e.Run("image", "ls").Ok().Stdout);
    }
}
