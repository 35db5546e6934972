using Xunit;

namespace Berth.Tests;

/// <summary>
/// A directory that is read-only even for root (EROFS): a bind mount of itself, remounted
/// read-only, and unmounted and removed on Dispose. Tests run as root, for whom a mode is no
/// obstacle: a read-only mount is.
/// </summary>
public sealed class ReadOnlyDirectory : IDisposable
{
    public string Path { get; }

    public ReadOnlyDirectory(string parent, string name = "ro")
    {
        Path = System.IO.Path.Combine(parent, name);
        Directory.CreateDirectory(Path);
        Commands.Exec("mount", "--bind", Path, Path).Ok();
        Commands.Exec("mount", "-o", "remount,bind,ro", Path).Ok();
    }

    public void Dispose()
    {
        Commands.Exec("umount", Path);
        try { Directory.Delete(Path); } catch (IOException) { }
    }
}
