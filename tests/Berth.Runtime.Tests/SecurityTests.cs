using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>Capabilities, no_new_privs, keyrings, LSM: asserted from inside the container.</summary>
public class SecurityTests
{
    internal static Dictionary<string, string> Status(string text) =>
        text.Split('\n').Where(l => l.Contains(':')).Select(l => l.Split(':', 2)).GroupBy(p => p[0]).ToDictionary(g => g.Key, g => g.First()[1].Trim());

    const string ReadStatus = "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status";

    static JsonArray Caps(params string[] names) => new(names.Select(n => (JsonNode)n!).ToArray());

    internal static Action<JsonObject> CapConfig(uint uid) => c =>
    {
        c["process"]!["user"] = new JsonObject { ["uid"] = uid, ["gid"] = uid };
        c["process"]!["capabilities"] = new JsonObject
        {
            ["bounding"] = Caps("CAP_NET_BIND_SERVICE", "CAP_KILL", "CAP_CHOWN"),
            ["effective"] = Caps("CAP_KILL", "CAP_CHOWN"),
            ["permitted"] = Caps("CAP_KILL", "CAP_CHOWN"),
            ["inheritable"] = Caps("CAP_CHOWN"),
            ["ambient"] = Caps("CAP_CHOWN"),
        };
    };

    [Fact]
    public void A_non_root_process_keeps_exactly_its_ambient_capabilities()
    {
        using var s = new Sandbox();
        var st = Status(s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", ReadStatus }, CapConfig(1000)), Sandbox.NewId()).Ok().Stdout);
        Assert.Equal("0000000000000421", st["CapBnd"]);
        Assert.Equal("0000000000000001", st["CapInh"]);
        Assert.Equal("0000000000000001", st["CapAmb"]);
        Assert.Equal("0000000000000001", st["CapPrm"]);
        Assert.Equal("0000000000000001", st["CapEff"]);
    }

    [Fact]
    public void Root_with_no_new_privileges_keeps_its_permitted_set_and_gains_nothing_from_the_bounding_set()
    {
        using var s = new Sandbox();
        var st = Status(s.Berth("run", "--bundle", s.Bundle(new[] { "sh", "-c", ReadStatus }, CapConfig(0)), Sandbox.NewId()).Ok().Stdout);
        Assert.Equal("0000000000000421", st["CapBnd"]);
        Assert.Equal("0000000000000021", st["CapPrm"]);
        Assert.Equal("0000000000000021", st["CapEff"]);
        Assert.Equal("0000000000000001", st["CapInh"]);
    }

    [Fact]
    public void Root_without_no_new_privileges_gets_its_bounding_set_at_exec()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadStatus }, c => { CapConfig(0)(c); c["process"]!["noNewPrivileges"] = false; });
        var st = Status(s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
        Assert.Equal("0000000000000421", st["CapPrm"]);
        Assert.Equal("0000000000000421", st["CapEff"]);
    }

    [Fact]
    public void An_unknown_capability_is_a_warning_naming_it_and_left_out()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadStatus }, c =>
        {
            CapConfig(0)(c);
            c["process"]!["capabilities"]!["effective"] = Caps("CAP_KILL", "CAP_FLY");
        });
        var r = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
        Assert.Contains("warning", r.Stderr);
        Assert.Contains("process.capabilities.effective[1] \"CAP_FLY\"", r.Stderr);
        Assert.Equal("0000000000000421", Status(r.Stdout)["CapBnd"]);
    }

    [Fact]
    public void A_capability_the_host_lacks_is_a_warning_and_left_out()
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadStatus }, c =>
            c["process"]!["capabilities"]!["bounding"]!.AsArray().Add("CAP_SYS_RESOURCE"));
        var r = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok();
        Assert.Contains("warning", r.Stderr);
        Assert.Contains("CAP_SYS_RESOURCE", r.Stderr);
        Assert.Equal(0UL, Convert.ToUInt64(Status(r.Stdout)["CapBnd"], 16) & (1UL << 24));
    }

    [Theory]
    [InlineData(true, "1")]
    [InlineData(false, "0")]
    public void No_new_privileges_is_set_as_configured(bool nnp, string expected)
    {
        using var s = new Sandbox();
        var bundle = s.Bundle(new[] { "sh", "-c", ReadStatus }, c => c["process"]!["noNewPrivileges"] = nnp);
        Assert.Equal(expected, Status(s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout)["NoNewPrivs"]);
    }

    [Fact]
    public void Each_container_gets_its_own_session_keyring_unless_told_not_to()
    {
        using var s = new Sandbox();
        // The probe asks keyctl(GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING) for the session
        // keyring's serial; /proc/keys (unmasked for this test) gives its name.
        const string script = "printf '%08x\\n' $(probe 250 0 -3 0 | cut -d' ' -f2); cat /proc/keys";
        string SessionName(string output)
        {
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var line = lines.Skip(1).Single(l => l.StartsWith(lines[0] + " "));
            return line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[8].TrimEnd(':');
        }
        string Run(string name, params string[] flags)
        {
            var bundle = s.Bundle(new[] { "sh", "-c", script }, c => c["linux"]!["maskedPaths"] = new JsonArray(), name: name);
            NativeTools.InstallProbe(bundle);
            var id = Sandbox.NewId();
            return SessionName(s.Berth(new[] { "run" }.Concat(flags).Concat(new[] { "--bundle", bundle, id }).ToArray()).Ok().Stdout) + "|" + id;
        }
        var own = Run("a").Split('|');
        Assert.Equal($"_ses.{own[1]}", own[0]);
        var shared = Run("b", "--no-new-keyring").Split('|');
        Assert.False(shared[0].StartsWith("_ses.t-"), $"session keyring {shared[0]}");
    }

    [Theory]
    [InlineData("apparmor", "process.apparmorProfile", "AppArmor is not enabled")]
    [InlineData("selinux", "process.selinuxLabel", "SELinux is not enabled")]
    [InlineData("mountlabel", "linux.mountLabel", "SELinux is not enabled")]
    [InlineData("context", "mounts[7].options", "SELinux is not enabled")]
    public void A_security_label_this_host_cannot_apply_is_an_error(string which, string field, string message)
    {
        using var s = new Sandbox();
        var id = Sandbox.NewId();
        var bundle = s.Bundle(new[] { "true" }, c =>
        {
            switch (which)
            {
                case "apparmor": c["process"]!["apparmorProfile"] = "berth-default"; break;
                case "selinux": c["process"]!["selinuxLabel"] = "system_u:system_r:container_t:s0"; break;
                case "mountlabel": c["linux"]!["mountLabel"] = "system_u:object_r:container_file_t:s0"; break;
                default:
                    c["mounts"]!.AsArray().Add(new JsonObject
                    {
                        ["destination"] = "/x", ["type"] = "tmpfs", ["source"] = "tmpfs",
                        ["options"] = new JsonArray("context=\"system_u:object_r:container_file_t:s0\""),
                    });
                    break;
            }
        });
        var r = s.Berth("create", "--bundle", bundle, id).Fails(field);
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
    }
}

