using System.Buffers.Binary;
using Berth.Runtime.Security;
using Xunit;

namespace Berth.Runtime.Tests;

/// <summary>The ENOSYS prologue, run in a small classic-BPF interpreter.</summary>
public class EnosysPrologueTests
{
    const uint X86_64 = 0xC000003E, I386 = 0x40000003, X32 = 0x4000003E, Aarch64 = 0xC00000B7;
    const uint Enosys = 0x00050000 | 38;
    const uint FallThrough = uint.MaxValue;

    /// <summary>Runs the program on (arch, nr); a jump past the end means "on to libseccomp's program".</summary>
    static uint Run(byte[] program, uint arch, uint nr)
    {
        int pc = 0, count = program.Length / 8;
        uint a = 0;
        while (pc < count)
        {
            var ins = program.AsSpan(pc * 8);
            ushort code = BinaryPrimitives.ReadUInt16LittleEndian(ins);
            byte jt = ins[2], jf = ins[3];
            uint k = BinaryPrimitives.ReadUInt32LittleEndian(ins[4..]);
            switch (code)
            {
                case 0x20: a = k == 0 ? nr : k == 4 ? arch : throw new InvalidOperationException($"load {k}"); pc++; break;
                case 0x15: pc += 1 + (a == k ? jt : jf); break;
                case 0x25: pc += 1 + (a > k ? jt : jf); break;
                case 0x35: pc += 1 + (a >= k ? jt : jf); break;
                case 0x05: pc += 1 + (int)k; break;
                case 0x06: return k;
                default: throw new InvalidOperationException($"opcode 0x{code:x}");
            }
        }
        return FallThrough;
    }

    [Fact]
    public void Numbers_above_each_architectures_highest_named_syscall_get_ENOSYS()
    {
        var program = SeccompCompiler.EnosysPrologue(new Dictionary<uint, int> { [X86_64] = 334, [I386] = 400 });
        Assert.Equal(FallThrough, Run(program, X86_64, 0));
        Assert.Equal(FallThrough, Run(program, X86_64, 334));
        Assert.Equal(Enosys, Run(program, X86_64, 335));
        Assert.Equal(Enosys, Run(program, X86_64, 999));
        Assert.Equal(FallThrough, Run(program, I386, 400));
        Assert.Equal(Enosys, Run(program, I386, 401));
        // An architecture the profile does not cover is libseccomp's to refuse.
        Assert.Equal(FallThrough, Run(program, Aarch64, 5000));
    }

    [Fact]
    public void X32_numbers_on_x86_64_are_compared_with_the_x32_maximum()
    {
        var withX32 = SeccompCompiler.EnosysPrologue(new Dictionary<uint, int> { [X86_64] = 334, [X32] = 0x40000000 + 334 });
        Assert.Equal(FallThrough, Run(withX32, X86_64, 0x40000000 + 10));
        Assert.Equal(Enosys, Run(withX32, X86_64, 0x40000000 + 335));
        var withoutX32 = SeccompCompiler.EnosysPrologue(new Dictionary<uint, int> { [X86_64] = 334 });
        Assert.Equal(FallThrough, Run(withoutX32, X86_64, 0x40000000 + 10));
    }

    [Fact]
    public void An_architecture_with_no_named_syscall_gets_no_check() =>
        Assert.Equal(FallThrough, Run(SeccompCompiler.EnosysPrologue(new Dictionary<uint, int> { [X86_64] = -1 }), X86_64, 999));
}
