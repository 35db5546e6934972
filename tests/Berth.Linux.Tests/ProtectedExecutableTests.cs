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
    public void The_read_only_view_refuses_writes_and_leaves_no_mount_behind()
    {
        var scratch = Directory.CreateTempSubdirectory("berth-exe-").FullName;
        try
        {
            using var view = ProtectedExecutable.Open(scratch);
            var e = Assert.Throws<LinuxException>(() => Files.Open(view.ProcPath, O.WRONLY).Dispose());
            Assert.True(e.Errno is Errno.EROFS or Errno.ETXTBSY or Errno.EPERM, e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(scratch));
            Assert.DoesNotContain(scratch, File.ReadAllText("/proc/self/mountinfo"));
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }
}
