using System.Buffers.Binary;
using Berth.Linux;
using Berth.Linux.Security;
using Berth.Runtime.Cgroups;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>The cgroup v2 device filter: its program run in an eBPF interpreter, and loaded into a real cgroup.</summary>
public class DeviceFilterTests
{
    const int Char = 2, Block = 1, M = 1, R = 2, W = 4;

    /// <summary>Evaluates the program the kernel would run for (type, access, major, minor).</summary>
    static int Run(byte[] program, int type, int access, int major, int minor)
    {
        var reg = new long[11];
        var ctx = new int[] { type | (access << 16), major, minor };
        int pc = 0;
        while (true)
        {
            var ins = program.AsSpan(pc * 8, 8);
            byte op = ins[0];
            int dst = ins[1] & 0xf, src = ins[1] >> 4;
            short off = BinaryPrimitives.ReadInt16LittleEndian(ins[2..]);
            int imm = BinaryPrimitives.ReadInt32LittleEndian(ins[4..]);
            pc++;
            switch (op)
            {
                case 0x61: Assert.Equal(1, src); reg[dst] = (uint)ctx[off / 4]; break;
                case 0xbf: reg[dst] = reg[src]; break;
                case 0xb7: reg[dst] = imm; break;
                case 0x57: reg[dst] &= imm; break;
                case 0x77: reg[dst] = (long)((ulong)reg[dst] >> imm); break;
                case 0x55: if (reg[dst] != imm) pc += off; break;
                case 0x15: if (reg[dst] == imm) pc += off; break;
                case 0x95: return (int)reg[0];
                default: throw new InvalidOperationException($"opcode 0x{op:x}");
            }
        }
    }

    static byte[] Program(params DeviceRule[] rules)
    {
        var (def, exceptions) = DeviceRules.Normalize(rules);
        return DeviceFilter.Build(def, exceptions);
    }

    [Fact]
    public void Deny_all_then_allowances_admit_exactly_what_is_allowed()
    {
        var p = Program(new DeviceRule(false, 'a', -1, -1, "rwm"), new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(true, 'c', 136, -1, "rw"));
        Assert.Equal(1, Run(p, Char, R | W, 1, 3));
        Assert.Equal(0, Run(p, Char, R, 1, 5));
        Assert.Equal(0, Run(p, Block, R, 1, 3));
        Assert.Equal(1, Run(p, Char, R, 136, 7));
        Assert.Equal(0, Run(p, Char, M, 136, 7)); // rw only: no mknod
    }

    [Fact]
    public void A_later_deny_takes_back_part_of_an_earlier_allow()
    {
        var p = Program(new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(false, 'c', 1, 3, "w"));
        Assert.Equal(1, Run(p, Char, R, 1, 3));
        Assert.Equal(0, Run(p, Char, W, 1, 3));
        Assert.Equal(0, Run(p, Char, R | W, 1, 3));
        Assert.Equal(1, Run(p, Char, R, 4, 4)); // no wildcard: the default allows
    }

    [Fact]
    public void A_wildcard_rule_resets_what_came_before()
    {
        var p = Program(new DeviceRule(true, 'c', 1, 3, "rwm"), new DeviceRule(false, 'a', -1, -1, "rwm"));
        Assert.Equal(0, Run(p, Char, R, 1, 3));
    }

    /// <summary>
    /// The real thing on cgroup2: a cgroup the test makes under the unified hierarchy, the
    /// program attached, and a shell inside it opening devices.
    /// </summary>
    [Fact]
    public void The_kernel_enforces_the_program_on_a_cgroup2_directory()
    {
        var unified = HostCgroups.Hierarchies().FirstOrDefault(h => File.Exists(Path.Join(h.Mount, "cgroup.subtree_control")));
        Assert.True(unified.Mount is not null, "this host mounts cgroup2 (at /sys/fs/cgroup/unified)");
        var dir = Path.Join(unified.Mount, unified.Own.TrimStart('/'), Sandbox.NewId("devtest"));
        Directory.CreateDirectory(dir);
        try
        {
            var rules = new[] { new DeviceRule(false, 'a', -1, -1, "rwm"), new DeviceRule(true, 'c', 1, 3, "rwm") };
            var (def, exceptions) = DeviceRules.Normalize(rules);
            using (var program = BpfPrograms.LoadDeviceProgram(DeviceFilter.Build(def, exceptions)))
            using (var cg = Files.Open(dir, O.RDONLY | O.DIRECTORY))
            {
                BpfPrograms.AttachDevice(cg, program);
                Assert.Equal(1, BpfPrograms.CountDevicePrograms(cg));
            }
            var r = Sandbox.Exec("/bin/sh", "-c", $"echo $$ > {dir}/cgroup.procs; head -c1 /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null 2>&1 || echo zero-denied");
            Assert.Equal("null-ok\nzero-denied\n", r.Stdout);
        }
        finally
        {
            for (int i = 0; i < 100 && Directory.Exists(dir); i++)
            {
                try { Directory.Delete(dir); } catch (IOException) { Thread.Sleep(20); }
            }
        }
    }
}

