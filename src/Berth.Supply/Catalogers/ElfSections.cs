using System.Buffers.Binary;
using Berth.Linux;

namespace Berth.Supply.Catalogers;

/// <summary>The named sections of a 64-bit little-endian ELF file (its section header table and the names in .shstrtab).</summary>
public static class ElfSections
{
    static readonly byte[] Elf = { 0x7f, (byte)'E', (byte)'L', (byte)'F' };

    /// <summary>Each section's (offset, size) by name, or null when the file is not such an ELF file.</summary>
    public static Dictionary<string, (long Offset, long Size)>? Read(FdStream f)
    {
        Span<byte> h = stackalloc byte[64];
        if (f.ReadAt(h, 0) < 64 || !h[..4].SequenceEqual(Elf) || h[4] != 2 /* ELFCLASS64 */ || h[5] != 1 /* little-endian */) return null;
        long shoff = BinaryPrimitives.ReadInt64LittleEndian(h[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(h[0x3A..]), shnum = BinaryPrimitives.ReadUInt16LittleEndian(h[0x3C..]), shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(h[0x3E..]);
        if (shoff <= 0 || shentsize < 64 || shnum == 0 || shnum > 4096 || shstrndx >= shnum) return null;
        var sections = new byte[shentsize * shnum];
        if (f.ReadAt(sections, shoff) < sections.Length) return null;
        long Offset(int i) => BinaryPrimitives.ReadInt64LittleEndian(sections.AsSpan(i * shentsize + 0x18));
        long Size(int i) => BinaryPrimitives.ReadInt64LittleEndian(sections.AsSpan(i * shentsize + 0x20));
        uint NameAt(int i) => BinaryPrimitives.ReadUInt32LittleEndian(sections.AsSpan(i * shentsize));
        var strtabSize = Math.Clamp(Size(shstrndx), 0, 1 << 20);
        var strtab = new byte[strtabSize];
        if (f.ReadAt(strtab, Offset(shstrndx)) < strtab.Length) return null;
        var found = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        for (int i = 0; i < shnum; i++)
        {
            int n = (int)NameAt(i);
            if (n >= strtab.Length) continue;
            var name = strtab.AsSpan(n);
            int end = name.IndexOf((byte)0);
            found.TryAdd(System.Text.Encoding.UTF8.GetString(end >= 0 ? name[..end] : name), (Offset(i), Size(i)));
        }
        return found;
    }

    /// <summary>A section's bytes, at most <paramref name="max"/> of them.</summary>
    public static byte[] Bytes(FdStream f, (long Offset, long Size) section, int max = 1 << 20)
    {
        var data = new byte[Math.Clamp(section.Size, 0, max)];
        int got = f.ReadAt(data, section.Offset);
        return got == data.Length ? data : data[..Math.Max(got, 0)];
    }
}
