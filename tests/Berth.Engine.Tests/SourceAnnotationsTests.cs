using System.Diagnostics;
using Berth.Engine.Build.Annotations;
using Berth.Images.Layers;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>org.opencontainers.image.source|revision|created: from --annotation, else a label, else the context's git checkout (checked against git itself).</summary>
public sealed class SourceAnnotationsTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-git-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main" }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)}: {error}");
        return output.Trim();
    }

    string Repo()
    {
        var repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(Path.Combine(repo, "app"));
        File.WriteAllText(Path.Combine(repo, "app", "Containerfile"), "FROM scratch\n");
        Git(repo, "init", "-q");
        Git(repo, "remote", "add", "origin", "https://builder:s3cret-token@git.example.org/team/app.git");
        Git(repo, "add", ".");
        Git(repo, "commit", "-q", "-m", "one");
        return repo;
    }

    [Fact]
    public void A_checkout_gives_its_origin_without_credentials_and_its_head_commit()
    {
        var repo = Repo();
        var git = SourceAnnotations.FromGit(Path.Combine(repo, "app"));
        Assert.Equal("https://git.example.org/team/app.git", git[SourceAnnotations.Source]);
        Assert.Equal(Git(repo, "rev-parse", "HEAD"), git[SourceAnnotations.Revision]);

        // Packed refs (git gc, a fresh clone) and a detached HEAD read the same.
        Git(repo, "commit", "-q", "--allow-empty", "-m", "two");
        Git(repo, "pack-refs", "--all");
        Assert.False(File.Exists(Path.Combine(repo, ".git", "refs", "heads", "main")));
        Assert.Equal(Git(repo, "rev-parse", "HEAD"), SourceAnnotations.FromGit(repo)[SourceAnnotations.Revision]);
        Git(repo, "checkout", "-q", "--detach", "HEAD~1");
        Assert.Equal(Git(repo, "rev-parse", "HEAD"), SourceAnnotations.FromGit(repo)[SourceAnnotations.Revision]);
    }

    [Fact]
    public void A_worktree_reads_its_own_head_and_the_common_config()
    {
        var repo = Repo();
        var wt = Path.Combine(_dir, "wt");
        Git(repo, "worktree", "add", "-q", "-b", "side", wt);
        Git(wt, "commit", "-q", "--allow-empty", "-m", "side");
        var git = SourceAnnotations.FromGit(wt);
        Assert.Equal(Git(wt, "rev-parse", "HEAD"), git[SourceAnnotations.Revision]);
        Assert.NotEqual(Git(repo, "rev-parse", "HEAD"), git[SourceAnnotations.Revision]);
        Assert.Equal("https://git.example.org/team/app.git", git[SourceAnnotations.Source]);
    }

    [Fact]
    public void An_annotation_beats_a_label_which_beats_the_checkout_and_created_is_the_timestamp()
    {
        var repo = Repo();
        var result = SourceAnnotations.For(repo,
            new Dictionary<string, string> { [SourceAnnotations.Source] = "https://explicit.example/x", ["other"] = "kept" },
            new Dictionary<string, string> { [SourceAnnotations.Source] = "https://label.example/x", [SourceAnnotations.Revision] = "from-label" },
            new BuildTimestamp(1_700_000_000), DateTimeOffset.UtcNow);
        Assert.Equal("https://explicit.example/x", result[SourceAnnotations.Source]);
        Assert.Equal("from-label", result[SourceAnnotations.Revision]);
        Assert.Equal("2023-11-14T22:13:20Z", result[SourceAnnotations.Created]);
        Assert.Equal("kept", result["other"]);
    }

    [Fact]
    public void Outside_a_checkout_there_is_only_created()
    {
        var plain = Path.Combine(_dir, "plain");
        Directory.CreateDirectory(plain);
        Assert.Empty(SourceAnnotations.FromGit(plain));
        var now = new DateTimeOffset(2026, 12, 2, 3, 4, 5, TimeSpan.Zero);
        var result = SourceAnnotations.For(plain, null, null, null, now);
        Assert.Equal(new[] { SourceAnnotations.Created }, result.Keys.ToArray());
        Assert.Equal("2026-12-02T03:04:05Z", result[SourceAnnotations.Created]);
    }

    [Theory]
    [InlineData("https://u:p@host/r.git", "https://host/r.git")]
    [InlineData("https://host/r.git", "https://host/r.git")]
    [InlineData("ssh://git@host:22/r.git", "ssh://host:22/r.git")]
    [InlineData("git@host:org/r.git", "git@host:org/r.git")]
    public void Credentials_never_reach_the_image(string url, string published) =>
        Assert.Equal(published, SourceAnnotations.WithoutCredentials(url));
}
