using Berth.Linux;
using Xunit;

namespace Berth.Linux.Tests;

public class ProtectedExecutableTests
{
    [Fact]
    public void The_memfd_fallback_is_sealed_against_writes()
    {
        using var memfd = SealedExecutable.Create();
        var seals = SealedExecutable.Seals(memfd);
        Assert.Equal(SealedExecutable.F_SEAL_WRITE, seals & SealedExecutable.F_SEAL_WRITE);
        Assert.Equal(SealedExecutable.F_SEAL_SEAL, seals & SealedExecutable.F_SEAL_SEAL);
        // Opening for writing works on a memfd; writing is what the seal refuses.
        using var w = Files.Open(memfd.ProcPath, O.WRONLY);
        var e = Assert.Throws<LinuxException>(() => Files.WriteAll(w, "x"u8));
        Assert.Equal(Errno.EPERM, e.Errno);
        Assert.Equal(new FileInfo(File.ResolveLinkTarget("/proc/self/exe", true)!.FullName).Length, (long)Files.Fstat(memfd).Size);
    }

    [Fact]
    public void The_read_only_view_refuses_writes_and_is_attached_nowhere()
    {
        var mountsBefore = File.ReadAllLines("/proc/self/mountinfo").Length;
        using var view = ProtectedExecutable.Open();
        var e = Assert.Throws<LinuxException>(() => Files.Open(view.ProcPath, O.WRONLY).Dispose());
        Assert.True(e.Errno is Errno.EROFS or Errno.ETXTBSY or Errno.EPERM, e.Message);
        // Root: the detached bind mount, not the memfd copy (which would say EPERM only on write).
        Assert.Equal(0, SealedExecutableSeals(view));
        // A detached mount has no mount point: nothing was added to the mount table, and no file was made.
        Assert.Equal(mountsBefore, File.ReadAllLines("/proc/self/mountinfo").Length);
        Assert.Equal(new FileInfo(File.ResolveLinkTarget("/proc/self/exe", true)!.FullName).Length, (long)Files.Fstat(view).Size);
    }

    /// <summary>F_GET_SEALS: EINVAL (so 0 here) for anything but a memfd.</summary>
    static int SealedExecutableSeals(SafeFd fd)
    {
        try { return SealedExecutable.Seals(fd); }
        catch (LinuxException) { return 0; }
    }
}
