using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// A mounts[] entry's options split the way mount(8) and runc do: flags to set, flags to
/// clear, propagation changes applied after the mount, recursive attributes for
/// mount_setattr ("rro"…), and the rest passed to the file system as data.
/// </summary>
public sealed class MountOptions
{
    public ulong Flags { get; private set; }
    public ulong Cleared { get; private set; }
    public List<ulong> Propagation { get; } = new();
    public ulong RecursiveSet { get; private set; }
    public ulong RecursiveClear { get; private set; }
    public List<string> Data { get; } = new();

    public bool IsBind => (Flags & MS.BIND) != 0;
    public bool IsRecursiveBind => (Flags & (MS.BIND | MS.REC)) == (MS.BIND | MS.REC);
    public string? DataString => Data.Count == 0 ? null : string.Join(',', Data);

    static readonly Dictionary<string, (bool Clear, ulong Flag)> FlagOptions = new()
    {
        ["async"] = (true, MS.SYNCHRONOUS), ["atime"] = (true, MS.NOATIME), ["bind"] = (false, MS.BIND),
        ["defaults"] = (false, 0), ["dev"] = (true, MS.NODEV), ["diratime"] = (true, MS.NODIRATIME),
        ["dirsync"] = (false, MS.DIRSYNC), ["exec"] = (true, MS.NOEXEC), ["mand"] = (false, MS.MANDLOCK),
        ["noatime"] = (false, MS.NOATIME), ["nodev"] = (false, MS.NODEV), ["nodiratime"] = (false, MS.NODIRATIME),
        ["noexec"] = (false, MS.NOEXEC), ["nomand"] = (true, MS.MANDLOCK), ["norelatime"] = (true, MS.RELATIME),
        ["nostrictatime"] = (true, MS.STRICTATIME), ["nosuid"] = (false, MS.NOSUID), ["rbind"] = (false, MS.BIND | MS.REC),
        ["relatime"] = (false, MS.RELATIME), ["remount"] = (false, MS.REMOUNT), ["ro"] = (false, MS.RDONLY),
        ["rw"] = (true, MS.RDONLY), ["strictatime"] = (false, MS.STRICTATIME), ["suid"] = (true, MS.NOSUID),
        ["sync"] = (false, MS.SYNCHRONOUS), ["nosymfollow"] = (false, MS.NOSYMFOLLOW), ["symfollow"] = (true, MS.NOSYMFOLLOW),
        ["lazytime"] = (false, MS.LAZYTIME), ["nolazytime"] = (true, MS.LAZYTIME),
    };

    static readonly Dictionary<string, ulong> PropagationOptions = new()
    {
        ["private"] = MS.PRIVATE, ["rprivate"] = MS.PRIVATE | MS.REC,
        ["shared"] = MS.SHARED, ["rshared"] = MS.SHARED | MS.REC,
        ["slave"] = MS.SLAVE, ["rslave"] = MS.SLAVE | MS.REC,
        ["unbindable"] = MS.UNBINDABLE, ["runbindable"] = MS.UNBINDABLE | MS.REC,
    };

    // mount_setattr(2) MOUNT_ATTR_* values.
    const ulong ATTR_RDONLY = 0x1, ATTR_NOSUID = 0x2, ATTR_NODEV = 0x4, ATTR_NOEXEC = 0x8,
        ATTR_NOATIME = 0x10, ATTR_STRICTATIME = 0x20, ATTR_NODIRATIME = 0x80, ATTR_NOSYMFOLLOW = 0x200000;

    static readonly Dictionary<string, (bool Clear, ulong Attr)> RecursiveOptions = new()
    {
        ["rro"] = (false, ATTR_RDONLY), ["rrw"] = (true, ATTR_RDONLY),
        ["rnosuid"] = (false, ATTR_NOSUID), ["rsuid"] = (true, ATTR_NOSUID),
        ["rnodev"] = (false, ATTR_NODEV), ["rdev"] = (true, ATTR_NODEV),
        ["rnoexec"] = (false, ATTR_NOEXEC), ["rexec"] = (true, ATTR_NOEXEC),
        ["rnodiratime"] = (false, ATTR_NODIRATIME), ["rdiratime"] = (true, ATTR_NODIRATIME),
        ["rnoatime"] = (false, ATTR_NOATIME), ["rstrictatime"] = (false, ATTR_STRICTATIME),
        ["rnosymfollow"] = (false, ATTR_NOSYMFOLLOW), ["rsymfollow"] = (true, ATTR_NOSYMFOLLOW),
    };

    public static MountOptions Parse(IEnumerable<string>? options)
    {
        var o = new MountOptions();
        foreach (var opt in options ?? Enumerable.Empty<string>())
        {
            if (FlagOptions.TryGetValue(opt, out var f))
            {
                if (f.Clear) { o.Flags &= ~f.Flag; o.Cleared |= f.Flag; }
                else { o.Flags |= f.Flag; o.Cleared &= ~f.Flag; }
            }
            else if (PropagationOptions.TryGetValue(opt, out var p)) o.Propagation.Add(p);
            else if (RecursiveOptions.TryGetValue(opt, out var r))
            {
                if (r.Clear) o.RecursiveClear |= r.Attr;
                else o.RecursiveSet |= r.Attr;
            }
            else o.Data.Add(opt);
        }
        return o;
    }
}
