using System.Text;
using Berth.Images.Registry;
using Berth.Oci.Image;
using Berth.Registry.Tests.Fixtures;
using Xunit;

namespace Berth.Registry.Tests.Cli;

/// <summary>`berth image pull|push|copy|inspect|list-tags|delete` against a plain-HTTP registry, through the binary.</summary>
public sealed class CliPlainRegistryTests(PlainRegistry registry) : IClassFixture<PlainRegistry>
{
    static string Repo(string name) => $"cli/{name}-{Guid.NewGuid():N}"[..36].TrimEnd('-');

    string Ref(string repo, string tag) => $"docker://{registry.Host}/{repo}:{tag}";

    [Fact]
    public async Task Pull_stores_under_podmans_name_and_push_and_copy_keep_the_digest()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 3, layerBytes: 200_000, seed: 101);
        var repo = Repo("pull");
        using (var client = registry.Client()) await image.PushAsync(client, repo, "v1");

        // docker:// is optional for pull; the name is HOST:PORT/NAME:TAG.
        var pulled = cli.Image("pull", "--tls-verify=false", $"{registry.Host}/{repo}:v1").Ok();
        Assert.Equal(image.Digest.ToString(), pulled.Stdout.Trim());
        var ls = cli.Image("ls").Ok();
        Assert.Contains($"{registry.Host}/{repo}:v1", ls.Stdout);
        Assert.Contains(image.Digest.ToString(), ls.Stdout);

        // Push back under another name; the manifest nothing changed keeps its digest.
        var pushed = cli.Image("push", "--tls-verify=false", $"{registry.Host}/{repo}:v1", Ref(repo, "v2")).Ok();
        Assert.Equal(image.Digest.ToString(), pushed.Stdout.Trim());
        using (var client = registry.Client())
            Assert.Equal(image.Digest, (await client.HeadManifestAsync(repo, "v2"))!.Digest);

        // Copy from the registry to an OCI layout and to another repository (blobs mounted, not sent).
        var layout = Path.Combine(cli.Dir, "layout");
        cli.Image("copy", "--src-tls-verify=false", Ref(repo, "v1"), $"oci:{layout}:v1").Ok();
        Assert.Equal(image.Manifest, File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", image.Digest.Encoded)));
        var other = Repo("mounted");
        var copy = cli.Image("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "json", Ref(repo, "v1"), Ref(other, "v1")).Ok();
        var result = BerthCli.Json(copy.Stdout);
        Assert.Equal(image.Digest.ToString(), result.GetProperty("digest").GetString());
        Assert.All(result.GetProperty("blobs").EnumerateArray(), b => Assert.Equal("skipped", b.GetProperty("outcome").GetString()));
        Assert.Contains($"POST /v2/{other}/blobs/uploads/?mount=", registry.Log());
    }

    [Fact]
    public async Task Inspect_prints_skopeos_shape_without_fetching_a_layer_and_raw_prints_the_exact_bytes()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 2, layerBytes: 50_000, seed: 102);
        var repo = Repo("inspect");
        using (var client = registry.Client()) await image.PushAsync(client, repo, "v1");
        var before = registry.Log().Split('\n').Length;

        var out_ = cli.Image("inspect", "--tls-verify=false", Ref(repo, "v1")).Ok();
        var j = BerthCli.Json(out_.Stdout);
        Assert.Equal(new[] { "Name", "Digest", "RepoTags", "Created", "DockerVersion", "Labels", "Architecture", "Os", "Layers", "LayersData", "Env" },
            j.EnumerateObject().Select(p => p.Name));
        Assert.Equal($"{registry.Host}/{repo}", j.GetProperty("Name").GetString());
        Assert.Equal(image.Digest.ToString(), j.GetProperty("Digest").GetString());
        Assert.Equal(new[] { "v1" }, j.GetProperty("RepoTags").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(image.Layers.Select(l => l.Digest.ToString()), j.GetProperty("Layers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(image.Layers.Select(l => l.Size), j.GetProperty("LayersData").EnumerateArray().Select(e => e.GetProperty("Size").GetInt64()));
        Assert.Equal("101", "101"); // labels come from the config:
        Assert.Equal("102", j.GetProperty("Labels").GetProperty("seed").GetString());
        var newLines = registry.Log().Split('\n').Skip(before - 1);
        foreach (var l in image.Layers) Assert.DoesNotContain(newLines, line => line.Contains($"GET /v2/{repo}/blobs/{l.Digest}"));

        // The same fields and values as skopeo's own inspect (skopeo 1.9 has no LayersData).
        var skopeo = BerthCli.Json(cli.Exec("skopeo", "inspect", "--tls-verify=false", Ref(repo, "v1")).Ok().Stdout);
        foreach (var p in skopeo.EnumerateObject())
            Assert.Equal(p.Value.ToString(), j.GetProperty(p.Name).ToString());

        var raw = cli.Image("inspect", "--raw", "--tls-verify=false", Ref(repo, "v1")).Ok();
        Assert.Equal(image.Manifest, Encoding.UTF8.GetBytes(raw.Stdout));
        var config = cli.Image("inspect", "--config", "--tls-verify=false", Ref(repo, "v1")).Ok();
        Assert.Equal(image.Config.Bytes, Encoding.UTF8.GetBytes(config.Stdout.TrimEnd('\n')));
    }

    [Fact]
    public async Task List_tags_lists_past_100_tags_as_skopeo_does()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 1, layerBytes: 1_000, seed: 103);
        var repo = Repo("tags");
        var tags = Enumerable.Range(0, 150).Select(i => $"t{i:000}").ToList();
        using (var client = registry.Client())
        {
            await image.PushAsync(client, repo, tags[0]);
            foreach (var t in tags.Skip(1)) await client.PutManifestAsync(repo, t, image.Manifest, image.ManifestType);
        }
        var r = cli.Image("list-tags", "--tls-verify=false", $"docker://{registry.Host}/{repo}").Ok();
        var j = BerthCli.Json(r.Stdout);
        Assert.Equal($"{registry.Host}/{repo}", j.GetProperty("Repository").GetString());
        Assert.Equal(tags, j.GetProperty("Tags").EnumerateArray().Select(e => e.GetString()).Order());
        // Asked in pages of 100. (distribution 2.8 ignores n and answers all 150 with no Link
        // header; following Link across pages is proved against a server that pages, in PushPullTests.)
        Assert.Contains($"GET /v2/{repo}/tags/list?n=100 ", registry.Log());
        var skopeo = BerthCli.Json(cli.Exec("skopeo", "list-tags", "--tls-verify=false", $"docker://{registry.Host}/{repo}").Ok().Stdout);
        Assert.Equal(skopeo.GetProperty("Tags").EnumerateArray().Select(e => e.GetString()).Order(), j.GetProperty("Tags").EnumerateArray().Select(e => e.GetString()).Order());
    }

    [Fact]
    public async Task Delete_removes_the_image_and_a_missing_one_is_one_line_naming_it()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 1, layerBytes: 1_000, seed: 104);
        var repo = Repo("delete");
        using (var client = registry.Client()) await image.PushAsync(client, repo, "v1");
        cli.Image("delete", "--tls-verify=false", Ref(repo, "v1")).Ok();
        using (var client = registry.Client()) Assert.Null(await client.HeadManifestAsync(repo, image.Digest.ToString()));

        BerthCli.OneLineError(cli.Image("pull", "--tls-verify=false", Ref(repo, "v1")), $"{registry.Host}/{repo}:v1", "MANIFEST_UNKNOWN");
        BerthCli.OneLineError(cli.Image("inspect", "--tls-verify=false", Ref(repo, "nope")), $"{registry.Host}/{repo}:nope", "MANIFEST_UNKNOWN");
        BerthCli.OneLineError(cli.Image("delete", "--tls-verify=false", Ref(repo, "v1")), $"{registry.Host}/{repo}:v1", "MANIFEST_UNKNOWN");
        Assert.DoesNotContain(repo, cli.Image("ls").Ok().Stdout);
    }

    [Fact]
    public async Task A_multi_platform_index_pulls_one_platform_or_all()
    {
        using var cli = new BerthCli();
        var amd = new TestImage(layers: 1, layerBytes: 20_000, seed: 105, architecture: "amd64");
        var arm = new TestImage(layers: 1, layerBytes: 20_000, seed: 106, architecture: "arm64");
        var repo = Repo("multi");
        var index = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"{{{MediaTypes.Index}}}","manifests":[{"mediaType":"{{{MediaTypes.Manifest}}}","digest":"{{{amd.Digest}}}","size":{{{amd.Manifest.Length}}},"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"{{{MediaTypes.Manifest}}}","digest":"{{{arm.Digest}}}","size":{{{arm.Manifest.Length}}},"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}""");
        using (var client = registry.Client())
        {
            await amd.PushAsync(client, repo, amd.Digest.ToString());
            await arm.PushAsync(client, repo, arm.Digest.ToString());
            await client.PutManifestAsync(repo, "v1", index, MediaTypes.Index);
        }
        var indexDigest = RawDigest(index);

        var one = cli.Image("pull", "--tls-verify=false", "--platform", "linux/arm64", "--format", "json", Ref(repo, "v1")).Ok();
        var j = BerthCli.Json(one.Stdout);
        Assert.Equal(arm.Digest.ToString(), j.GetProperty("digest").GetString());
        Assert.Equal(new[] { "linux/arm64" }, j.GetProperty("platforms").EnumerateArray().Select(e => e.GetString()));
        var config = cli.Image("inspect", "--config", $"{registry.Host}/{repo}:v1").Ok();
        Assert.Contains("\"architecture\":\"arm64\"", config.Stdout);

        var all = cli.Image("pull", "--tls-verify=false", "--all", "--format", "json", Ref(repo, "v1")).Ok();
        j = BerthCli.Json(all.Stdout);
        Assert.Equal(indexDigest, j.GetProperty("digest").GetString());
        Assert.Equal(new[] { "linux/amd64", "linux/arm64" }, j.GetProperty("platforms").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Equal(index, Encoding.UTF8.GetBytes(cli.Image("inspect", "--raw", $"{registry.Host}/{repo}:v1").Ok().Stdout.TrimEnd('\n')));

        // And to an OCI layout with --all: the index's digest is kept.
        var layout = Path.Combine(cli.Dir, "layout");
        var copied = cli.Image("copy", "--all", "--src-tls-verify=false", Ref(repo, "v1"), $"oci:{layout}:v1").Ok();
        Assert.Equal(indexDigest, copied.Stdout.Trim());
    }

    static string RawDigest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));

    [Fact]
    public async Task Progress_is_one_line_per_blob_off_a_terminal_json_on_request_and_redrawn_bars_on_a_pty()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 2, layerBytes: 300_000, seed: 107);
        var repo = Repo("progress");
        using (var client = registry.Client()) await image.PushAsync(client, repo, "v1");

        var lines = cli.Image("pull", "--tls-verify=false", Ref(repo, "v1")).Ok();
        foreach (var l in image.Layers)
            Assert.Matches($"(?m)^Copying blob {l.Digest} done [0-9.]+[kM]B$", lines.Stderr);
        Assert.Matches($"(?m)^Copying config {image.Config.Digest} done [0-9.]+k?B$", lines.Stderr);
        Assert.Contains("Writing manifest to image destination", lines.Stderr);
        Assert.DoesNotContain("\x1b[", lines.Stderr);
        // Again: every blob is there already.
        var again = cli.Image("pull", "--tls-verify=false", Ref(repo, "v1")).Ok();
        foreach (var l in image.Layers) Assert.Contains($"Copying blob {l.Digest} skipped: already exists", again.Stderr);

        Assert.Equal("", cli.Image("pull", "-q", "--tls-verify=false", Ref(repo, "v1")).Ok().Stderr);

        var json = cli.Image("pull", "--tls-verify=false", "--format", "json", $"{registry.Host}/{repo}:v1").Ok();
        Assert.Equal("", json.Stderr);
        var j = BerthCli.Json(json.Stdout);
        Assert.Equal(image.Digest.ToString(), j.GetProperty("digest").GetString());
        Assert.Equal(image.Manifest.Length, j.GetProperty("size").GetInt64());
        Assert.Equal($"{registry.Host}/{repo}:v1", j.GetProperty("name").GetString());
        Assert.Equal(new[] { "linux/amd64" }, j.GetProperty("platforms").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(image.Blobs.Select(b => b.Digest.ToString()).Order(), j.GetProperty("blobs").EnumerateArray().Select(b => b.GetProperty("digest").GetString()).Order());

        // On a terminal (script(1) gives berth a pty): bars redrawn in place, a total.
        var store2 = Path.Combine(cli.Dir, "store2");
        var tty = cli.Exec("script", "-qec", $"{Commands.Binary} image pull --store {store2} --tls-verify=false {Ref(repo, "v1")}", "/dev/null").Ok();
        Assert.Contains("\x1b[", tty.Stdout);
        Assert.Contains("Total", tty.Stdout);
        // Erased and redrawn where it stands, not appended (how often depends on the pull's speed).
        Assert.Contains("\r\x1b[J", tty.Stdout);
    }

    [Fact]
    public async Task Skopeo_reads_what_berth_pushes_and_berth_pulls_what_skopeo_pushes_digests_equal()
    {
        using var cli = new BerthCli();
        var image = new TestImage(layers: 2, layerBytes: 100_000, seed: 108);
        var layout = Path.Combine(cli.Dir, "src-layout");
        image.WriteLayout(layout, "v1");
        var repo = Repo("interop");
        // berth → registry → skopeo
        cli.Image("copy", "--dest-tls-verify=false", $"oci:{layout}:v1", Ref(repo, "berth")).Ok();
        var sk = Path.Combine(cli.Dir, "skopeo-out");
        cli.Exec("skopeo", "copy", "-q", "--src-tls-verify=false", "--preserve-digests", Ref(repo, "berth"), $"oci:{sk}:v1").Ok();
        Assert.Equal(image.Manifest, File.ReadAllBytes(Path.Combine(sk, "blobs", "sha256", image.Digest.Encoded)));
        // skopeo → registry → berth
        cli.Exec("skopeo", "copy", "-q", "--dest-tls-verify=false", "--preserve-digests", $"oci:{layout}:v1", Ref(repo, "skopeo")).Ok();
        var pulled = cli.Image("pull", "--tls-verify=false", Ref(repo, "skopeo")).Ok();
        Assert.Equal(image.Digest.ToString(), pulled.Stdout.Trim());
        foreach (var b in image.Blobs) Assert.True(File.Exists(Path.Combine(cli.Store, "blobs", "sha256", b.Digest.Encoded)));
    }
}
