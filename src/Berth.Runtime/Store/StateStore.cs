using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Linux;

namespace Berth.Runtime.Store;

/// <summary>
/// Container state under a root directory (runc's --root): one directory per id, holding
/// state.json and exec.fifo, and locked with flock so that commands on one id serialise.
/// </summary>
public sealed class StateStore
{
    public string Root { get; }

    public StateStore(string root) => Root = Path.GetFullPath(root);

    /// <summary>
    /// runc's default --root: /run/berth, or $XDG_RUNTIME_DIR/berth for a caller that is not
    /// root, or that is uid 0 of a user namespace other than root's (rootless podman).
    /// </summary>
    public static string DefaultRoot()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (string.IsNullOrEmpty(xdg)) return "/run/berth";
        bool honour = Processes.EffectiveUid != 0 || (Namespaces.InUserNamespace() && Environment.GetEnvironmentVariable("USER") != "root");
        return honour ? Path.Combine(xdg, "berth") : "/run/berth";
    }

    public string DirOf(string id) => Path.Combine(Root, id);

    /// <summary>
    /// Makes the directory for a new container and returns it locked. It is built under a
    /// temporary name and renamed into place without replacing, so no other command ever sees
    /// a directory for this id without its lock held or its first state.json written.
    /// </summary>
    public ContainerDir Create(string id, ContainerRecord first)
    {
        Directory.CreateDirectory(Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = Path.Combine(Root, $".new-{id}-{Guid.NewGuid():N}");
        Files.MkdirAt(null, temp, 0x1c9 /* 0711 */);
        ContainerDir? dir = null;
        try
        {
            var fd = Files.Open(temp, O.RDONLY | O.DIRECTORY);
            Files.Flock(fd, exclusive: true);
            dir = new ContainerDir(id, temp, fd);
            dir.Write(first);
            try
            {
                Files.RenameNoReplace(temp, DirOf(id));
            }
            catch (LinuxException e) when (e.Errno is Errno.EEXIST or Errno.ENOTEMPTY)
            {
                throw new RuntimeException($"container with id exists: {id}");
            }
            dir.MovedTo(DirOf(id));
            return dir;
        }
        catch
        {
            dir?.Remove();
            dir?.Dispose();
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>Opens and locks an existing container's directory; null if there is none.</summary>
    public ContainerDir? Open(string id, bool exclusive)
    {
        ContainerId.Validate(id);
        var path = DirOf(id);
        SafeFd fd;
        try
        {
            fd = Files.Open(path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;
        }
        Files.Flock(fd, exclusive);
        // A delete may have removed the directory while we waited for its lock.
        if (Files.Fstat(fd).Nlink == 0)
        {
            fd.Dispose();
            return null;
        }
        return new ContainerDir(id, path, fd);
    }

    /// <summary>
    /// Removes the temporary directories of creates of <paramref name="id"/> that died before
    /// renaming theirs into place: nobody holds their lock any more.
    /// </summary>
    public void RemoveAbandoned(string id)
    {
        if (!Directory.Exists(Root)) return;
        foreach (var path in Directory.EnumerateDirectories(Root, $".new-{id}-*"))
        {
            SafeFd fd;
            try { fd = Files.Open(path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW); }
            catch (LinuxException) { continue; }
            using (fd)
            {
                if (!Files.Flock(fd, exclusive: true, nonBlocking: true)) continue;
                Directory.Delete(path, recursive: true);
            }
        }
    }

    /// <summary>
    /// Reads a record without taking the lock (state.json is replaced atomically), so `state`
    /// never waits behind a create or start. Exists is false when there is no such container.
    /// </summary>
    public (bool Exists, ContainerRecord? Record, bool FifoExists) Peek(string id)
    {
        ContainerId.Validate(id);
        var path = DirOf(id);
        if (!Directory.Exists(path)) return (false, null, false);
        var dir = new ContainerDir(id, path, new SafeFd(-1));
        return (true, dir.Read(), dir.FifoExists);
    }

    public IEnumerable<string> Ids()
    {
        if (!Directory.Exists(Root)) return Array.Empty<string>();
        return Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .Where(n => n is not null && !n.StartsWith('.'))
            .Select(n => n!)
            .Order(StringComparer.Ordinal);
    }
}

/// <summary>A container's locked state directory.</summary>
public sealed class ContainerDir : IDisposable
{
    const string StateFile = "state.json", ConfigFile = "config.json";
    readonly SafeFd _lock;

    public string Id { get; }
    public string Path { get; private set; }
    public string FifoPath => System.IO.Path.Combine(Path, "exec.fifo");

    internal ContainerDir(string id, string path, SafeFd lockFd)
    {
        Id = id;
        Path = path;
        _lock = lockFd;
    }

    internal void MovedTo(string path) => Path = path;

    /// <summary>The record, or null for a directory a crashed create left without one.</summary>
    public ContainerRecord? Read()
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(System.IO.Path.Combine(Path, StateFile)); }
        catch (FileNotFoundException) { return null; }
        try
        {
            return JsonIn.Parse(bytes, StateFile, ContainerRecord.Read);
        }
        catch (Oci.SpecException)
        {
            return null;
        }
    }

    /// <summary>Atomic replace: readers without the lock (`state`) see the old or the new record, never half.</summary>
    public void Write(ContainerRecord record) => Replace(StateFile, JsonOut.Document(record));

    /// <summary>The container's config.json as create read it (and update changed it); null if a crashed create left none.</summary>
    public Spec? ReadSpec()
    {
        try { return SpecReader.Parse(File.ReadAllBytes(System.IO.Path.Combine(Path, ConfigFile))); }
        catch (Exception e) when (e is IOException or Oci.SpecException) { return null; }
    }

    public void WriteSpec(ReadOnlySpan<byte> json) => Replace(ConfigFile, json);

    void Replace(string name, ReadOnlySpan<byte> bytes)
    {
        var tmp = System.IO.Path.Combine(Path, name + ".tmp");
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, System.IO.Path.Combine(Path, name), overwrite: true);
    }

    public bool FifoExists => File.Exists(FifoPath);

    /// <summary>Removes the directory and everything in it; the lock stays held until Dispose.</summary>
    public void Remove()
    {
        if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
    }

    public void Dispose() => _lock.Dispose();
}
