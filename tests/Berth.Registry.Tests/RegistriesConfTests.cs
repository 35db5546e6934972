using Berth.Images.Registry;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>containers-registries.conf(5): search registries, aliases, prefixes and locations, mirrors, insecure, blocked, drop-ins.</summary>
public sealed class RegistriesConfTests
{
    const string Conf = """
        unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]
        short-name-mode = "permissive"

        [aliases]
        "fedora" = "registry.fedoraproject.org/fedora"
        "mybox" = "quay.io/me/busybox"

        [[registry]]
        prefix = "example.com/foo"
        location = "internal.example.com/mirror/foo"
        insecure = true

        [[registry]]
        location = "docker.io"
        [[registry.mirror]]
        location = "mirror.local:5000"
        insecure = true
        [[registry.mirror]]
        location = "digests.local"
        pull-from-mirror = "digest-only"

        [[registry]]
        location = "evil.io"
        blocked = true

        [[registry]]
        prefix = "*.corp.example"
        insecure = true
        """;

    static RegistriesConf Parse() => RegistriesConf.Parse(Conf, "test.conf");

    [Fact]
    public void The_search_list_mode_and_aliases_are_read()
    {
        var c = Parse();
        Assert.Equal(["registry.fedoraproject.org", "docker.io"], c.UnqualifiedSearchRegistries);
        Assert.Equal("permissive", c.ShortNameMode);
        Assert.Equal("quay.io/me/busybox", c.Aliases["mybox"]);
    }

    [Fact]
    public void A_short_name_resolves_to_its_alias_keeping_the_tag_else_to_one_candidate_per_search_registry()
    {
        var c = Parse();
        var alias = c.ResolveShortName("mybox:1.36");
        Assert.Equal("quay.io/me/busybox:1.36", alias.Alias!.ToString());
        Assert.Equal("test.conf", alias.AliasSource);
        var search = c.ResolveShortName("busybox");
        Assert.Null(search.Alias);
        Assert.Equal(["registry.fedoraproject.org/busybox:latest", "docker.io/library/busybox:latest"], search.Candidates.Select(r => r.ToString()));
        Assert.Equal(["quay.io/a/b:latest"], c.ResolveShortName("quay.io/a/b:latest").Candidates.Select(r => r.ToString()));
        var none = Assert.Throws<RegistryException>(() => RegistriesConf.Empty.ResolveShortName("busybox"));
        Assert.Contains("no unqualified-search-registries", none.Message);
    }

    [Fact]
    public void The_longest_prefix_rewrites_the_reference_to_its_location()
    {
        var c = Parse();
        var sources = c.PullSources(Reference.Parse("example.com/foo/bar:1"));
        var s = Assert.Single(sources);
        Assert.Equal("internal.example.com/mirror/foo/bar:1", s.Reference.ToString());
        Assert.True(s.Insecure);
        // "example.com/foobar" is not under the prefix "example.com/foo": a prefix ends at '/', ':' or '@'.
        Assert.Equal("example.com/foobar:1", Assert.Single(c.PullSources(Reference.Parse("example.com/foobar:1"))).Reference.ToString());
    }

    [Fact]
    public void Mirrors_come_first_and_serve_only_what_pull_from_mirror_allows()
    {
        var c = Parse();
        var byTag = c.PullSources(Reference.Parse("busybox:1"));
        Assert.Equal(["mirror.local:5000/library/busybox:1", "docker.io/library/busybox:1"], byTag.Select(s => s.Reference.ToString()));
        Assert.True(byTag[0].Insecure && byTag[0].IsMirror);
        Assert.False(byTag[1].IsMirror);
        var digest = "sha256:" + new string('b', 64);
        var byDigest = c.PullSources(Reference.Parse("busybox@" + digest));
        Assert.Equal([$"mirror.local:5000/library/busybox@{digest}", $"digests.local/library/busybox@{digest}", $"docker.io/library/busybox@{digest}"],
            byDigest.Select(s => s.Reference.ToString()));
        Assert.Equal("docker.io/library/busybox:1", c.PushTarget(Reference.Parse("busybox:1")).Reference.ToString());
    }

