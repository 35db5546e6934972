using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>
/// Installs a BPF program with seccomp(2) on the calling thread. Berth calls the kernel itself
/// rather than seccomp_load: the program it loads has its own ENOSYS prologue, and with
/// SECCOMP_FILTER_FLAG_NEW_LISTENER the user-notification fd comes back from this call.
/// </summary>
public static unsafe class SeccompLoader
{
    public const uint FlagTsync = 1, FlagLog = 2, FlagSpecAllow = 4, FlagNewListener = 8, FlagWaitKillableRecv = 32;

    [StructLayout(LayoutKind.Sequential)]
    struct SockFprog
    {
        public ushort Len;
        public nint Filter;
    }

    /// <summary>A program pinned in native memory ahead of time, so loading it allocates nothing.</summary>
    public sealed class Program : IDisposable
    {
        public nint Pointer { get; private set; }
        public int Instructions { get; }

        public Program(byte[] bpf)
        {
            if (bpf.Length == 0 || bpf.Length % 8 != 0 || bpf.Length / 8 > ushort.MaxValue)
                throw new ArgumentException("not a BPF program", nameof(bpf));
            Instructions = bpf.Length / 8;
            Pointer = (nint)NativeMemory.Alloc((nuint)bpf.Length);
            bpf.CopyTo(new Span<byte>((void*)Pointer, bpf.Length));
        }

        public void Dispose()
        {
            if (Pointer != 0) NativeMemory.Free((void*)Pointer);
            Pointer = 0;
        }
    }

    /// <summary>SECCOMP_SET_MODE_FILTER; returns the listener fd with FlagNewListener, else 0. Negative errno on failure.</summary>
    public static long TryLoad(Program program, uint flags)
    {
        var prog = new SockFprog { Len = (ushort)program.Instructions, Filter = program.Pointer };
        long rc = Libc.syscall(Sys.Seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, flags, (long)&prog, 0, 0, 0);
        return rc < 0 ? -Marshal.GetLastPInvokeError() : rc;
    }
}
