using System.Text;
using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// Writes to procfs that cannot be redirected (CVE-2025-52881 class). The container's config
/// may mount anything over a procfs file — a host file bound over /proc/1/oom_score_adj, a
/// tmpfs over /proc/sys — so every write goes through a /proc handle checked to be procfs,
/// by a path without symlinks that must not cross into another mount (RESOLVE_NO_XDEV).
/// </summary>
public sealed class ProcFs : IDisposable
{
    const long PROC_SUPER_MAGIC = 0x9fa0;
    readonly SafeFd _proc;

    ProcFs(SafeFd proc) => _proc = proc;

    /// <summary>The procfs mounted at <paramref name="path"/> (after pivot_root: the container's own).</summary>
    public static ProcFs Open(string path = "/proc")
    {
        var fd = Files.Open(path, O.PATH | O.DIRECTORY | O.NOFOLLOW);
        if (Files.FilesystemType(fd) != PROC_SUPER_MAGIC)
        {
            fd.Dispose();
            throw new RuntimeException($"{path} is not procfs: refusing to write through it");
        }
        return new ProcFs(fd);
    }

    /// <summary>Writes a file of this process, e.g. "oom_score_adj", "attr/exec".</summary>
    public void WriteSelf(string file, string value) => Write($"{Processes.Self}/{file}", value);

    public string ReadSelf(string file)
    {
        using var fd = OpenChecked($"{Processes.Self}/{file}", O.RDONLY);
        return Encoding.UTF8.GetString(Files.ReadToEnd(fd));
    }

    /// <summary>Writes /proc/<paramref name="relative"/>; an overmounted or symlinked path is refused.</summary>
    public void Write(string relative, string value)
    {
        using var fd = OpenChecked(relative, O.WRONLY | O.TRUNC);
        Files.WriteAll(fd, Encoding.UTF8.GetBytes(value), $"/proc/{relative}");
    }

    SafeFd OpenChecked(string relative, int flags)
    {
        try
        {
            return Files.OpenAt2(_proc, relative, flags, Resolve.Beneath | Resolve.NoSymlinks | Resolve.NoXdev);
        }
        catch (LinuxException e) when (e.Errno == Errno.EXDEV)
        {
            throw new RuntimeException($"/proc/{relative} has something mounted over it: refusing to write through it");
        }
    }

    public void Dispose() => _proc.Dispose();
}
