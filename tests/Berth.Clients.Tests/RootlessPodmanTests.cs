using Xunit;

namespace Berth.Clients.Tests;

/// <summary>
/// Debian's podman as an unprivileged user the test creates: the runtime under test runs without root, in a user
/// namespace podman builds with newuidmap/newgidmap from the user's subordinate ranges. No network but none
/// (slirp4netns cannot open /dev/net/tun here), cgroupfs (cgroup v1: a rootless container gets no cgroup).
/// </summary>
[Collection("clients")]
public sealed class RootlessPodmanTests : IClassFixture<RootlessPodmanTests.User>, IDisposable
{
    /// <summary>
    /// A user with a home, subuid/subgid ranges and an XDG_RUNTIME_DIR it owns; its podman store in its home.
    /// At the end: its containers removed, its processes (podman's pause process, conmon) killed, the user, its
    /// home, its ranges and its runtime dir removed.
    /// </summary>
    public sealed class User : Engine
    {
        public const string Image = "localhost/berth-test/busybox:latest";
        public string Name { get; }
        public int Uid { get; }
        public int Gid { get; }
        public string Home => $"/home/{Name}";
        string Xdg => Path.Combine(Dir, "xdg");
        readonly bool _created;

        public User() : this(NewName()) { }

        static string NewName() => "berthrl" + Guid.NewGuid().ToString("N")[..8];

        User(string name) : base("podman-rootless", runtimeOwner: CreateUser(name))
        {
            Name = name;
            _created = true;
            Uid = int.Parse(Tool.MustRun("id", "-u", name).Stdout.Trim());
            Gid = int.Parse(Tool.MustRun("id", "-g", name).Stdout.Trim());
            try
            {
                EnsureSubordinateIds();
                Directory.CreateDirectory(Xdg);
                Tool.MustRun("chown", $"{Uid}:{Gid}", Xdg);
                File.SetUnixFileMode(Xdg, (UnixFileMode)0x1c0); // 0700, as pam_systemd makes it
                var tar = Busybox.RootfsTar(Path.Combine(Dir, "image"));
                Tool.MustRun("chmod", "-R", "a+rX", Path.Combine(Dir, "image"));
                var r = Podman("import", tar, Image);
                if (r.ExitCode != 0) throw new InvalidOperationException($"podman import as {Name} failed:\n{r}");
                var x = AsUser("test", "-x", Runtime.Path);
                if (x.ExitCode != 0) throw new InvalidOperationException($"{Name} cannot execute {Runtime.Path}:\n{x}");
            }
            catch
            {
                try { Dispose(); } catch (InvalidOperationException) { }
                throw;
            }
        }

        /// <summary>useradd before the base constructor: the runtime recorder's captures must belong to the user.</summary>
        static int CreateUser(string name)
        {
            Tool.MustRun("useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name);
            return int.Parse(Tool.MustRun("id", "-u", name).Stdout.Trim());
        }

        /// <summary>useradd allocates subordinate ranges when login.defs says so; otherwise give 65536 past every range in use.</summary>
        void EnsureSubordinateIds()
        {
            foreach (var (file, flag) in new[] { ("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids") })
            {
                var lines = File.Exists(file) ? File.ReadAllLines(file) : [];
                if (lines.Any(l => l.StartsWith(Name + ":", StringComparison.Ordinal))) continue;
                var start = lines.Select(l => l.Split(':')).Where(p => p.Length == 3)
                    .Select(p => long.Parse(p[1]) + long.Parse(p[2])).Append(100_000L).Max();
                Tool.MustRun("usermod", flag, $"{start}-{start + 65535}", Name);
            }
        }

        Dictionary<string, string> Env => new()
        {
            ["HOME"] = Home, ["USER"] = Name, ["LOGNAME"] = Name, ["XDG_RUNTIME_DIR"] = Xdg,
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        };

        /// <summary>A command as the user: setpriv drops to its uid, gid and groups, env -i gives it a login's environment.</summary>
        public Outcome AsUser(params string[] command) => Tool.Run("setpriv",
            new[] { $"--reuid={Uid}", $"--regid={Gid}", "--init-groups", "env", "-i" }
                .Concat(Env.Select(kv => $"{kv.Key}={kv.Value}")).Concat(command),
            workingDirectory: Home);

        public Outcome Podman(params string[] args) => AsUser(new[]
        {
            "podman", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
        }.Concat(args).ToArray());

        public Outcome Run(params string[] args) => Podman(new[]
        {
            "run", "--network", "none", "--pull", "never", "--runtime", Runtime.Path,
        }.Concat(args).ToArray());

        public void RemoveAll() => Podman("rm", "--all", "--force", "--time", "0");

        protected override string EngineLog() => "";

        protected override void Shutdown()
        {
            if (!_created) return;
            RemoveAll();
            Podman("system", "reset", "--force");
            // podman's rootless pause process holds the user namespace open; conmon may linger: all are the user's.
            for (var round = 0; round < 3 && HostCleanup.ProcessesOf(Uid).Count > 0; round++)
                HostCleanup.Kill(HostCleanup.ProcessesOf(Uid));
            var left = HostCleanup.ProcessesOf(Uid);
            if (left.Count > 0) Leaks.Add($"processes of {Name} that would not die: {string.Join(' ', left)}");
            var del = Tool.Run("userdel", "--remove", "--force", Name);
            if (del.ExitCode != 0 && Directory.Exists(Home)) Leaks.Add($"userdel {Name}: {del.Stderr.Trim()}");
            foreach (var file in new[] { "/etc/subuid", "/etc/subgid" })
                if (File.Exists(file) && File.ReadAllLines(file) is var lines && lines.Any(l => l.StartsWith(Name + ":", StringComparison.Ordinal)))
                {
                    File.WriteAllLines(file, lines.Where(l => !l.StartsWith(Name + ":", StringComparison.Ordinal)));
                    Leaks.Add($"{file} kept {Name}'s range after userdel");
                }
        }
    }

    readonly User _u;

    public RootlessPodmanTests(User u)
    {
        _u = u;
        _u.BeginTest();
    }

    public void Dispose() => _u.RemoveAll();

    [Fact]
    public void Run_is_root_of_a_user_namespace_mapped_to_the_user()
    {
        var r = _u.Ok(_u.Run("--rm", User.Image, "sh", "-c", "id -u; tr -s ' ' < /proc/self/uid_map | head -1; echo ok > /tmp/f && cat /tmp/f"));
        _u.Stdout($"0\n 0 {_u.Uid} 1\nok\n", r);
    }

    [Fact]
    public void Keep_id_runs_as_the_users_own_uid()
    {
        var r = _u.Ok(_u.Run("--rm", "--userns=keep-id", User.Image, "sh", "-c", "id -u; id -g"));
        _u.Stdout($"{_u.Uid}\n{_u.Gid}\n", r);
    }

    [Fact]
    public void Run_detached_then_exec()
    {
        var id = _u.Ok(_u.Run("-d", User.Image, "sleep", "300")).Stdout.Trim();
        var r = _u.Ok(_u.Podman("exec", id, "sh", "-c", "echo exec-ok; tr '\\0' ' ' < /proc/1/cmdline"));
        _u.Stdout("exec-ok\nsleep 300 ", r);
        _u.Ok(_u.Podman("rm", "--force", "--time", "0", id));
    }
}
