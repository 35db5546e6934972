using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// Image commands whose store, layout, archive or bundle path cannot be used (a file where a
/// directory should be, a read-only file system, a symlink loop) fail as every error does: exit
/// 1 and one line naming the command and the path, never .NET's wording.
/// </summary>
public class FileErrorTests
{
    [Fact]
    public void A_store_that_is_a_file_under_a_file_or_read_only_is_named()
    {
        using var s = new Scratch();
        using var ro = new ReadOnlyDirectory(s.Dir);
        var file = s.P("a-file");
        File.WriteAllText(file, "");
        Scratch.Exec(Scratch.Binary, "image", "--store", file, "ls").FailsNaming($"berth: image ls: store: {file} exists and is not a directory");
        Scratch.Exec(Scratch.Binary, "image", "--store", Path.Combine(file, "store"), "ls").FailsNaming($"berth: image ls: mkdir {file}: exists and is not a directory");
        Scratch.Exec(Scratch.Binary, "image", "--store", Path.Combine(ro.Path, "store"), "ls").FailsNaming($"berth: image ls: mkdir {ro.Path}/store: EROFS (Read-only file system)");
        // An existing directory the store would close to 0700, on a file system that refuses it.
        Scratch.Exec(Scratch.Binary, "image", "--store", ro.Path, "gc").FailsNaming($"berth: image gc: chmod {ro.Path}: EROFS (Read-only file system)");
    }

    [Fact]
    public void A_destination_or_a_source_that_cannot_be_used_is_named()
    {
        using var s = new Scratch();
        using var ro = new ReadOnlyDirectory(s.Dir);
        File.WriteAllBytes(s.P("rootfs.tar"), TestImages.BusyboxTar());
        s.Image("import", s.P("rootfs.tar"), "app").Ok();
        var loop = s.P("loop");
        File.CreateSymbolicLink(loop, "loop");

        s.Image("copy", "app", $"oci:{ro.Path}/layout:v1").FailsNaming($"berth: image copy: mkdir {ro.Path}/layout: EROFS");
        s.Image("copy", "app", $"oci-archive:{ro.Path}/app.tar:v1").FailsNaming($"berth: image copy: writing {ro.Path}/app.tar: EROFS");
        s.Image("unpack", "app", Path.Combine(ro.Path, "bundle")).FailsNaming($"berth: image unpack: mkdir {ro.Path}/bundle: EROFS");
        s.Image("unpack", "--overlay", "app", Path.Combine(ro.Path, "bundle")).FailsNaming($"{ro.Path}/bundle", "EROFS");
        s.Image("import", loop, "x").FailsNaming($"berth: image import: open {loop}: ELOOP");
        s.Image("import", s.Dir, "x").FailsNaming($"berth: image import: {s.Dir}: not a regular file but a directory");
        s.Image("copy", $"oci-archive:{loop}", "x").FailsNaming(loop, "ELOOP");
        s.Image("ls", $"oci:{s.P("rootfs.tar")}").FailsNaming(s.P("rootfs.tar"));
        // Nothing half-made is left: the store still holds only the imported image.
        Assert.Single(s.Image("ls").Ok().Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1));
        Assert.Empty(Directory.GetFileSystemEntries(ro.Path));
    }
}
