using System.Security.Cryptography;
using Berth.Linux;

namespace Berth.Engine.Store;

/// <summary>
/// The containers of one engine store (STORE/containers): a directory per container, its record
/// written whole (temp file, fsync, rename), and one lock file that every CLI changing records
/// holds (flock) — shared by concurrent CLIs, released by the kernel when a CLI dies, so a
/// `kill -9` at any moment leaves either the old record or the new one, never half of one.
/// </summary>
public sealed class ContainerStore
{
    const string RecordFile = "container.json";

    public string Root { get; }
    public string ContainersDir => Path.Combine(Root, "containers");

    /// <summary>Where conmon writes each container's exit code (a file named by the id): outside the container's directory, so `run --rm` reads it after the removal.</summary>
    public string ExitsDir => Path.Combine(Root, "exits");

    public ContainerStore(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string DirOf(string id) => Path.Combine(ContainersDir, id);
    public string BundleOf(string id) => Path.Combine(DirOf(id), "bundle");
    public string UserDataOf(string id) => Path.Combine(DirOf(id), "userdata");
    public string LogOf(string id) => Path.Combine(UserDataOf(id), "ctr.log");
    public string ExitFileOf(string id) => Path.Combine(ExitsDir, id);
    public string PersistOf(string id) => Path.Combine(UserDataOf(id), "persist");
    public string ConmonPidFileOf(string id) => Path.Combine(UserDataOf(id), "conmon.pid");

    /// <summary>Makes the store's directories (0700: bundles hold the image's setuid binaries).</summary>
    public void Prepare()
    {
        FileSystem.CreateDirectory(Root, 0x1c0);
        FileSystem.CreateDirectory(ContainersDir, 0x1c0);
        FileSystem.CreateDirectory(ExitsDir, 0x1c0);
    }

    /// <summary>The store's lock, exclusive, held until disposed.</summary>
    public SafeFd Lock()
    {
        Prepare();
        var fd = Files.Open(Path.Combine(ContainersDir, ".lock"), O.RDWR | O.CREAT | O.CLOEXEC | O.NOFOLLOW, 0x180);
        Files.Flock(fd, exclusive: true);
        return fd;
    }

    public static string NewId()
    {
        Span<byte> b = stackalloc byte[32];
        RandomNumberGenerator.Fill(b);
        return Convert.ToHexStringLower(b);
    }

    /// <summary>Writes the record whole: a reader sees the old one or the new one.</summary>
    public void Write(ContainerRecord r)
    {
        var path = Path.Combine(DirOf(r.Id), RecordFile);
        var tmp = $"{path}.tmp-{Processes.Self}";
        FileSystem.TryDelete(tmp);
        using (var fd = FileSystem.CreateNew(tmp))
        {
            Files.WriteAll(fd, r.ToJson(), tmp);
            using var s = new FdStream(fd, tmp, read: false, write: true);
            s.Sync();
        }
        FileSystem.Rename(tmp, path);
    }

    public ContainerRecord? TryRead(string id)
    {
        byte[]? bytes;
        try { bytes = RegularFile.TryRead(Path.Combine(DirOf(id), RecordFile), 1 << 20, followLinks: false); }
        catch (LinuxException e) when (e.Errno is Errno.ENOTDIR) { return null; }
        if (bytes is null) return null;
        try { return ContainerRecord.Parse(bytes, $"container {id}"); }
        catch (Oci.SpecException) { return null; }
    }

    /// <summary>Every container directory's id, with a record or not (a directory without one is a creation cut short).</summary>
    public List<string> Ids() =>
        Directory.Exists(ContainersDir) ? FileSystem.Directories(ContainersDir).Where(IsId).ToList() : new();

    public List<ContainerRecord> All() => Ids().Select(TryRead).OfType<ContainerRecord>().ToList();

    static bool IsId(string s) => s.Length == 64 && s.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));

    /// <summary>docker's lookup: a full id, a name, then a unique id prefix.</summary>
    public ContainerRecord Find(string idOrName)
    {
        var all = All();
        var hit = all.FirstOrDefault(r => r.Id == idOrName) ?? all.FirstOrDefault(r => r.Name == idOrName);
        if (hit is not null) return hit;
        var prefixed = idOrName.Length > 0 ? all.Where(r => r.Id.StartsWith(idOrName, StringComparison.Ordinal)).ToList() : new();
        return prefixed.Count switch
        {
            1 => prefixed[0],
            0 => throw new EngineException($"no such container: {idOrName}"),
            _ => throw new EngineException($"{idOrName}: {prefixed.Count} containers have ids starting so; give more of the id"),
        };
    }
}
