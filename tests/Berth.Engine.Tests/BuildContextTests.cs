using Berth.Engine.Build.Context;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>The build context: .containerignore/.dockerignore as moby applies them, COPY sources as docker matches them, and the content digest a cache key is made of.</summary>
public sealed class BuildContextTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-ctx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Put(string relative, string content = "x", string? root = null)
    {
        var path = Path.Combine(root ?? _dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    static List<string> Paths(ContextMatch m) => m.Entries.Select(e => e.ContextPath).ToList();

    [Theory]
    [InlineData("*.log", "a.log", true)]
    [InlineData("*.log", "sub/a.log", false)]
    [InlineData("**/*.log", "sub/deep/a.log", true)]
    [InlineData("**/*.log", "a.log", true)]
    [InlineData("build", "build/out/x.o", true)]
    [InlineData("/build", "build", true)]
    [InlineData("./tmp/", "tmp/file", true)]
    [InlineData("docs/**", "docs/a/b", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "a/c", false)]
    [InlineData("[a-c]x", "bx", true)]
    [InlineData("[^a-c]x", "bx", false)]
    [InlineData("file.txt", "fileXtxt", false)]
    [InlineData("**", "anything/at/all", true)]
    public void Ignore_patterns_follow_moby_patternmatcher(string pattern, string path, bool ignored) =>
        Assert.Equal(ignored, IgnorePatterns.Parse(pattern, ".dockerignore").IsIgnored(path));

    [Fact]
    public void The_last_matching_pattern_decides_and_an_exception_reincludes()
    {
        var p = IgnorePatterns.Parse("# comment\n\n*.md\n!README.md\nREADME*.md\n!README-keep.md\n", ".dockerignore");
        Assert.True(p.IsIgnored("CHANGES.md"));
        Assert.True(p.IsIgnored("README.md"));      // README*.md comes after !README.md
        Assert.False(p.IsIgnored("README-keep.md"));
        Assert.False(p.IsIgnored("main.c"));
    }

    [Fact]
    public void Containerignore_wins_over_dockerignore_and_both_stay_readable()
    {
        Put(".dockerignore", "*.c\n");
        Put(".containerignore", "*.h\nContainerfile\n.containerignore\n");
        Put("Containerfile", "FROM scratch\n");
        Put("a.c");
        Put("a.h");
        using var ctx = BuildContext.Open(_dir);
        Assert.Equal(".containerignore", ctx.IgnoreFile);
        Assert.Equal("FROM scratch\n", System.Text.Encoding.UTF8.GetString(ctx.ReadFile("Containerfile", 1 << 20)));
        var all = Paths(ctx.Match(new[] { "." }));
        Assert.Equal(new[] { "", ".dockerignore", "a.c" }, all);
    }

    [Fact]
    public void A_directory_source_brings_its_tree_less_ignored_files_with_reincluded_ones_inside_ignored_dirs()
    {
        Put(".dockerignore", "src/**/*.o\nsrc/gen\n!src/gen/keep.txt\n");
        Put("src/main.c");
        Put("src/obj/main.o");
        Put("src/gen/drop.txt");
        Put("src/gen/keep.txt");
        Directory.CreateDirectory(Path.Combine(_dir, "src/empty"));
        File.CreateSymbolicLink(Path.Combine(_dir, "src/link"), "main.c");
        using var ctx = BuildContext.Open(_dir);
        var m = ctx.Match(new[] { "src" });
        Assert.Equal(new[] { "src", "src/empty", "src/gen", "src/gen/keep.txt", "src/link", "src/main.c", "src/obj" }, Paths(m));
        Assert.Equal("main.c", m.Entries.Single(e => e.Relative == "link").LinkTarget);
        Assert.True(m.Sources.Single().IsDirectory);
    }

    [Fact]
    public void Globs_match_one_path_element_at_a_time_and_skip_ignored_files()
    {
        Put(".dockerignore", "b.txt\n");
        Put("a.txt");
        Put("b.txt");
        Put("c.md");
        Put("sub/d.txt");
        using var ctx = BuildContext.Open(_dir);
        Assert.Equal(new[] { "a.txt" }, Paths(ctx.Match(new[] { "*.txt" })));
        Assert.Equal(new[] { "sub/d.txt" }, Paths(ctx.Match(new[] { "s?b/[a-d].txt" })));
        Assert.Equal(new[] { "a.txt", "c.md" }, Paths(ctx.Match(new[] { "/[ac].*" })));
    }

    [Theory]
    [InlineData("missing.txt", "COPY source \"missing.txt\" not found in context")]
    [InlineData("*.none", "COPY source \"*.none\" not found in context")]
    [InlineData("secret.key", "COPY source \"secret.key\" not found in context")]
    [InlineData("../outside", "COPY source \"../outside\" is outside the build context")]
    [InlineData("a/../../outside", "COPY source \"a/../../outside\" is outside the build context")]
    [InlineData("[", "\"[\" is not a valid pattern (syntax error in pattern)")]
    public void A_bad_source_is_one_error_naming_it(string source, string message)
    {
        Put(".dockerignore", "secret.key\n");
        Put("secret.key");
        using var ctx = BuildContext.Open(_dir);
        var e = Assert.Throws<EngineException>(() => ctx.Match(new[] { source }));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_symlink_out_of_the_context_resolves_inside_it()
    {
        Put("etc/passwd", "the context's own");
        File.CreateSymbolicLink(Path.Combine(_dir, "abs"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(_dir, "up"), "../../../../../../etc/passwd");
        File.CreateSymbolicLink(Path.Combine(_dir, "gone"), "/nonexistent-berth");
        using var ctx = BuildContext.Open(_dir);
        Assert.Equal(new[] { "etc/passwd" }, Paths(ctx.Match(new[] { "abs" })));
        Assert.Equal(new[] { "etc/passwd" }, Paths(ctx.Match(new[] { "up" })));
        Assert.Throws<EngineException>(() => ctx.Match(new[] { "gone" }));
    }

    [Fact]
    public void The_digest_names_content_modes_owners_and_links_but_not_where_or_when()
    {
        var other = Directory.CreateTempSubdirectory("berth-ctx-other-").FullName;
        try
        {
            foreach (var root in new[] { _dir, other })
            {
                Put("app/a.txt", "alpha", root);
                Put("app/b/c.txt", "gamma", root);
                File.CreateSymbolicLink(Path.Combine(root, "app/l"), "a.txt");
            }
            File.SetLastWriteTimeUtc(Path.Combine(other, "app/a.txt"), new DateTime(2001, 1, 1));
            string D(string root, uint? uid = null, uint? chmod = null)
            {
                using var ctx = BuildContext.Open(root);
                return ctx.Match(new[] { "app" }).Digest(uid, uid, chmod);
            }
            var first = D(_dir);
            Assert.Matches("^sha256:[0-9a-f]{64}$", first);
            Assert.Equal(first, D(other));
            Assert.NotEqual(first, D(_dir, uid: 1000));
            Assert.NotEqual(first, D(_dir, chmod: 0x1ff));

            File.WriteAllText(Path.Combine(other, "app/b/c.txt"), "gammA");
            Assert.NotEqual(first, D(other));
            File.WriteAllText(Path.Combine(other, "app/b/c.txt"), "gamma");
            Assert.Equal(first, D(other));
            File.SetUnixFileMode(Path.Combine(other, "app/a.txt"), UnixFileMode.UserRead);
            Assert.NotEqual(first, D(other));
            File.SetUnixFileMode(Path.Combine(other, "app/a.txt"), File.GetUnixFileMode(Path.Combine(_dir, "app/a.txt")));
            File.Delete(Path.Combine(other, "app/l"));
            File.CreateSymbolicLink(Path.Combine(other, "app/l"), "b");
            Assert.NotEqual(first, D(other));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public void An_ignored_file_changing_does_not_change_the_digest()
    {
        Put(".dockerignore", "*.tmp\n");
        Put("a");
        Put("scratch.tmp", "one");
        string D()
        {
            using var ctx = BuildContext.Open(_dir);
            return ctx.Match(new[] { "." }).Digest();
        }
        var before = D();
        File.WriteAllText(Path.Combine(_dir, "scratch.tmp"), "two");
        Assert.Equal(before, D());
        File.WriteAllText(Path.Combine(_dir, "a"), "y");
        Assert.NotEqual(before, D());
    }

    [Theory]
    [InlineData("*.go", "main.go", true)]
    [InlineData("*.go", "dir/main.go", false)]
    [InlineData("\\*x", "*x", true)]
    [InlineData("\\*x", "ax", false)]
    [InlineData("a*b*c", "aXbYbc", true)]
    [InlineData("[!]", "!", true)]
    [InlineData("[^x]", "y", true)]
    [InlineData("[a-]", "a", false)]
    public void Sources_are_matched_as_go_filepath_match(string pattern, string name, bool match)
    {
        if (pattern == "[a-]")
        {
            Assert.Throws<EngineException>(() => Glob.Match(pattern, name));
            return;
        }
        Assert.Equal(match, Glob.Match(pattern, name));
    }
}
