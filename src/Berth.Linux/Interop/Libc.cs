using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

/// <summary>
/// libc entry points, grouped by subsystem in the partial files next to this one. The
/// executable links libc directly (DirectPInvoke), so none of these is bound lazily:
/// a lazy lookup after pivot_root would resolve against the container's root.
/// </summary>
internal static unsafe partial class Libc
{
    const string Lib = "libc";

    [LibraryImport(Lib, EntryPoint = "strerrordesc_np")]
    private static partial nint strerrordesc_np(int errnum);

    public static string StrError(int errno) =>
        Marshal.PtrToStringUTF8(strerrordesc_np(errno)) ?? $"errno {errno}";

    [LibraryImport(Lib, SetLastError = true)]
    public static partial long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    [LibraryImport(Lib)]
    public static partial int getpid();

    [LibraryImport(Lib)]
    public static partial uint geteuid();

    [LibraryImport(Lib)]
    public static partial uint getegid();
}

/// <summary>System call numbers for the calls glibc 2.36 does not wrap.</summary>
internal static class Sys
{
    static readonly bool Arm64 = RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    public static long PivotRoot => Arm64 ? 41 : 155;
    public static long IoprioSet => Arm64 ? 30 : 251;
    public static long Capset => Arm64 ? 91 : 126;
    public static long Seccomp => Arm64 ? 277 : 317;
    public static long Keyctl => Arm64 ? 219 : 250;
    public static long Bpf => Arm64 ? 280 : 321;
    public static long SetMempolicy => Arm64 ? 237 : 238;
    public static long Setgroups => Arm64 ? 159 : 116;
    public static long Setresuid => Arm64 ? 147 : 117;
    public static long Setresgid => Arm64 ? 149 : 119;
    public static long SchedSetattr => Arm64 ? 274 : 314;
    public static long Getdents64 => Arm64 ? 61 : 217;
    // Numbers from 424 up are shared by every architecture (asm-generic).
    public const long PidfdSendSignal = 424;
    public const long OpenTree = 428;
    public const long PidfdOpen = 434;
    public const long CloseRange = 436;
    public const long Openat2 = 437;
    public const long MountSetattr = 442;
}
