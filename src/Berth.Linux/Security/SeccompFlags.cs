namespace Berth.Linux.Security;

/// <summary>
/// seccomp(2)'s SECCOMP_FILTER_FLAG_* values. The container's init (native/init.c) loads the
/// program with seccomp(2) itself rather than seccomp_load: the program has its own ENOSYS
/// prologue, and with FlagNewListener the user-notification fd comes back from that call.
/// </summary>
public static class SeccompFlags
{
    public const uint Tsync = 1, Log = 2, SpecAllow = 4, NewListener = 8, WaitKillableRecv = 32;
}
