using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

/// <summary>
/// libseccomp 2.5, linked statically into the executable (libseccomp.a): a library loaded
/// lazily after pivot_root would come from the image.
/// </summary>
internal static unsafe partial class Libseccomp
{
    const string Lib = "libseccomp";

    [LibraryImport(Lib)]
    public static partial nint seccomp_init(uint defaultAction);

    [LibraryImport(Lib)]
    public static partial void seccomp_release(nint ctx);

    [LibraryImport(Lib)]
    public static partial int seccomp_arch_add(nint ctx, uint arch);

    [LibraryImport(Lib)]
    public static partial uint seccomp_arch_native();

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint seccomp_arch_resolve_name(string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int seccomp_syscall_resolve_name_arch(uint arch, string name);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int seccomp_syscall_resolve_name(string name);

    [LibraryImport(Lib)]
    public static partial nint seccomp_version();

    [LibraryImport(Lib)]
    public static partial int seccomp_rule_add_array(nint ctx, uint action, int syscall, uint argCount, ArgCmp* args);

    [LibraryImport(Lib)]
    public static partial int seccomp_attr_set(nint ctx, int attr, uint value);

    [LibraryImport(Lib)]
    public static partial int seccomp_export_bpf(nint ctx, int fd);
}

/// <summary>struct scmp_arg_cmp.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ArgCmp
{
    public uint Arg;
    public int Op;
    public ulong DatumA;
    public ulong DatumB;
}