    [Fact]
    public void A_blocked_registry_is_an_error_and_a_wildcard_prefix_matches_hosts_under_it()
    {
        var c = Parse();
        var e = Assert.Throws<RegistryException>(() => c.PullSources(Reference.Parse("evil.io/x")));
        Assert.Contains("blocked in registries.conf", e.Message);
        Assert.True(c.IsInsecure("a.corp.example"));
        Assert.True(c.IsInsecure("b.a.corp.example:5000"));
        Assert.False(c.IsInsecure("corp.example.org"));
        Assert.True(c.IsInsecure("internal.example.com") is false);
    }

    [Fact]
    public void The_V1_format_is_read()
    {
        var c = RegistriesConf.Parse("""
            [registries.search]
            registries = ["quay.io"]
            [registries.insecure]
            registries = ["localhost:5000"]
            [registries.block]
            registries = ["bad.io"]
            """, "v1.conf");
        Assert.Equal(["quay.io"], c.UnqualifiedSearchRegistries);
        Assert.True(c.IsInsecure("localhost:5000"));
        Assert.Throws<RegistryException>(() => c.PullSources(Reference.Parse("bad.io/x")));
    }

    [Theory]
    [InlineData("unqualified-search-registries = \"docker.io\"", "unqualified-search-registries: expected an array of strings")]
    [InlineData("[[registry]]\ninsecure = true", "registry[0]: a location or a prefix is required")]
    [InlineData("[[registry]]\nlocation = \"a.io\"\ninsecure = \"yes\"", "registry[0].insecure: expected true or false")]
    [InlineData("[[registry]]\nlocation = \"a.io\"\n[[registry.mirror]]\nlocation = \"m.io\"\npull-from-mirror = \"some\"", "registry[0].mirror[0].pull-from-mirror")]
    [InlineData("short-name-mode = \"loose\"", "short-name-mode \"loose\"")]
    [InlineData("[aliases]\nx = \"notqualified\"", "aliases.x")]
    [InlineData("a = [1,", "test.conf")]
    public void A_broken_file_is_an_error_naming_the_file_and_the_field(string toml, string expected)
    {
        var e = Assert.Throws<RegistryException>(() => RegistriesConf.Parse(toml, "test.conf"));
        Assert.Contains("registries.conf test.conf", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void The_users_file_replaces_the_systems_and_drop_ins_merge_over_it()
    {
        var home = Directory.CreateTempSubdirectory("berth-conf-").FullName;
        try
        {
            var dir = Path.Combine(home, ".config", "containers");
            Directory.CreateDirectory(Path.Combine(dir, "registries.conf.d"));
            File.WriteAllText(Path.Combine(dir, "registries.conf"), "unqualified-search-registries = [\"quay.io\"]\n[aliases]\na = \"quay.io/a/a\"\n");
            File.WriteAllText(Path.Combine(dir, "registries.conf.d", "10-more.conf"), "[aliases]\nb = \"quay.io/b/b\"\n[[registry]]\nlocation = \"x.io\"\ninsecure = true\n");
            File.WriteAllText(Path.Combine(dir, "registries.conf.d", "20-search.conf"), "unqualified-search-registries = [\"docker.io\"]\n");
            var env = new RegistryEnvironment(home, null, null, null, null, null, 0);
            var c = RegistriesConf.Load(env);
            Assert.Equal(["docker.io"], c.UnqualifiedSearchRegistries);
            Assert.Equal("quay.io/a/a", c.Aliases["a"]);
            Assert.Equal("quay.io/b/b", c.Aliases["b"]);
            Assert.True(c.IsInsecure("x.io"));
            Assert.Equal(Path.Combine(dir, "registries.conf"), c.Sources.First(s => !s.StartsWith("/etc/")));
            var only = RegistriesConf.Load(env, Path.Combine(dir, "registries.conf.d", "10-more.conf"));
            Assert.Empty(only.UnqualifiedSearchRegistries);
            Assert.Throws<RegistryException>(() => RegistriesConf.Load(env, Path.Combine(home, "missing.conf")));
        }
        finally
        {
            Directory.Delete(home, true);
        }
    }
}
