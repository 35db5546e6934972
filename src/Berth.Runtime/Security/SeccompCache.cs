using System.Buffers.Binary;
using Berth.Linux;
using Berth.Linux.Security;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Store;

namespace Berth.Runtime.Security;

/// <summary>
/// Compiled seccomp programs, keyed by the profile, libseccomp's version and this machine's
/// architecture: a profile is compiled once (libseccomp takes ~10 ms for a 350-syscall
/// allowlist) and every later container with it loads the stored program. The cache sits in
/// the state root (0700, root's alone); entries are files of mode 0600, replaced atomically,
/// and carry the exact profile they were compiled from.
/// The cache is bounded — at most <see cref="MaxEntries"/> entries and <see cref="MaxBytes"/>
/// bytes, the oldest evicted first, and no entry over <see cref="MaxEntryBytes"/> — and it is
/// only ever an optimisation: an entry that cannot be read or written (permissions, a full or
/// read-only disk, a damaged file) means compiling, never a failed container.
/// </summary>
public sealed class SeccompCache
{
    public const int MaxEntries = 64;
    public const long MaxBytes = 4L << 20;
    public const long MaxEntryBytes = 1L << 20;

    readonly StateStore _store;
    readonly string _dir;

    public SeccompCache(StateStore store)
    {
        _store = store;
        _dir = Path.Combine(store.Root, ".cache", "seccomp");
    }

    public CompiledSeccomp Get(Seccomp profile, Log log)
    {
        var identity = Identity(profile);
        var path = Path.Combine(_dir, Fnv1a64(identity).ToString("x16"));
        if (TryRead(path, identity, log) is { } cached)
        {
            log.Debug("seccomp: program from the cache");
            return cached;
        }
        var compiled = SeccompCompiler.Compile(profile, log);
        var bytes = new byte[9 + identity.Length + compiled.Program.Length];
        if (bytes.Length > MaxEntryBytes)
        {
            log.Debug($"seccomp: not caching a {bytes.Length}-byte entry");
            return compiled;
        }
        try
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, compiled.Flags);
            bytes[4] = compiled.Notify ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(5), identity.Length);
            identity.CopyTo(bytes, 9);
            compiled.Program.CopyTo(bytes, 9 + identity.Length);
            MakeDirectory();
            RegularFile.WriteAtomic(path, $"{path}.{Environment.ProcessId}.tmp", bytes, 0x180 /* 0600 */);
            Evict(path);
        }
        catch (LinuxException e)
        {
            log.Debug($"seccomp: not caching the program: {e.Message}");
        }
        return compiled;
    }

    void MakeDirectory()
    {
        _store.EnsureRoot();
        foreach (var dir in new[] { Path.GetDirectoryName(_dir)!, _dir })
            if (Files.MkdirAt(null, dir, 0x1c0 /* 0700 */)) Files.Chmod(dir, 0x1c0);
    }

    /// <summary>
    /// Keeps the newest entries within the bounds (<paramref name="keep"/>, just written, stays),
    /// and removes temporary files of writers that died. Runs only after a compile, never on a hit.
    /// </summary>
    void Evict(string keep)
    {
        var entries = new List<(string Path, DateTimeOffset Written, long Size)>();
        using var dir = Files.Open(_dir, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        foreach (var e in FileSystem.Entries(dir, _dir))
        {
            if (e.IsDirectory == true) continue;
            var path = Path.Combine(_dir, e.Name);
            if (e.Name.EndsWith(".tmp", StringComparison.Ordinal))
            {
                if (e.Name.Split('.') is [_, var pid, _] && int.TryParse(pid, out var p) && ProcStat.Read(p) is not { IsGone: false })
                    FileSystem.TryDelete(path);
                continue;
            }
            SafeFd entry;
            try { entry = Files.OpenAt(dir, e.Name, O.PATH | O.NOFOLLOW); }
            catch (LinuxException) { continue; } // evicted by another writer meanwhile
            using (entry)
            {
                var st = Files.Fstat(entry);
                if (st.IsRegular) entries.Add((path, FileCopy.ModificationTime(entry), (long)st.Size));
            }
        }
        long total = entries.Sum(e => e.Size);
        int count = entries.Count;
        foreach (var e in entries.OrderBy(e => e.Written))
        {
            if (count <= MaxEntries && total <= MaxBytes) break;
            if (e.Path == keep) continue;
            FileSystem.TryDelete(e.Path);
            count--;
            total -= e.Size;
        }
    }

    /// <summary>An entry is used only if it was compiled from exactly this profile: the hash finds it, the bytes decide.</summary>
    static CompiledSeccomp? TryRead(string path, byte[] identity, Log log)
    {
        byte[]? bytes;
        try
        {
            bytes = RegularFile.TryRead(path, MaxEntryBytes, followLinks: false);
        }
        catch (LinuxException e)
        {
            log.Debug($"seccomp: cache entry unreadable: {e.Message}");
            return null;
        }
        if (bytes is null || bytes.Length < 9) return null;
        int idLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(5));
        if (idLength != identity.Length || bytes.Length < 9 + idLength) return null;
        if (!bytes.AsSpan(9, idLength).SequenceEqual(identity)) return null;
        var program = bytes[(9 + idLength)..];
        if (program.Length == 0 || program.Length % 8 != 0 || program.Length / 8 > SeccompCompiler.MaxInstructions) return null;
        return new CompiledSeccomp(program, BinaryPrimitives.ReadUInt32LittleEndian(bytes), bytes[4] == 1);
    }

    /// <summary>The profile as Berth reads it (formatting and unknown fields do not matter) plus the compiler's identity.</summary>
    static byte[] Identity(Seccomp profile) => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("compiler", $"berth-1;libseccomp-{SeccompFilter.Version};arch-{SeccompFilter.NativeArch}");
        w.WriteStartObject("profile");
        profile.Write(w);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    /// <summary>FNV-1a: a file name, not a security boundary (the full identity is compared).</summary>
    static ulong Fnv1a64(ReadOnlySpan<byte> data)
    {
        ulong h = 0xcbf29ce484222325;
        foreach (var b in data) h = (h ^ b) * 0x100000001b3;
        return h;
    }
}
