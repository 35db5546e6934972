using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux.Security;

/// <summary>The five capability sets as bit masks (bit N = capability N).</summary>
public readonly record struct CapabilitySets(ulong Bounding, ulong Effective, ulong Permitted, ulong Inheritable, ulong Ambient);

/// <summary>
/// Capabilities by name and the per-thread calls that set them. capset, PR_CAPBSET_DROP and
/// the ambient set act on the calling thread only; execve keeps just that thread.
/// </summary>
public static unsafe class Capabilities
{
    static readonly string[] Names =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };

    public static IReadOnlyList<string> All => Names;

    public static int? Parse(string name)
    {
        int i = Array.IndexOf(Names, name);
        return i >= 0 ? i : null;
    }

    public static string Name(int cap) => cap < Names.Length ? Names[cap] : $"cap {cap}";

    /// <summary>The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap).</summary>
    public static int LastCap()
    {
        try { return int.Parse(File.ReadAllText("/proc/sys/kernel/cap_last_cap").Trim()); }
        catch (IOException) { return Names.Length - 1; }
    }

    /// <summary>This process's bounding set, from /proc/self/status.</summary>
    public static ulong OwnBounding() => StatusMask("CapBnd");

    public static ulong StatusMask(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":"))
                return Convert.ToUInt64(line[(field.Length + 1)..].Trim(), 16);
        throw new InvalidOperationException($"/proc/self/status has no {field}");
    }

    const int PR_CAPBSET_DROP = 24, PR_SET_KEEPCAPS = 8, PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2,
        PR_CAP_AMBIENT_CLEAR_ALL = 4, PR_SET_NO_NEW_PRIVS = 38;

    public static void DropBounding(int cap) =>
        LinuxException.ThrowIfError(Libc.prctl(PR_CAPBSET_DROP, (nuint)cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)", Name(cap));

    /// <summary>Keep the permitted set across the uid switch (cleared again by execve).</summary>
    public static void KeepCaps(bool on) =>
        LinuxException.ThrowIfError(Libc.prctl(PR_SET_KEEPCAPS, on ? 1u : 0u, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)");

    public static void RaiseAmbient(int cap) =>
        LinuxException.ThrowIfError(Libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (nuint)cap, 0, 0), "prctl(PR_CAP_AMBIENT_RAISE)", Name(cap));

    public static void ClearAmbient() =>
        LinuxException.ThrowIfError(Libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");

    public static void SetNoNewPrivileges() =>
        LinuxException.ThrowIfError(Libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)");

    [StructLayout(LayoutKind.Sequential)]
    struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct CapData
    {
        public uint Effective, Permitted, Inheritable;
    }

    /// <summary>capset(2) with _LINUX_CAPABILITY_VERSION_3 (64-bit sets) for the calling thread.</summary>
    public static void Set(ulong effective, ulong permitted, ulong inheritable)
    {
        var header = new CapHeader { Version = 0x20080522, Pid = 0 };
        CapData* data = stackalloc CapData[2];
        data[0] = new CapData { Effective = (uint)effective, Permitted = (uint)permitted, Inheritable = (uint)inheritable };
        data[1] = new CapData { Effective = (uint)(effective >> 32), Permitted = (uint)(permitted >> 32), Inheritable = (uint)(inheritable >> 32) };
        LinuxException.ThrowIfError(Libc.syscall(Sys.Capset, (long)&header, (long)data, 0, 0, 0, 0), "capset");
    }
}

/// <summary>uid/gid switches of the calling thread only (raw system calls, no glibc broadcast to other threads).</summary>
public static unsafe class ThreadCredentials
{
    public static void SetGroups(uint[] gids)
    {
        fixed (uint* p = gids)
            LinuxException.ThrowIfError(Libc.syscall(Sys.Setgroups, gids.Length, (long)p, 0, 0, 0, 0), "setgroups");
    }

    public static void SetGid(uint gid) => LinuxException.ThrowIfError(Libc.syscall(Sys.Setresgid, gid, gid, gid, 0, 0, 0), "setresgid", gid.ToString());

    public static void SetUid(uint uid) => LinuxException.ThrowIfError(Libc.syscall(Sys.Setresuid, uid, uid, uid, 0, 0, 0), "setresuid", uid.ToString());
}

/// <summary>The kernel keyring calls Berth needs.</summary>
public static unsafe class Keyrings
{
    const int KEYCTL_JOIN_SESSION_KEYRING = 1, KEYCTL_SETPERM = 5;

    /// <summary>Joins a new session keyring named <paramref name="name"/>, so the container does not share the caller's.</summary>
    public static int JoinNewSession(string name)
    {
        var bytes = Files.Utf8z(name);
        long id;
        fixed (byte* p = bytes) id = Libc.syscall(Sys.Keyctl, KEYCTL_JOIN_SESSION_KEYRING, (long)p, 0, 0, 0, 0);
        LinuxException.ThrowIfError(id, "keyctl(JOIN_SESSION_KEYRING)", name);
        return (int)id;
    }

    public static void SetPermissions(int keyring, uint perm) =>
        LinuxException.ThrowIfError(Libc.syscall(Sys.Keyctl, KEYCTL_SETPERM, keyring, perm, 0, 0, 0), "keyctl(SETPERM)");
}
