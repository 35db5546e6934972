using System.Buffers.Binary;
using Berth.Linux.Security;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Security;

/// <summary>
/// Compiled seccomp programs, keyed by the profile, libseccomp's version and this machine's
/// architecture: a profile is compiled once (libseccomp takes ~10 ms for a 350-syscall
/// allowlist) and every later container with it loads the stored program. The cache sits in
/// the state root, which only root can write; entries are replaced atomically and carry the
/// exact profile they were compiled from.
/// </summary>
public sealed class SeccompCache
{
    readonly string _dir;

    public SeccompCache(string stateRoot) => _dir = Path.Combine(stateRoot, ".cache", "seccomp");

    public CompiledSeccomp Get(Seccomp profile, Log log)
    {
        var identity = Identity(profile);
        var path = Path.Combine(_dir, Fnv1a64(identity).ToString("x16"));
        if (TryRead(path, identity) is { } cached)
        {
            log.Debug("seccomp: program from the cache");
            return cached;
        }
        var compiled = SeccompCompiler.Compile(profile, log);
        try
        {
            Directory.CreateDirectory(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var tmp = $"{path}.{Environment.ProcessId}";
            var bytes = new byte[9 + identity.Length + compiled.Program.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(bytes, compiled.Flags);
            bytes[4] = compiled.Notify ? (byte)1 : (byte)0;
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(5), identity.Length);
            identity.CopyTo(bytes, 9);
            compiled.Program.CopyTo(bytes, 9 + identity.Length);
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e)
        {
            log.Debug($"seccomp: not caching the program: {e.Message}");
        }
        return compiled;
    }

    /// <summary>An entry is used only if it was compiled from exactly this profile: the hash finds it, the bytes decide.</summary>
    static CompiledSeccomp? TryRead(string path, byte[] identity)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (IOException) { return null; }
        if (bytes.Length < 9) return null;
        int idLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(5));
        if (idLength != identity.Length || bytes.Length < 9 + idLength) return null;
        if (!bytes.AsSpan(9, idLength).SequenceEqual(identity)) return null;
        var program = bytes[(9 + idLength)..];
        if (program.Length == 0 || program.Length % 8 != 0) return null;
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
