using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>bpf(2): loading an eBPF program and attaching it to a cgroup.</summary>
public static unsafe class BpfPrograms
{
    const int BPF_PROG_LOAD = 5, BPF_PROG_ATTACH = 8, BPF_PROG_QUERY = 16;
    public const int BPF_PROG_TYPE_CGROUP_DEVICE = 15, BPF_CGROUP_DEVICE = 6;
    public const uint BPF_F_ALLOW_MULTI = 2;

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    struct Attr
    {
        // BPF_PROG_LOAD
        [FieldOffset(0)] public uint ProgType;
        [FieldOffset(4)] public uint InsnCnt;
        [FieldOffset(8)] public ulong Insns;
        [FieldOffset(16)] public ulong License;
        [FieldOffset(24)] public uint LogLevel;
        [FieldOffset(28)] public uint LogSize;
        [FieldOffset(32)] public ulong LogBuf;
        // BPF_PROG_ATTACH / QUERY: target_fd, attach_bpf_fd, attach_type, attach_flags
        [FieldOffset(0)] public uint TargetFd;
        [FieldOffset(4)] public uint AttachBpfFd;
        [FieldOffset(8)] public uint AttachType;
        [FieldOffset(12)] public uint AttachFlags;
    }

    /// <summary>
    /// Loads a BPF_PROG_TYPE_CGROUP_DEVICE program (8-byte eBPF instructions). The verifier's log
    /// is asked for only after a failed load, as libbpf does: logging every instruction costs
    /// time on each create, and a long program could overflow the buffer and fail with ENOSPC.
    /// </summary>
    public static SafeFd LoadDeviceProgram(byte[] instructions)
    {
        var license = Files.Utf8z("Apache-2.0");
        fixed (byte* insns = instructions)
        fixed (byte* lic = license)
        {
            var attr = new Attr
            {
                ProgType = BPF_PROG_TYPE_CGROUP_DEVICE, InsnCnt = (uint)(instructions.Length / 8),
                Insns = (ulong)insns, License = (ulong)lic,
            };
            long fd = Libc.syscall(Sys.Bpf, BPF_PROG_LOAD, (long)&attr, sizeof(Attr), 0, 0, 0);
            if (fd >= 0) return new SafeFd((int)fd);
            int e = Marshal.GetLastPInvokeError();
            var log = new byte[1 << 16];
            fixed (byte* logp = log)
            {
                attr.LogLevel = 1;
                attr.LogSize = (uint)log.Length;
                attr.LogBuf = (ulong)logp;
                fd = Libc.syscall(Sys.Bpf, BPF_PROG_LOAD, (long)&attr, sizeof(Attr), 0, 0, 0);
            }
            if (fd >= 0) return new SafeFd((int)fd);
            var text = System.Text.Encoding.UTF8.GetString(log).TrimEnd('\0').Trim();
            throw new LinuxException(e, "bpf(BPF_PROG_LOAD)", text.Length > 0 ? $"device filter ({text.ReplaceLineEndings(" ")})" : "device filter");
        }
    }

    /// <summary>Attaches <paramref name="program"/> to the cgroup directory <paramref name="cgroup"/> next to any others (BPF_F_ALLOW_MULTI).</summary>
    public static void AttachDevice(SafeFd cgroup, SafeFd program)
    {
        var attr = new Attr { TargetFd = (uint)cgroup.Number, AttachBpfFd = (uint)program.Number, AttachType = BPF_CGROUP_DEVICE, AttachFlags = BPF_F_ALLOW_MULTI };
        LinuxException.ThrowIfError(Libc.syscall(Sys.Bpf, BPF_PROG_ATTACH, (long)&attr, sizeof(Attr), 0, 0, 0), "bpf(BPF_PROG_ATTACH)");
    }

    /// <summary>How many device programs are attached to <paramref name="cgroup"/>.</summary>
    public static int CountDevicePrograms(SafeFd cgroup)
    {
        // union bpf_attr.query: target_fd, attach_type, query_flags, attach_flags, prog_ids, prog_cnt
        var buf = stackalloc byte[128];
        new Span<byte>(buf, 128).Clear();
        *(uint*)buf = (uint)cgroup.Number;
        *(uint*)(buf + 4) = BPF_CGROUP_DEVICE;
        LinuxException.ThrowIfError(Libc.syscall(Sys.Bpf, BPF_PROG_QUERY, (long)buf, 128, 0, 0, 0), "bpf(BPF_PROG_QUERY)");
        return (int)*(uint*)(buf + 24);
    }
}