public class ResourceConversionTests
{
    [Theory]
    [InlineData(2UL, 1UL)]
    [InlineData(1024UL, 39UL)]
    [InlineData(262144UL, 10000UL)]
    public void Cpu_shares_map_to_weights_as_runc_maps_them(ulong shares, ulong weight) =>
        Assert.Equal(weight, Conversions.SharesToWeight(shares));

    [Theory]
    [InlineData(10UL, 1UL)]
    [InlineData(500UL, 4950UL)]
    [InlineData(1000UL, 10000UL)]
    public void Blkio_weights_map_to_io_weights(ulong blkio, ulong io) =>
        Assert.Equal(io, Conversions.BlkioToIoWeight(blkio));

    /// <summary>The v2 manager against a directory laid out like a cgroup2 one.</summary>
    [Fact]
    public void The_v2_writer_uses_v2_files_and_conversions()
    {
        var dir = Directory.CreateTempSubdirectory("berth-v2-").FullName;
        try
        {
            File.WriteAllText(Path.Join(dir, "cgroup.controllers"), "cpu memory pids io cpuset");
            foreach (var f in new[] { "memory.max", "memory.low", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "io.weight", "io.max", "cpuset.cpus" })
                File.WriteAllText(Path.Join(dir, f), "");
            var set = new V2Manager(dir);
            var r = new Oci.Runtime.Resources
            {
                Memory = new() { Limit = 100 << 20, Swap = 150 << 20, Reservation = -1 },
                Cpu = new() { Shares = 1024, Quota = 50000, Period = 100000, Cpus = "0" },
                Pids = new() { Limit = -1 },
                BlockIO = new() { Weight = 500, ThrottleReadBpsDevice = new() { new() { Major = 8, Minor = 0, Rate = 1000 } } },
            };
            set.Apply(set.Plan(r));
            string Read(string f) => File.ReadAllText(Path.Join(dir, f));
            Assert.Equal((100 << 20).ToString(), Read("memory.max"));
            Assert.Equal((50 << 20).ToString(), Read("memory.swap.max")); // swap alone: 150 MiB - 100 MiB
            Assert.Equal("max", Read("memory.low"));
            Assert.Equal("39", Read("cpu.weight"));
            Assert.Equal("50000 100000", Read("cpu.max"));
            Assert.Equal("max", Read("pids.max"));
            Assert.Equal("default 4950", Read("io.weight"));
            Assert.Equal("8:0 rbps=1000", Read("io.max"));
            Assert.Equal("0", Read("cpuset.cpus"));
            var swappiness = new Oci.Runtime.Resources { Memory = new() { Swappiness = 10 } };
            Assert.Contains("not supported by cgroup v2", Assert.Throws<RuntimeException>(() => set.Plan(swappiness)).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>runc's rule without swap accounting: swap equal to the limit (or -1) only.</summary>
    [Fact]
    public void Without_memsw_a_swap_other_than_the_limit_is_an_error()
    {
        var dir = Directory.CreateTempSubdirectory("berth-v1-").FullName;
        try
        {
            File.WriteAllText(Path.Join(dir, "memory.limit_in_bytes"), "");
            var set = new V1Manager(new[] { (new Hierarchy(dir, "/", false, new[] { "memory" }, "/"), dir) });
            var ok = new Oci.Runtime.Resources { Memory = new() { Limit = 1 << 20, Swap = 1 << 20 } };
            set.Apply(set.Plan(ok));
            var bad = new Oci.Runtime.Resources { Memory = new() { Limit = 1 << 20, Swap = 2 << 20 } };
            Assert.Contains("swap accounting", Assert.Throws<RuntimeException>(() => set.Apply(set.Plan(bad))).Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
