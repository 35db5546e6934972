using System.Buffers.Binary;

namespace Berth.Runtime.Security;

/// <summary>
/// A tiny classic-BPF assembler with labels: enough to write the ENOSYS prologue that goes
/// in front of libseccomp's program.
/// </summary>
public sealed class Bpf
{
    // struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }
    const ushort LdAbsW = 0x20, JmpJa = 0x05, JmpJeq = 0x15, JmpJgt = 0x25, JmpJge = 0x35, RetK = 0x06;

    readonly List<(ushort Code, string? Jt, string? Jf, uint K)> _code = new();
    readonly Dictionary<string, int> _labels = new();

    public Bpf Label(string name)
    {
        _labels[name] = _code.Count;
        return this;
    }

    /// <summary>A = seccomp_data field at <paramref name="offset"/> (0: nr, 4: arch).</summary>
    public Bpf Load(uint offset) => Add(LdAbsW, null, null, offset);
    public Bpf JumpIfEqual(uint k, string jt, string jf) => Add(JmpJeq, jt, jf, k);
    public Bpf JumpIfGreater(uint k, string jt, string jf) => Add(JmpJgt, jt, jf, k);
    public Bpf JumpIfGreaterOrEqual(uint k, string jt, string jf) => Add(JmpJge, jt, jf, k);
    public Bpf Jump(string target) => Add(JmpJa, target, null, 0);
    public Bpf Return(uint action) => Add(RetK, null, null, action);

    Bpf Add(ushort code, string? jt, string? jf, uint k)
    {
        _code.Add((code, jt, jf, k));
        return this;
    }

    /// <summary>Assembles, resolving labels to the relative offsets BPF jumps take (forward only).</summary>
    public byte[] Assemble()
    {
        var bytes = new byte[_code.Count * 8];
        for (int i = 0; i < _code.Count; i++)
        {
            var (code, jt, jf, k) = _code[i];
            var span = bytes.AsSpan(i * 8);
            BinaryPrimitives.WriteUInt16LittleEndian(span, code);
            if (code == JmpJa)
            {
                k = (uint)Offset(i, jt!, int.MaxValue);
            }
            else if (jt is not null)
            {
                span[2] = (byte)Offset(i, jt, 255);
                span[3] = (byte)Offset(i, jf!, 255);
            }
            BinaryPrimitives.WriteUInt32LittleEndian(span[4..], k);
        }
        return bytes;
    }

    int Offset(int from, string label, int max)
    {
        int off = _labels[label] - from - 1;
        if (off < 0 || off > max) throw new InvalidOperationException($"BPF jump to {label} out of range");
        return off;
    }

    public int Count => _code.Count;
}
