using Berth.Serve.Policy;
using Xunit;

namespace Berth.Serve.Tests.Policy;

public sealed class PolicyWatcherTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-policy-watch-").FullName;
    readonly List<string> _log = new();
    readonly List<(bool Ready, string Detail)> _ready = new();

    string PolicyFile => Path.Combine(_dir, "policy.yaml");

    PolicyWatcher Start(string yaml)
    {
        File.WriteAllText(PolicyFile, yaml);
        return new PolicyWatcher(PolicyFile, _log.Add, (r, d) => _ready.Add((r, d)));
    }

    // Written aside and renamed over, as editors save: the watcher reads by path, not by inode.
    void Save(string yaml)
    {
        File.WriteAllText(PolicyFile + ".new", yaml);
        File.Move(PolicyFile + ".new", PolicyFile, overwrite: true);
    }

    [Fact]
    public void A_changed_policy_is_reloaded_without_a_restart()
    {
        var w = Start("require: {max_severity: critical}\n");
        var first = w.Current;
        Assert.False(w.CheckNow());
        Assert.Same(first, w.Current);
        Save("require: {max_severity: high}\n");
        Assert.True(w.CheckNow());
        Assert.Equal(Berth.Supply.Vulnerabilities.Severity.High, w.Current.Require.MaxSeverity);
        Assert.Contains(_log, l => l.StartsWith($"policy: reloaded {PolicyFile}: sha256:"));
        Assert.True(_ready[^1].Ready);
    }

    [Fact]
    public void An_invalid_new_policy_keeps_the_old_one_and_says_why_in_the_log_and_readiness()
    {
        var w = Start("require: {max_severity: critical}\n");
        var good = w.Current;
        Save("require:\n  max_severity: hihg\n");
        Assert.False(w.CheckNow());
        Assert.False(w.CheckNow());
        Assert.Same(good, w.Current);
        var why = $"{PolicyFile}:2: require.max_severity: \"hihg\" is not one of critical, high, medium, low, none; keeping policy {good.Hash}";
        Assert.Equal([$"policy: not reloaded: {why}"], _log);
        Assert.Equal((false, why), _ready[^1]);

        Save("require: {max_severity: medium}\n");
        Assert.True(w.CheckNow());
        Assert.True(_ready[^1].Ready);
        Assert.Equal(Berth.Supply.Vulnerabilities.Severity.Medium, w.Current.Require.MaxSeverity);
    }

    [Fact]
    public void A_policy_that_does_not_load_at_start_is_the_start_error()
    {
        File.WriteAllText(PolicyFile, "require: {sbom: 3}\n");
        var e = Assert.Throws<PolicyException>(() => new PolicyWatcher(PolicyFile, _log.Add, (_, _) => { }));
        Assert.Equal($"{PolicyFile}:1: require.sbom: \"3\" is not true or false", e.Message);
    }

    [Fact]
    public void The_poll_interval_is_bounded()
    {
        File.WriteAllText(PolicyFile, "require: {sbom: true}\n");
        Assert.Equal(PolicyWatcher.MaxInterval, new PolicyWatcher(PolicyFile, _ => { }, (_, _) => { }, TimeSpan.FromHours(1)).Interval);
        Assert.Equal(TimeSpan.FromMilliseconds(200), new PolicyWatcher(PolicyFile, _ => { }, (_, _) => { }, TimeSpan.FromMilliseconds(200)).Interval);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
