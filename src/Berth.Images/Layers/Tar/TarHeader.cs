namespace Berth.Images.Layers.Tar;

/// <summary>What an entry is, from its typeflag (POSIX ustar/pax, GNU): the kinds a rootfs can hold, and Other.</summary>
public enum TarType
{
    Regular,
    HardLink,
    Symlink,
    CharDevice,
    BlockDevice,
    Directory,
    Fifo,
    /// <summary>Multi-volume parts, tape labels, vendor types: nothing a rootfs holds; their data is skipped.</summary>
    Other,
}

/// <summary>One piece of a sparse file's data: <see cref="Length"/> bytes at <see cref="Offset"/>; the rest is holes.</summary>
public readonly record struct SparseFragment(long Offset, long Length);

/// <summary>
/// One tar entry as the unpacker acts on it: its PAX and GNU extension headers already merged
/// in, every number range-checked, names decoded as UTF-8, xattr names and values as the raw
/// bytes of their SCHILY.xattr.* records.
/// </summary>
public sealed class TarHeader
{
    public required TarType Type { get; init; }
    /// <summary>The raw typeflag, for messages.</summary>
    public required char TypeFlag { get; init; }
    public required string Name { get; init; }
    public string LinkName { get; init; } = "";
    /// <summary>Permission bits with setuid, setgid and sticky (07777).</summary>
    public uint Mode { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public DateTimeOffset ModificationTime { get; init; }
    public uint DevMajor { get; init; }
    public uint DevMinor { get; init; }
    /// <summary>Bytes of data the entry carries in the archive (for a sparse file, its fragments' total).</summary>
    public long Size { get; init; }
    /// <summary>A sparse file's fragments, in order; null for a file that is not sparse.</summary>
    public IReadOnlyList<SparseFragment>? Sparse { get; init; }
    /// <summary>A sparse file's length with its holes.</summary>
    public long RealSize { get; init; }
    public IReadOnlyList<(byte[] Name, byte[] Value)> Xattrs { get; init; } = Array.Empty<(byte[], byte[])>();
}
