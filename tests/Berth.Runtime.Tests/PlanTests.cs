using Berth.Linux.Security;
using Berth.Oci.Runtime;
using Berth.Runtime.Init;
using Berth.Runtime.Protocol;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>
/// The plan init runs, read as data (no root, no container): the order of its steps is the
/// security, and native/init.c only follows it.
/// </summary>
public class PlanTests
{
    static InitConfig Config(Spec spec, bool seccomp, int fifo = 7) => new()
    {
        Id = "plan-test",
        Spec = spec,
        Bundle = "/bundle",
        Rootfs = "/bundle/rootfs",
        FifoFd = fifo,
        Capabilities = new CapabilitySets(0x421, 0x21, 0x21, 0x1, 0x1),
        SeccompProgram = seccomp ? new byte[16] : null,
    };

    static List<PlanOp> Ops(InitPlan plan) => plan.Steps.Select(s => s.Op).ToList();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void After_the_seccomp_filter_init_only_calls_execve(bool noNewPrivileges)
    {
        var spec = DefaultSpec.Create();
        spec.Process!.NoNewPrivileges = noNewPrivileges;
        var ops = Ops(PlanBuilder.Build(Config(spec, seccomp: true)));
        Assert.Equal(new[] { PlanOp.Seccomp, PlanOp.Exec }, ops.SkipWhile(o => o != PlanOp.Seccomp));
        Assert.Single(ops, PlanOp.Seccomp);
        // Descriptors marked close-on-exec and signals reset before it, not after.
        Assert.True(ops.IndexOf(PlanOp.CloseOnExecFrom) < ops.IndexOf(PlanOp.Seccomp));
        Assert.True(ops.IndexOf(PlanOp.ResetSignals) < ops.IndexOf(PlanOp.Seccomp));
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Without_no_new_privileges_CAP_SYS_ADMIN_stays_effective_until_the_filter_is_loaded(bool noNewPrivileges, bool kept)
    {
        var spec = DefaultSpec.Create();
        spec.Process!.NoNewPrivileges = noNewPrivileges;
        var capset = PlanBuilder.Build(Config(spec, seccomp: true)).Steps.Single(s => s.Op == PlanOp.Capset);
        const long sysAdmin = 1L << 21;
        Assert.Equal(kept, ((long)capset.Args[0] & sysAdmin) != 0);
        Assert.Equal(kept, ((long)capset.Args[1] & sysAdmin) != 0);
        // Never inheritable or ambient: it cannot survive execve.
        Assert.Equal(0, (long)capset.Args[2] & sysAdmin);
        var ambient = PlanBuilder.Build(Config(spec, seccomp: true)).Steps.Single(s => s.Op == PlanOp.Ambient);
        Assert.Equal(0, (long)ambient.Args[0] & sysAdmin);
    }

    [Fact]
    public void Every_step_that_can_fail_on_bad_input_comes_before_the_barrier()
    {
        var spec = DefaultSpec.Create();
        spec.Hostname = "box";
        spec.Linux!.Sysctl = new() { ["net.ipv4.ip_forward"] = "1" };
        var ops = Ops(PlanBuilder.Build(Config(spec, seccomp: false)));
        int ready = ops.IndexOf(PlanOp.Ready), barrier = ops.IndexOf(PlanOp.WaitFifo);
        Assert.True(ready >= 0 && ready + 1 == barrier, "ready, then the barrier");
        foreach (var op in new[] { PlanOp.Mount, PlanOp.PivotRoot, PlanOp.SetHostname, PlanOp.ProcWrite, PlanOp.Mask, PlanOp.Readonly,
                     PlanOp.Chdir, PlanOp.FindExec, PlanOp.Home, PlanOp.PrepareExec })
            Assert.True(ops.LastIndexOf(op) < ready, $"{op} after the barrier");
        foreach (var op in new[] { PlanOp.SetUid, PlanOp.Capset, PlanOp.Exec })
            Assert.True(ops.IndexOf(op) > barrier, $"{op} before the barrier");
    }

    [Fact]
    public void Rlimits_are_set_after_the_barrier_and_before_the_uid_switch()
    {
        var spec = DefaultSpec.Create();
        spec.Process!.Rlimits = new() { new Rlimit { Type = "RLIMIT_AS", Soft = 1 << 20, Hard = 1 << 20 } };
        var ops = Ops(PlanBuilder.Build(Config(spec, seccomp: false)));
        Assert.True(ops.IndexOf(PlanOp.Rlimit) > ops.IndexOf(PlanOp.WaitFifo));
        Assert.True(ops.IndexOf(PlanOp.Rlimit) < ops.IndexOf(PlanOp.SetUid));
        Assert.True(ops.IndexOf(PlanOp.Rlimit) < ops.IndexOf(PlanOp.DropBounding));
    }

    [Fact]
    public void Mounts_follow_the_config_in_order_and_pivot_root_follows_them()
    {
        var spec = DefaultSpec.Create();
        var steps = PlanBuilder.Build(Config(spec, seccomp: false)).Steps;
        var mounted = steps.Where(s => s.Op == PlanOp.Mount && s.Step.StartsWith("mounts[")).Select(s => s.Step).Distinct().ToList();
        Assert.Equal(spec.Mounts!.Select((m, i) => $"mounts[{i}] {m.Destination}"), mounted);
        int pivot = steps.FindIndex(s => s.Op == PlanOp.PivotRoot);
        Assert.True(steps.FindLastIndex(s => s.Step.StartsWith("mounts[")) < pivot);
        Assert.True(steps.FindIndex(s => s.Op == PlanOp.Mask) > pivot);
    }

    [Fact]
    public void Exec_builds_no_world_and_has_no_barrier()
    {
        var spec = DefaultSpec.Create();
        var cfg = Config(spec, seccomp: true, fifo: -1);
        cfg.Exec = true;
        var ops = Ops(PlanBuilder.Build(cfg));
        Assert.DoesNotContain(PlanOp.Mount, ops);
        Assert.DoesNotContain(PlanOp.PivotRoot, ops);
        Assert.DoesNotContain(PlanOp.WaitFifo, ops);
        Assert.Contains(PlanOp.Ready, ops);
        Assert.Equal(PlanOp.Exec, ops[^1]);
    }

    [Fact]
    public void The_wire_form_starts_with_the_magic_and_the_step_count()
    {
        var plan = PlanBuilder.Build(Config(DefaultSpec.Create(), seccomp: false));
        var bytes = plan.Encode();
        Assert.Equal(0x4e4c5042u, BitConverter.ToUInt32(bytes, 0));
        Assert.Equal((uint)plan.Steps.Count, BitConverter.ToUInt32(bytes, 4));
    }

    [Fact]
    public void A_nul_byte_in_an_argument_is_refused_not_cut()
    {
        var spec = DefaultSpec.Create();
        spec.Process!.Env = new() { "PATH=/bin", "A=b\0c" };
        var e = Assert.Throws<RuntimeException>(() => PlanBuilder.Build(Config(spec, seccomp: false)).Encode());
        Assert.Contains("NUL", e.Message);
    }
}
