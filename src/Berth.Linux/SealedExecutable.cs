using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>
/// A copy of this executable in a sealed memfd (CVE-2019-5736): a process that opens
/// /proc/&lt;pid&gt;/exe of Berth running inside a container gets the memfd, which no one can
/// write, grow or shrink, instead of the host's binary. The copy is made in the kernel
/// (sendfile; copy_file_range refuses to cross from ext4 to shmem), so it costs no
/// user-space page faults.
/// </summary>
public static unsafe class SealedExecutable
{
    const uint MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2, MFD_EXEC = 0x10;
    const int F_ADD_SEALS = 1033, F_GET_SEALS = 1034;
    public const int F_SEAL_SEAL = 1, F_SEAL_SHRINK = 2, F_SEAL_GROW = 4, F_SEAL_WRITE = 8;

    public static SafeFd Create()
    {
        using var self = Files.Open("/proc/self/exe", O.RDONLY);
        long size = (long)Files.Fstat(self).Size;
        int fd = Libc.memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        // Kernels before 6.3 do not know MFD_EXEC (and memfds are executable there anyway).
        if (fd < 0 && Marshal.GetLastPInvokeError() == Errno.EINVAL) fd = Libc.memfd_create("berth", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        var memfd = new SafeFd(LinuxException.ThrowIfError(fd, "memfd_create"));
        try
        {
            long copied = 0;
            while (copied < size)
            {
                long n = Libc.sendfile(memfd.Number, self.Number, null, (nint)(size - copied));
                if (n <= 0)
                {
                    if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR) continue;
                    throw n < 0 ? LinuxException.FromLastError("sendfile", "/proc/self/exe") : new LinuxException(Errno.EIO, "sendfile", "/proc/self/exe");
                }
                copied += n;
            }
            LinuxException.ThrowIfError(Libc.fcntl(memfd.Number, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), "fcntl(F_ADD_SEALS)");
            return memfd;
        }
        catch
        {
            memfd.Dispose();
            throw;
        }
    }

    public static int Seals(SafeFd fd) => LinuxException.ThrowIfError(Libc.fcntl(fd.Number, F_GET_SEALS, 0), "fcntl(F_GET_SEALS)");
}

/// <summary>
/// The executable Berth re-executes as `berth init`, reachable only read-only (CVE-2019-5736).
/// Preferred: this binary bind-mounted read-only on a scratch file and the mount detached
/// while an O_PATH descriptor keeps it alive — four system calls and no copy; any write
/// through it, or through /proc/&lt;pid&gt;/exe of a process started from it, is EROFS, and only
/// CAP_SYS_ADMIN in the host's mount namespace could remount it. Fallback (no mount
/// privilege): a sealed memfd copy.
/// </summary>
public static class ProtectedExecutable
{
    public static SafeFd Open(string scratchDir)
    {
        var scratch = Path.Combine(scratchDir, $".exe-{Environment.ProcessId}-{Environment.TickCount64}");
        try
        {
            using (Files.Open(scratch, O.WRONLY | O.CREAT | O.EXCL, 0)) { }
            try
            {
                Mounts.Mount("/proc/self/exe", scratch, null, MS.BIND, null, scratch);
                SafeFd? view = null;
                try
                {
                    Mounts.Mount(null, scratch, null, MS.REMOUNT | MS.BIND | MS.RDONLY, null, scratch);
                    view = Files.Open(scratch, O.PATH);
                    Mounts.Unmount(scratch, Mounts.MNT_DETACH);
                    return view;
                }
                catch
                {
                    view?.Dispose();
                    try { Mounts.Unmount(scratch, Mounts.MNT_DETACH); } catch (LinuxException) { }
                    throw;
                }
            }
            finally
            {
                Files.UnlinkAt(null, scratch);
            }
        }
        catch (LinuxException)
        {
            return SealedExecutable.Create();
        }
    }
}