/// <summary>linux.seccomp, proved with a raw-syscall probe inside the container.</summary>
public class SeccompTests
{
    // x86_64 syscall numbers the probe calls.
    const int Getcpu = 309, Mkdirat = 258, Umask = 95, Acct = 163, Mount = 165, Unshare = 272, Clone3 = 435, Socket = 41, Getpid = 39;

    static string Probe(Sandbox s, JsonObject seccomp, params string[] calls)
    {
        var script = string.Join("; ", calls.Select(c => $"probe {c}; echo exit=$?"));
        var bundle = s.Bundle(new[] { "sh", "-c", script }, c => c["linux"]!["seccomp"] = seccomp, name: Sandbox.NewId("b"));
        NativeTools.InstallProbe(bundle);
        return s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout;
    }

    static JsonObject Profile(string defaultAction, params JsonObject[] rules) => new()
    {
        ["defaultAction"] = defaultAction,
        ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
        ["syscalls"] = new JsonArray(rules.Select(r => (JsonNode)r).ToArray()),
    };

    static JsonObject Rule(string action, params string[] names) => new()
    {
        ["names"] = new JsonArray(names.Select(n => (JsonNode)n!).ToArray()), ["action"] = action,
    };

    [Fact]
    public void The_filter_is_installed_and_a_denied_syscall_fails_with_the_configured_errno()
    {
        using var s = new Sandbox();
        var rule = Rule("SCMP_ACT_ERRNO", "mkdirat");
        rule["errnoRet"] = 42;
        var bundle = s.Bundle(new[] { "sh", "-c", $"grep Seccomp /proc/self/status; probe {Mkdirat} -100 0 0; probe {Getpid}" },
            c => c["linux"]!["seccomp"] = Profile("SCMP_ACT_ALLOW", rule));
        NativeTools.InstallProbe(bundle);
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n');
        Assert.Matches(@"Seccomp:\s+2", lines[0]);
        Assert.Matches(@"Seccomp_filters:\s+1", lines[1]);
        Assert.Equal("err 42", lines[2]);
        Assert.StartsWith("ok ", lines[3]);
    }

