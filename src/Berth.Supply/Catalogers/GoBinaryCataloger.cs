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
/// The same read of the section table finds cargo-auditable's .dep-v0 (<see cref="CargoAuditable"/>): pkg:cargo packages.
/// </summary>
public sealed class GoBinaryCataloger : IFileCataloger
{
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
        (string, List<(string, string, string)>)? info = null;
        List<CargoAuditable.Crate>? crates = null;
        try
        {
            using var f = root.TryOpen(path);
            if (f is null || ElfSections.Read(f) is not { } sections) return Array.Empty<Package>();
            if (sections.TryGetValue(".go.buildinfo", out var go)) info = Parse(ElfSections.Bytes(f, go));
            if (sections.TryGetValue(".dep-v0", out var dep)) crates = CargoAuditable.Parse(ElfSections.Bytes(f, dep, 4 << 20), path);
        }
        catch (LinuxException)
        {
            // Not readable as a file (an nsfs bind mount, a FIFO's cousin): not a binary to report.
            return Array.Empty<Package>();
        }
        var found = new List<Package>();
        foreach (var c in crates ?? new())
            found.Add(new Package("cargo", c.Name, c.Version)
            {
                Purl = PackageUrl.Build("cargo", null, c.Name, c.Version), Cpes = new[] { Cpe.Of(c.Name, c.Name, c.Version) },
                Location = path, FoundBy = "rust-audit", Layer = root.LayerOf(path),
                Supplier = c.Root ? "root crate" : c.Kind == "build" ? "build dependency" : null,
            });
        if (info is null) return found;
        var (goVersion, modules) = info.Value;
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
    public static (string GoVersion, List<(string Kind, string Path, string Version)> Modules)? BuildInfo(FdStream f) =>
        ElfSections.Read(f) is { } sections && sections.TryGetValue(".go.buildinfo", out var s) ? Parse(ElfSections.Bytes(f, s)) : null;

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
