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
/// Preferred: a detached, read-only bind mount of this binary made in one step —
/// open_tree(OPEN_TREE_CLONE) then mount_setattr(MOUNT_ATTR_RDONLY) on the clone, two system
/// calls and no copy. The mount is attached nowhere: it has no path, needs no scratch file,
/// and the kernel frees it with its last descriptor, so a launcher killed at any point leaves
/// neither a file nor a mount behind. Any write through it, or through /proc/&lt;pid&gt;/exe of a
/// process started from it, is EROFS (or ETXTBSY), and only CAP_SYS_ADMIN over the mount's
/// own (the launcher's) user namespace could change that. Fallback (no mount privilege, or a
/// kernel before 5.12): a sealed memfd copy.
/// </summary>
public static class ProtectedExecutable
{
    public static SafeFd Open()
    {
        SafeFd view;
        try
        {
            view = Mounts.CloneTree("/proc/self/exe", recursive: false);
        }
        catch (LinuxException)
        {
            return SealedExecutable.Create();
        }
        try
        {
            Mounts.SetAttr(view, Mounts.MOUNT_ATTR_RDONLY, 0, userns: null, recursive: false, "/proc/self/exe");
            return view;
        }
        catch (LinuxException)
        {
            view.Dispose();
            return SealedExecutable.Create();
        }
    }
}
