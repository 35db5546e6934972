using System.Buffers.Binary;
using System.Text;

namespace Berth.Runtime.Protocol;

/// <summary>
/// The bootstrap message native/nsenter.c reads before the .NET runtime starts:
/// {magic, sync fd, clone flags, join count, time-offsets length, placement count, placement
/// length}, then {nstype, fd} per namespace to join, the text for /proc/self/timens_offsets,
/// and {kind, length, path} per cgroup the stage joins itself.
/// </summary>
public sealed class Bootstrap
{
    const uint Magic = 0x48545242; // "BRTH"

    public int SyncFd { get; init; }
    public int CloneFlags { get; init; }
    public List<(int NsType, int Fd)> Joins { get; } = new();
    public string TimeOffsets { get; init; } = "";
    public List<(PlaceKind Kind, string Path)> Placement { get; } = new();

    public byte[] Encode()
    {
        var timens = Encoding.ASCII.GetBytes(TimeOffsets);
        var places = Placement.Select(p => (p.Kind, Path: Encoding.UTF8.GetBytes(p.Path))).ToList();
        int placeLength = places.Sum(p => 8 + p.Path.Length);
        var buf = new byte[28 + Joins.Count * 8 + timens.Length + placeLength];
        var s = buf.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)SyncFd);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)CloneFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)Joins.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)timens.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(s[20..], (uint)places.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[24..], (uint)placeLength);
        int off = 28;
        foreach (var (type, fd) in Joins)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[off..], (uint)type);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(off + 4)..], (uint)fd);
            off += 8;
        }
        timens.CopyTo(s[off..]);
        off += timens.Length;
        foreach (var (kind, path) in places)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[off..], (uint)kind);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(off + 4)..], (uint)path.Length);
            path.CopyTo(s[(off + 8)..]);
            off += 8 + path.Length;
        }
        return buf;
    }
}

/// <summary>How the nsenter stage joins one of the container's cgroups (native/nsenter.c, place_self).</summary>
public enum PlaceKind : uint
{
    /// <summary>Writes "0" to the file: v1 <c>tasks</c> (one thread: itself), or v2 <c>cgroup.procs</c>.</summary>
    WriteSelf = 1,
    /// <summary>A v2 directory the container's init is born in (clone3 CLONE_INTO_CGROUP).</summary>
    CloneInto = 2,
}
