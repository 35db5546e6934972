using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// A file operation that fails — a read-only file system, a file where a directory should be or
/// the other way round, a symlink loop, a missing directory — reads like every other error:
/// exit 1 and one line, "berth: &lt;operation&gt;: &lt;path&gt;: &lt;errno&gt;", never .NET's wording nor
/// a stack trace. Every path here fails for root too.
/// </summary>
public class FileErrorTests
{
    static (Sandbox S, string File, string Loop) World()
    {
        var s = new Sandbox();
        var file = Path.Combine(s.Work, "a-file");
        File.WriteAllText(file, "");
        var loop = Path.Combine(s.Work, "loop");
        File.CreateSymbolicLink(loop, "loop");
        return (s, file, loop);
    }

    [Fact]
    public void Spec_into_a_directory_it_cannot_write_names_the_file_and_the_errno()
    {
        var (s, file, loop) = World();
        using var _ = s;
        using var ro = new ReadOnlyDirectory(s.Work);
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", ro.Path).FailsNaming($"berth: spec: writing {ro.Path}/config.json: EROFS (Read-only file system)");
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", file).FailsNaming($"{file}/config.json", "ENOTDIR");
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", loop).FailsNaming($"{loop}/config.json", "ELOOP");
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", Path.Combine(s.Work, "missing")).FailsNaming($"{s.Work}/missing/config.json", "ENOENT");
        // A pid's /proc directory takes no new files.
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", "/proc/1").FailsNaming("/proc/1/config.json");
        // An existing config is runc's message, and stays as it was.
        var bundle = Path.Combine(s.Work, "b");
        Directory.CreateDirectory(bundle);
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", bundle).Ok();
        var before = File.ReadAllText(Path.Combine(bundle, "config.json"));
        Sandbox.Exec(Sandbox.Binary, "spec", "--bundle", bundle).FailsNaming($"{bundle}/config.json", "exists; remove it first");
        Assert.Equal(before, File.ReadAllText(Path.Combine(bundle, "config.json")));
    }

    [Fact]
    public void A_state_root_that_is_a_file_or_cannot_be_made_is_named()
    {
        var (s, file, _) = World();
        using var _ = s;
        using var ro = new ReadOnlyDirectory(s.Work);
        var bundle = s.Bundle(new[] { "true" });
        var id = Sandbox.NewId();
        Sandbox.Exec(Sandbox.Binary, "--root", file, "create", "--bundle", bundle, id).FailsNaming($"--root: {file} is not a directory");
        Sandbox.Exec(Sandbox.Binary, "--root", file, "run", "--bundle", bundle, id).FailsNaming(file);
        Sandbox.Exec(Sandbox.Binary, "--root", file, "list").FailsNaming($"berth: list: listing {file}: ENOTDIR (Not a directory)");
        Sandbox.Exec(Sandbox.Binary, "--root", Path.Combine(file, "state"), "create", "--bundle", bundle, id)
            .FailsNaming($"berth: create: mkdir {file}/state: ENOTDIR (Not a directory)");
        Sandbox.Exec(Sandbox.Binary, "--root", Path.Combine(ro.Path, "state"), "run", "--bundle", bundle, id)
            .FailsNaming($"{ro.Path}/state", "EROFS");
        // A root that is not there yet holds no containers: list is empty, as runc's.
        Sandbox.Exec(Sandbox.Binary, "--root", Path.Combine(s.Work, "not-yet"), "list").Ok();
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
    }

    [Fact]
    public void A_log_file_that_cannot_be_opened_is_named_and_one_that_cannot_be_written_fails_nothing()
    {
        var (s, file, loop) = World();
        using var _ = s;
        using var ro = new ReadOnlyDirectory(s.Work);
        Sandbox.Exec(Sandbox.Binary, "--log", s.Work, "list").FailsNaming($"berth: --log: open {s.Work}: EISDIR (Is a directory)");
        Sandbox.Exec(Sandbox.Binary, "--log", Path.Combine(ro.Path, "log"), "list").FailsNaming($"{ro.Path}/log", "EROFS");
        Sandbox.Exec(Sandbox.Binary, "--log", Path.Combine(file, "log"), "list").FailsNaming($"{file}/log", "ENOTDIR");
        Sandbox.Exec(Sandbox.Binary, "--log", loop, "list").FailsNaming(loop, "ELOOP");
        // A full disk under the log: the command's own error is still the one line it prints.
        s.Berth("--log", "/dev/full", "state", "nope").FailsNaming("container \"nope\" does not exist");
        Assert.Equal(0, s.Berth("--log", "/dev/full", "list").ExitCode);
    }

    [Fact]
    public void A_pid_file_that_cannot_be_written_fails_create_exec_and_run_and_leaves_nothing()
    {
        var (s, file, loop) = World();
        using var _ = s;
        using var ro = new ReadOnlyDirectory(s.Work);
        var bundle = s.Bundle(new[] { "sleep", "60" });
        var id = Sandbox.NewId();
        var missing = Path.Combine(s.Work, "no-such-dir", "pid");
        s.Berth("create", "--pid-file", missing, "--bundle", bundle, id).FailsNaming($"berth: --pid-file: writing {missing}: ENOENT (No such file or directory)");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)), "state directory left behind");
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d), $"cgroup left behind: {d}"));
        s.Berth("run", "--detach", "--pid-file", Path.Combine(loop, "pid"), "--bundle", bundle, id).FailsNaming($"{loop}/pid", "ELOOP");
        s.Berth("run", "--pid-file", Path.Combine(file, "pid"), "--bundle", bundle, id).FailsNaming($"{file}/pid", "ENOTDIR");
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)), "state directory left behind");

        s.Berth("run", "--detach", "--bundle", bundle, id).Ok();
        s.Berth("exec", "--pid-file", Path.Combine(ro.Path, "pid"), id, "true").FailsNaming($"--pid-file: writing {ro.Path}/pid", "EROFS");
        Directory.CreateDirectory(Path.Combine(s.Work, "a-dir"));
        s.Berth("exec", "--pid-file", Path.Combine(s.Work, "a-dir"), id, "true").FailsNaming($"{s.Work}/a-dir", "EISDIR");
    }

    [Fact]
    public void Update_and_exec_name_a_resources_or_process_file_they_cannot_read()
    {
        var (s, _, loop) = World();
        using var __ = s;
        var id = Sandbox.NewId();
        s.Berth("run", "--detach", "--bundle", s.Bundle(new[] { "sleep", "60" }), id).Ok();
        s.Berth("update", "--resources", s.Work, id).FailsNaming($"berth: update: --resources: read {s.Work}: is a directory, not a regular file");
        s.Berth("update", "--resources", loop, id).FailsNaming(loop, "ELOOP");
        s.Berth("update", "--resources", Path.Combine(s.Work, "none.json"), id).FailsNaming($"{s.Work}/none.json", "ENOENT");
        s.Berth("exec", "--process", s.Work, id).FailsNaming($"--process: read {s.Work}: is a directory");
        s.Berth("exec", "--process", loop, id).FailsNaming(loop, "ELOOP");
    }
}
