using System.Buffers.Binary;

namespace Berth.Runtime.Cgroups;

/// <summary>
/// The cgroup v2 device controller is an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached
/// to the cgroup; Berth assembles it from the rules. The program reads the request
/// (struct bpf_cgroup_dev_ctx: access_type = type | access &lt;&lt; 16, major, minor), checks the
/// exceptions last-first — an allow matches when it covers every requested access, a deny when
/// it covers any — and otherwise returns the default.
/// </summary>
public static class DeviceFilter
{
    // eBPF opcodes (include/uapi/linux/bpf.h).
    const byte LdxW = 0x61, MovX = 0xbf, MovK = 0xb7, AndK = 0x57, RshK = 0x77, JneK = 0x55, JeqK = 0x15, Exit = 0x95;
    // BPF_DEVCG_DEV_* and BPF_DEVCG_ACC_*.
    const int DevBlock = 1, DevChar = 2, AccMknod = 1, AccRead = 2, AccWrite = 4;

    public static int AccessBits(string access) =>
        (access.Contains('m') ? AccMknod : 0) | (access.Contains('r') ? AccRead : 0) | (access.Contains('w') ? AccWrite : 0);

    public static byte[] Build(bool defaultAllow, IReadOnlyList<DeviceRule> exceptions)
    {
        var code = new List<(byte Op, byte Dst, byte Src, short Off, int Imm)>
        {
            (LdxW, 2, 1, 0, 0),   // r2 = ctx->access_type
            (MovX, 3, 2, 0, 0),   // r3 = r2
            (AndK, 3, 0, 0, 0xffff), // r3 = device type
            (MovX, 4, 2, 0, 0),   // r4 = r2
            (RshK, 4, 0, 0, 16),  // r4 = requested access
            (LdxW, 5, 1, 4, 0),   // r5 = major
            (LdxW, 6, 1, 8, 0),   // r6 = minor
        };
        for (int i = exceptions.Count - 1; i >= 0; i--)
        {
            var r = exceptions[i];
            var block = new List<(byte, byte, byte, short, int)>();
            // Guards jump to the end of this block; their offsets are patched once its size is known.
            var guards = new List<int>();
            if (r.Type != 'a') { guards.Add(block.Count); block.Add((JneK, 3, 0, 0, r.Type == 'b' ? DevBlock : DevChar)); }
            if (r.Major >= 0) { guards.Add(block.Count); block.Add((JneK, 5, 0, 0, (int)r.Major)); }
            if (r.Minor >= 0) { guards.Add(block.Count); block.Add((JneK, 6, 0, 0, (int)r.Minor)); }
            int bits = AccessBits(r.Access);
            block.Add((MovX, 7, 4, 0, 0));
            if (r.Allow)
            {
                block.Add((AndK, 7, 0, 0, ~bits & 7));      // anything requested beyond the rule?
                guards.Add(block.Count);
                block.Add((JneK, 7, 0, 0, 0));
            }
            else
            {
                block.Add((AndK, 7, 0, 0, bits));           // anything requested that the rule denies?
                guards.Add(block.Count);
                block.Add((JeqK, 7, 0, 0, 0));
            }
            block.Add((MovK, 0, 0, 0, r.Allow ? 1 : 0));
            block.Add((Exit, 0, 0, 0, 0));
            foreach (var g in guards)
            {
                var (op, dst, src, _, imm) = block[g];
                block[g] = (op, dst, src, (short)(block.Count - g - 1), imm);
            }
            code.AddRange(block);
        }
        code.Add((MovK, 0, 0, 0, defaultAllow ? 1 : 0));
        code.Add((Exit, 0, 0, 0, 0));

        var bytes = new byte[code.Count * 8];
        for (int i = 0; i < code.Count; i++)
        {
            var (op, dst, src, off, imm) = code[i];
            var s = bytes.AsSpan(i * 8);
            s[0] = op;
            s[1] = (byte)((src << 4) | dst);
            BinaryPrimitives.WriteInt16LittleEndian(s[2..], off);
            BinaryPrimitives.WriteInt32LittleEndian(s[4..], imm);
        }
        return bytes;
    }
}
