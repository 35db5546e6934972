using Berth.Linux;

namespace Berth.Runtime.Rootfs;

/// <summary>
/// A mounts[] entry's options split the way mount(8) and runc do: flags to set, flags to
/// clear, propagation changes applied after the mount, recursive attributes for
/// mount_setattr ("rro"…), runc's extensions (tmpcopyup, idmap, ridmap), and the rest passed
/// to the file system as data.
/// </summary>
public sealed class MountOptions
{
    public ulong Flags { get; private set; }
    public ulong Cleared { get; private set; }
    public List<ulong> Propagation { get; } = new();
    public ulong RecursiveSet { get; private set; }
    public ulong RecursiveClear { get; private set; }
    public List<string> Data { get; } = new();
    /// <summary>tmpcopyup: a tmpfs starts with the content of the directory it covers.</summary>
    public bool TmpCopyUp { get; private set; }
    /// <summary>idmap / ridmap: the bind mount is idmapped by the mount's uid/gid mappings (ridmap: recursively).</summary>
    public bool IdMap { get; private set; }
    public bool RecursiveIdMap { get; private set; }

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
        ["iversion"] = (false, MS.I_VERSION), ["noiversion"] = (true, MS.I_VERSION),
        ["silent"] = (false, MS.SILENT), ["loud"] = (true, MS.SILENT),
    };

    static readonly Dictionary<string, ulong> PropagationOptions = new()
    {
        ["private"] = MS.PRIVATE, ["rprivate"] = MS.PRIVATE | MS.REC,
        ["shared"] = MS.SHARED, ["rshared"] = MS.SHARED | MS.REC,
        ["slave"] = MS.SLAVE, ["rslave"] = MS.SLAVE | MS.REC,
        ["unbindable"] = MS.UNBINDABLE, ["runbindable"] = MS.UNBINDABLE | MS.REC,
    };

    // mount_setattr(2) MOUNT_ATTR_* values; the atime modes are an enum under ATTR_ATIME, which
    // must be cleared as a whole to set one of them.
    const ulong ATTR_RDONLY = 0x1, ATTR_NOSUID = 0x2, ATTR_NODEV = 0x4, ATTR_NOEXEC = 0x8, ATTR_ATIME = 0x70,
        ATTR_RELATIME = 0, ATTR_NOATIME = 0x10, ATTR_STRICTATIME = 0x20, ATTR_NODIRATIME = 0x80, ATTR_NOSYMFOLLOW = 0x200000;

    /// <summary>runc's recursive options: attributes set and cleared on the whole tree.</summary>
    static readonly Dictionary<string, (ulong Set, ulong Clear)> RecursiveOptions = new()
    {
        ["rro"] = (ATTR_RDONLY, 0), ["rrw"] = (0, ATTR_RDONLY),
        ["rnosuid"] = (ATTR_NOSUID, 0), ["rsuid"] = (0, ATTR_NOSUID),
        ["rnodev"] = (ATTR_NODEV, 0), ["rdev"] = (0, ATTR_NODEV),
        ["rnoexec"] = (ATTR_NOEXEC, 0), ["rexec"] = (0, ATTR_NOEXEC),
        ["rnodiratime"] = (ATTR_NODIRATIME, 0), ["rdiratime"] = (0, ATTR_NODIRATIME),
        ["rrelatime"] = (ATTR_RELATIME, ATTR_ATIME), ["rnorelatime"] = (0, ATTR_ATIME),
        ["rnoatime"] = (ATTR_NOATIME, ATTR_ATIME), ["ratime"] = (0, ATTR_ATIME),
        ["rstrictatime"] = (ATTR_STRICTATIME, ATTR_ATIME), ["rnostrictatime"] = (0, ATTR_ATIME),
        ["rnosymfollow"] = (ATTR_NOSYMFOLLOW, 0), ["rsymfollow"] = (0, ATTR_NOSYMFOLLOW),
    };

    /// <summary>Every option this runtime knows (as `berth features` lists them); others go to the file system as data.</summary>
    public static IReadOnlyList<string> Known { get; } =
        FlagOptions.Keys.Concat(PropagationOptions.Keys).Concat(RecursiveOptions.Keys).Concat(new[] { "tmpcopyup", "idmap", "ridmap" })
            .Order(StringComparer.Ordinal).ToArray();

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
                o.RecursiveSet = (o.RecursiveSet & ~r.Clear) | r.Set;
                o.RecursiveClear |= r.Clear;
            }
            else if (opt == "tmpcopyup") o.TmpCopyUp = true;
            else if (opt == "idmap") o.IdMap = true;
            else if (opt == "ridmap") o.IdMap = o.RecursiveIdMap = true;
            else o.Data.Add(opt);
        }
        return o;
    }
}