    [Fact]
    public void Without_a_profile_there_is_no_filter()
    {
        using var s = new Sandbox();
        var r = s.Berth("run", "--bundle", s.Bundle(new[] { "grep", "Seccomp:", "/proc/self/status" }), Sandbox.NewId()).Ok();
        Assert.Matches(@"Seccomp:\s+0", r.Stdout);
    }

    [Fact]
    public void Syscalls_newer_than_the_profile_get_ENOSYS_and_unlisted_older_ones_the_default_errno()
    {
        using var s = new Sandbox();
        var profile = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "getpid", "write", "exit_group", "execve", "brk", "arch_prctl",
            "mmap", "munmap", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "mprotect", "readlinkat", "getrandom", "newfstatat", "fstat", "uname", "exit"));
        profile["defaultErrnoRet"] = 13;
        var lines = s.Berth("run", "--bundle", Bundle(s, profile, "/bin/probe", "999"), Sandbox.NewId()).Ok().Stdout;
        Assert.Equal("err 38\n", lines);
        lines = s.Berth("run", "--bundle", Bundle(s, profile, "/bin/probe", $"{Acct}", "0"), Sandbox.NewId()).Ok().Stdout;
        Assert.Equal("err 13\n", lines);
    }

    /// <summary>
    /// A profile that denies everything a minimal program does not need — close_range, capset,
    /// setuid, prctl(PR_CAPBSET_DROP) included — must not kill init: after the filter init only
    /// calls execve. Without no_new_privileges (the filter then needs CAP_SYS_ADMIN to load),
    /// and as a non-root user, whose capabilities must still end as its ambient set.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_profile_allowing_only_what_the_program_needs_runs_it(bool noNewPrivileges)
    {
        using var s = new Sandbox();
        // What busybox cat needs to print a file, and nothing init needs before its execve.
        var profile = Profile("SCMP_ACT_ERRNO", Rule("SCMP_ACT_ALLOW", "execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list",
            "rseq", "prlimit64", "mprotect", "readlink", "readlinkat", "getrandom", "getuid", "prctl", "openat", "open", "read", "write",
            "sendfile", "close", "fstat", "newfstatat", "exit_group", "exit"));
        var bundle = s.Bundle(new[] { "cat", "/proc/self/status" }, c =>
        {
            SecurityTests.CapConfig(1000)(c);
            c["process"]!["noNewPrivileges"] = noNewPrivileges;
            c["linux"]!["seccomp"] = profile.DeepClone();
        });
        var st = SecurityTests.Status(s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout);
        Assert.Equal("2", st["Seccomp"]);
        Assert.Equal(noNewPrivileges ? "1" : "0", st["NoNewPrivs"]);
        // CAP_SYS_ADMIN, kept until the filter was loaded, did not survive execve.
        Assert.Equal("0000000000000001", st["CapEff"]);
        Assert.Equal("0000000000000001", st["CapPrm"]);
        Assert.Equal("0000000000000421", st["CapBnd"]);
    }

    static string Bundle(Sandbox s, JsonObject seccomp, params string[] args)
    {
        var bundle = s.Bundle(args, c => c["linux"]!["seccomp"] = seccomp.DeepClone(), name: Sandbox.NewId("b"));
        NativeTools.InstallProbe(bundle);
        return bundle;
    }

    [Theory]
    [InlineData("SCMP_ACT_KILL")]
    [InlineData("SCMP_ACT_KILL_PROCESS")]
    [InlineData("SCMP_ACT_KILL_THREAD")]
    [InlineData("SCMP_ACT_TRAP")]
    public void Kill_and_trap_actions_end_the_process_with_SIGSYS(string action)
    {
        using var s = new Sandbox();
        var out_ = Probe(s, Profile("SCMP_ACT_ALLOW", Rule(action, "getcpu")), $"{Getcpu}", $"{Getpid}");
        Assert.Contains("exit=159", out_); // 128 + SIGSYS
        Assert.Contains("ok ", out_);      // the second probe is unaffected
    }

    [Fact]
    public void Trace_without_a_tracer_fails_with_ENOSYS_and_log_allows()
    {
        using var s = new Sandbox();
        var out_ = Probe(s, Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_TRACE", "getcpu"), Rule("SCMP_ACT_LOG", "getpid")), $"{Getcpu}", $"{Getpid}");
        Assert.Contains("err 38", out_);
        Assert.Matches(@"ok \d+", out_);
    }

    [Fact]
    public void Argument_conditions_including_masked_equality_select_calls()
    {
        using var s = new Sandbox();
        var rule = Rule("SCMP_ACT_ERRNO", "umask");
        rule["errnoRet"] = 7;
        rule["args"] = new JsonArray(new JsonObject { ["index"] = 0, ["value"] = 7, ["valueTwo"] = 2, ["op"] = "SCMP_CMP_MASKED_EQ" });
        var out_ = Probe(s, Profile("SCMP_ACT_ALLOW", rule), $"{Umask} 0x12", $"{Umask} 0x10");
        var lines = out_.Split('\n');
        Assert.Equal("err 7", lines[0]);
        Assert.StartsWith("ok ", lines[2]);
    }

    [Fact]
    public void Two_conditions_on_one_argument_become_separate_rules()
    {
        using var s = new Sandbox();
        var rule = Rule("SCMP_ACT_ERRNO", "umask");
        rule["errnoRet"] = 9;
        rule["args"] = new JsonArray(
            new JsonObject { ["index"] = 0, ["value"] = 0x11, ["op"] = "SCMP_CMP_EQ" },
            new JsonObject { ["index"] = 0, ["value"] = 0x22, ["op"] = "SCMP_CMP_EQ" });
        var lines = Probe(s, Profile("SCMP_ACT_ALLOW", rule), $"{Umask} 0x11", $"{Umask} 0x22", $"{Umask} 0x33").Split('\n');
        Assert.Equal("err 9", lines[0]);
        Assert.Equal("err 9", lines[2]);
        Assert.StartsWith("ok ", lines[4]);
    }

    [Fact]
    public void Flags_and_unknown_syscall_names_are_accepted()
    {
        using var s = new Sandbox();
        var profile = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_ERRNO", "getcpu", "no_such_syscall_in_any_kernel"));
        profile["flags"] = new JsonArray("SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
        Assert.StartsWith("err 1", Probe(s, profile, $"{Getcpu}"));
    }

    [Fact]
    public void Notify_hands_the_listener_fd_and_state_to_the_agent_which_answers_the_call()
    {
        using var s = new Sandbox();
        var socket = Path.Combine(s.Work, "agent.sock");
        var stateFile = Path.Combine(s.Work, "state.json");
        var agent = Process.Start(new ProcessStartInfo(NativeTools.Listener, new[] { socket, stateFile }) { RedirectStandardOutput = true })!;
        try
        {
            Assert.Equal("listening", agent.StandardOutput.ReadLine());
            var profile = Profile("SCMP_ACT_ALLOW", Rule("SCMP_ACT_NOTIFY", "getcpu"));
            profile["listenerPath"] = socket;
            profile["listenerMetadata"] = "berth-test-metadata";
            var id = Sandbox.NewId();
            var bundle = Bundle(s, profile, "/bin/probe", $"{Getcpu}");
            var r = s.Berth("run", "--bundle", bundle, id).Ok();
            Assert.Equal("ok 4242\n", r.Stdout);
            Assert.True(agent.WaitForExit(10_000));
            var state = JsonNode.Parse(File.ReadAllText(stateFile))!.AsObject();
            Assert.Equal("seccompFd", (string)state["fds"]![0]!);
            Assert.Equal("berth-test-metadata", (string)state["metadata"]!);
            Assert.Equal(id, (string)state["state"]!["id"]!);
            Assert.True((int)state["pid"]! > 0);
            Assert.Equal($"notified {Getcpu}\n", File.ReadAllText(stateFile + ".n"));
        }
        finally
        {
            if (!agent.HasExited) agent.Kill();
        }
    }

    [Theory]
    [InlineData("op", "linux.seccomp.syscalls[0].args[0].op", "unknown operator")]
    [InlineData("index", "linux.seccomp.syscalls[0].args[0].index", "not an argument index")]
    [InlineData("action", "linux.seccomp.syscalls[0].action", "unknown action")]
    [InlineData("default", "linux.seccomp.defaultAction", "unknown action")]
    [InlineData("arch", "linux.seccomp.architectures[0]", "unknown architecture")]
    [InlineData("flag", "linux.seccomp.flags[0]", "unknown flag")]
    [InlineData("listener", "linux.seccomp.listenerPath", "required")]
    public void A_malformed_profile_is_refused_naming_the_field(string what, string field, string message)
    {
        using var s = new Sandbox();
        var rule = Rule("SCMP_ACT_ERRNO", "getcpu");
        rule["args"] = new JsonArray(new JsonObject { ["index"] = 0, ["value"] = 1, ["op"] = "SCMP_CMP_EQ" });
        var profile = Profile("SCMP_ACT_ALLOW", rule);
        switch (what)
        {
            case "op": rule["args"]![0]!["op"] = "SCMP_CMP_ROUGHLY"; break;
            case "index": rule["args"]![0]!["index"] = 6; break;
            case "action": rule["action"] = "SCMP_ACT_SHRUG"; break;
            case "default": profile["defaultAction"] = "SCMP_ACT_MAYBE"; break;
            case "arch": profile["architectures"] = new JsonArray("SCMP_ARCH_Z80"); break;
            case "flag": profile["flags"] = new JsonArray("SECCOMP_FILTER_FLAG_FAST"); break;
            case "listener": rule["action"] = "SCMP_ACT_NOTIFY"; break;
        }
        var id = Sandbox.NewId();
        var r = s.Berth("create", "--bundle", s.Bundle(new[] { "true" }, c => c["linux"]!["seccomp"] = profile), id).Fails(field);
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(s.Root, id)));
        Assert.All(HostCgroups.DirsFor(id), d => Assert.False(Directory.Exists(d)));
    }

    [Fact]
    public void The_hardened_spec_drops_privileges_and_blocks_what_a_container_should_not_do()
    {
        using var s = new Sandbox();
        var bundle = Path.Combine(s.Work, "hardened");
        Directory.CreateDirectory(bundle);
        Rootfs.Make(Path.Combine(bundle, "rootfs"));
        NativeTools.InstallProbe(bundle);
        Sandbox.Exec(Sandbox.Binary, "spec", "--hardened", "--bundle", bundle).Ok();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "config.json")))!.AsObject();
        config["process"]!["terminal"] = false;
        config["process"]!["args"] = new JsonArray("sh", "-c", string.Join("; ", new[]
        {
            "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
            "touch /root-write 2>/dev/null && echo root-writable || echo root-read-only",
            "touch /tmp/x && echo tmp-writable",
            $"probe {Mount} 0 0 0", $"probe {Unshare} 0x20000", $"probe {Clone3} 0 0", $"probe {Socket} 40 1 0", $"probe {Socket} 1 1 0", "probe 999",
        }));
        File.WriteAllText(Path.Combine(bundle, "config.json"), config.ToJsonString());
        var lines = s.Berth("run", "--bundle", bundle, Sandbox.NewId()).Ok().Stdout.Split('\n');
        Assert.Equal("CapEff:\t0000000000000400", lines[0]);
        Assert.Equal("CapBnd:\t0000000000000400", lines[1]);
        Assert.Equal("NoNewPrivs:\t1", lines[2]);
        Assert.Equal("Seccomp:\t2", lines[3]);
        Assert.Equal("root-read-only", lines[4]);
        Assert.Equal("tmp-writable", lines[5]);
        Assert.Equal("err 1", lines[6]);   // mount: EPERM
        Assert.Equal("err 1", lines[7]);   // unshare: EPERM
        Assert.Equal("err 38", lines[8]);  // clone3: ENOSYS, so libc falls back to clone
        Assert.Equal("err 1", lines[9]);   // AF_VSOCK socket
        Assert.StartsWith("ok ", lines[10]); // AF_UNIX socket
        Assert.Equal("err 38", lines[11]); // beyond the profile: ENOSYS
    }
}
