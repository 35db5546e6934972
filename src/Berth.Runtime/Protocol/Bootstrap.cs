using System.Buffers.Binary;
using System.Text;

namespace Berth.Runtime.Protocol;

/// <summary>
/// The bootstrap message native/nsenter.c reads before the .NET runtime starts:
/// {magic, sync fd, clone flags, join count, time-offsets length}, then {nstype, fd} per
/// namespace to join, then the text for /proc/self/timens_offsets.
/// </summary>
public sealed class Bootstrap
{
    const uint Magic = 0x48545242; // "BRTH"

    public int SyncFd { get; init; }
    public int CloneFlags { get; init; }
    public List<(int NsType, int Fd)> Joins { get; } = new();
    public string TimeOffsets { get; init; } = "";

    public byte[] Encode()
    {
        var timens = Encoding.ASCII.GetBytes(TimeOffsets);
        var buf = new byte[20 + Joins.Count * 8 + timens.Length];
        var s = buf.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(s, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], (uint)SyncFd);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], (uint)CloneFlags);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], (uint)Joins.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], (uint)timens.Length);
        int off = 20;
        foreach (var (type, fd) in Joins)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[off..], (uint)type);
            BinaryPrimitives.WriteUInt32LittleEndian(s[(off + 4)..], (uint)fd);
            off += 8;
        }
        timens.CopyTo(s[off..]);
        return buf;
    }
}
