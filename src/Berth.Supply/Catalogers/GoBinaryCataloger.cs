using System.Buffers.Binary;
using System.Text;
using Berth.Linux;
using Berth.Supply.Packages;
using Berth.Supply.Rootfs;

namespace Berth.Supply.Catalogers;

/// <summary>
/// Go executables' build information (debug/buildinfo): the ELF section .go.buildinfo starts with
/// "\xff Go buildinf:", a pointer size and flags; with flag 2 (Go 1.18+) the Go version and the module
/// information follow as varint-prefixed strings. The module text lists "path", "mod" (the main module)
/// and "dep" lines, each dependency's "=>" replacement after it. Each module is a pkg:golang package.
/// </summary>
public sealed class GoBinaryCataloger : IFileCataloger
{
    static readonly byte[] Elf = { 0x7f, (byte)'E', (byte)'L', (byte)'F' };
    // 0xff then " Go buildinf:" (a u8 literal would encode \xff as two bytes).
    static readonly byte[] Magic = new byte[] { 0xff }.Concat(" Go buildinf:"u8.ToArray()).ToArray();
    static readonly string[] NotBinaries =
    {
        ".py", ".pyc", ".js", ".json", ".txt", ".md", ".html", ".h", ".c", ".gz", ".xz", ".png", ".svg", ".mo", ".pm", ".pl", ".rb", ".css",
        ".list", ".md5sums", ".conf", ".xml", ".yaml", ".yml", ".ts", ".map", ".pod", ".3", ".1", ".so", ".a", ".o", ".ko", ".jar", ".zip",
    };

    public string Name => "go";

    public bool Wants(string dir, string name) =>
        !NotBinaries.Any(e => name.EndsWith(e, StringComparison.Ordinal)) && !dir.StartsWith("/usr/share", StringComparison.Ordinal) &&
        !dir.Contains("/node_modules/", StringComparison.Ordinal) && !dir.StartsWith("/var/lib/dpkg", StringComparison.Ordinal);

    public IEnumerable<Package> Read(RootView root, string path)
    {
        (string, List<(string, string, string)>)? info;
        try
        {
            using var f = root.TryOpen(path);
            if (f is null) return Array.Empty<Package>();
            info = BuildInfo(f);
        }
        catch (LinuxException)
        {
            // Not readable as a file (an nsfs bind mount, a FIFO's cousin): not a binary to report.
            return Array.Empty<Package>();
        }
        if (info is null) return Array.Empty<Package>();
        var (goVersion, modules) = info.Value;
        var found = new List<Package>();
        foreach (var (kind, module, version) in modules)
        {
            // A main module built from a checkout is "(devel)": no version to match advisories with.
            var v = version == "(devel)" ? "" : version;
            int slash = module.LastIndexOf('/');
            var (ns, name) = slash > 0 ? (module[..slash], module[(slash + 1)..]) : (null, module);
            found.Add(new Package("golang", name, v)
            {
                Namespace = ns, Purl = PackageUrl.Build("golang", ns, name, v.Length == 0 ? null : v),
                Cpes = Array.Empty<string>(), Location = path, FoundBy = "go", Layer = root.LayerOf(path),
                Supplier = kind == "mod" ? $"main module, {goVersion}" : null,
            });
        }
        // The toolchain itself: advisories against the standard library are filed as "stdlib".
        if (goVersion.StartsWith("go", StringComparison.Ordinal))
            found.Add(new Package("golang", "stdlib", goVersion[2..].Split(' ')[0])
            {
                Purl = PackageUrl.Build("golang", null, "stdlib", goVersion[2..].Split(' ')[0]), Location = path, FoundBy = "go", Layer = root.LayerOf(path),
            });
        return found;
    }

    /// <summary>The Go version and the (kind, path, version) of each module, or null when the file is not a Go 1.18+ ELF executable.</summary>
    public static (string GoVersion, List<(string Kind, string Path, string Version)> Modules)? BuildInfo(FdStream f)
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
        var strtabSize = Math.Min(Size(shstrndx), 1 << 20);
        var strtab = new byte[strtabSize];
        if (f.ReadAt(strtab, Offset(shstrndx)) < strtab.Length) return null;
        for (int i = 0; i < shnum; i++)
        {
            int n = (int)NameAt(i);
            if (n >= strtab.Length) continue;
            var name = strtab.AsSpan(n);
            int end = name.IndexOf((byte)0);
            if (!(end >= 0 ? name[..end] : name).SequenceEqual(".go.buildinfo"u8)) continue;
            var data = new byte[Math.Min(Size(i), 1 << 20)];
            int got = f.ReadAt(data, Offset(i));
            return Parse(data.AsSpan(0, Math.Max(got, 0)));
        }
        return null;
    }

    static (string, List<(string, string, string)>)? Parse(ReadOnlySpan<byte> data)
    {
        if (data.Length < 32 || !data[..14].SequenceEqual(Magic) || (data[15] & 2) == 0) return null;
        int at = 32;
        byte[]? Next(ReadOnlySpan<byte> d)
        {
            ulong len = 0;
            int shift = 0;
            while (at < d.Length)
            {
                byte b = d[at++];
                len |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0) break;
                shift += 7;
                if (shift > 63) return null;
            }
            if (len > (ulong)(d.Length - at)) return null;
            var s = d.Slice(at, (int)len).ToArray();
            at += (int)len;
            return s;
        }
        var goBytes = Next(data);
        var modBytes = Next(data);
        if (goBytes is null || modBytes is null) return null;
        var goVersion = Encoding.UTF8.GetString(goBytes);
        // The module text is wrapped in 16-byte binary sentinels: cut them off before decoding.
        var modinfo = Encoding.UTF8.GetString(modBytes.Length >= 33 && modBytes[^17] == (byte)'\n' ? modBytes.AsSpan(16, modBytes.Length - 32) : modBytes);
        var modules = new List<(string Kind, string Path, string Version)>();
        foreach (var line in modinfo.Split('\n'))
        {
            var f = line.Split('\t');
            if (f.Length >= 3 && f[0] is "mod" or "dep") modules.Add((f[0], f[1], f[2]));
            // A replacement by another module names what was built in; one by a local directory ("./dep") keeps the dependency's name and version.
            else if (f.Length >= 3 && f[0] == "=>" && modules.Count > 0 && f[2].Length > 0 && !f[1].StartsWith('.') && !f[1].StartsWith('/'))
                modules[^1] = (modules[^1].Kind, f[1], f[2]);
        }
        return (goVersion, modules);
    }
}
