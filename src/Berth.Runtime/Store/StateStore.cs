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

    // Create's temporary directory: ".new-<launcher pid>-<id>". The pid comes first so the id
    // is the exact rest of the name: the sweep never mistakes "X-1"'s directory for "X"'s.
    const string TempPrefix = ".new-";
    const int MaxPidDigits = 7; // PID_MAX_LIMIT is 4194304
    const int NameMax = 255;

    /// <summary>The longest id whose temporary directory name still fits in NAME_MAX.</summary>
    public const int MaxIdLength = NameMax - 5 /* ".new-" */ - MaxPidDigits - 1 /* '-' */;

    /// <summary>The most Berth reads of a state file: a record holds the config's annotations.</summary>
    public const long MaxStateFileBytes = SpecReader.MaxBytes + (1 << 20);

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
    /// Makes the state root if it is missing, mode 0700 as runc's /run/runc: state, the exec
    /// barrier and the seccomp cache are root's alone. Missing parents are made 0700 too; an
    /// existing directory is left as it is (it may be one the caller shares on purpose).
    /// </summary>
    public void EnsureRoot()
    {
        MakeDirectory(Root);
        if (!Files.TryStat(null, Root, follow: true, out var st, out _) || !st.IsDirectory)
            throw new RuntimeException($"--root: {Root} is not a directory");
    }

    static void MakeDirectory(string path)
    {
        const uint Mode = 0x1c0; // 0700
        try
        {
            if (!Files.MkdirAt(null, path, Mode)) return;
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT && Path.GetDirectoryName(path) is { } parent && parent != path)
        {
            MakeDirectory(parent);
            if (!Files.MkdirAt(null, path, Mode)) return;
        }
        // mkdir's mode is cut by the umask: make it exact.
        Files.Chmod(path, Mode);
    }

    /// <summary>
    /// Makes the directory for a new container and returns it locked. It is built under a
    /// temporary name and renamed into place without replacing, so no other command ever sees
    /// a directory for this id without its lock held or its first state.json written.
    /// </summary>
    public ContainerDir Create(string id, ContainerRecord first)
    {
        ContainerId.Validate(id);
        EnsureRoot();
        var temp = Path.Combine(Root, $"{TempPrefix}{Environment.ProcessId}-{id}");
        if (!Files.MkdirAt(null, temp, 0x1c0 /* 0700 */))
        {
            // Pids are unique among live processes: one of ours is a dead launcher's, unless a
            // launcher in another pid namespace holds it (and its lock).
            if (!RemoveUnlocked(temp)) throw new RuntimeException($"container with id exists: {id} (another create of it is under way)");
            Files.MkdirAt(null, temp, 0x1c0 /* 0700 */);
        }
        ContainerDir? dir = null;
        try
        {
            var fd = Files.Open(temp, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
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
            FileTree.Remove(temp);
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
    /// What launchers killed during create left in the state root: the temporary directory of
    /// a create of exactly <paramref name="id"/>, and views of the binary from Berth versions
    /// that made them as ".exe-PID-TICK" files. Each is removed only when the process that made
    /// it is dead, and a directory only when nobody holds its lock.
    /// </summary>
    public void RemoveAbandoned(string id)
    {
        ContainerId.Validate(id);
        List<string> names;
        try { names = FileSystem.Names(Root).Where(n => n.StartsWith('.')).ToList(); }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR) { return; }
        foreach (var name in names)
        {
            if (ParseOwner(name, TempPrefix, out int pid, out var rest) && rest == id && !ProcessAlive(pid))
                RemoveUnlocked(Path.Combine(Root, name));
            else if (ParseOwner(name, ".exe-", out pid, out rest) && rest.Length > 0 && rest.All(char.IsAsciiDigit) && !ProcessAlive(pid))
                RemoveExeView(Path.Combine(Root, name));
        }
    }

    /// <summary>"&lt;prefix&gt;&lt;pid&gt;-&lt;rest&gt;" → pid and rest.</summary>
    static bool ParseOwner(string name, string prefix, out int pid, out string rest)
    {
        pid = 0;
        rest = "";
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        int dash = name.IndexOf('-', prefix.Length);
        if (dash < 0 || !int.TryParse(name.AsSpan(prefix.Length, dash - prefix.Length), System.Globalization.NumberStyles.None, null, out pid) || pid <= 0)
            return false;
        rest = name[(dash + 1)..];
        return true;
    }

    static bool ProcessAlive(int pid) => ProcStat.Read(pid) is { IsGone: false };

    /// <summary>Removes a temporary directory nobody holds the lock of; false if someone does.</summary>
    static bool RemoveUnlocked(string path)
    {
        SafeFd fd;
        try { fd = Files.Open(path, O.RDONLY | O.DIRECTORY | O.NOFOLLOW); }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT) { return true; }
        catch (LinuxException) { return false; }
        using (fd)
        {
            if (!Files.Flock(fd, exclusive: true, nonBlocking: true)) return false;
            FileTree.Remove(path);
            return true;
        }
    }

    /// <summary>An old-style view: the binary may still be bind-mounted on it if its launcher died between bind and detach.</summary>
    static void RemoveExeView(string path)
    {
        try { Mounts.Unmount(path, Mounts.MNT_DETACH | Mounts.UMOUNT_NOFOLLOW); }
        catch (LinuxException) { /* not a mount point: the usual case */ }
        try { Files.UnlinkAt(null, path); }
        catch (LinuxException) { }
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

    /// <summary>The containers under the root (none when it does not exist yet); a root that is not a directory is an error.</summary>
    public IEnumerable<string> Ids()
    {
        List<string> dirs;
        try { dirs = FileSystem.Directories(Root); }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT) { return Array.Empty<string>(); }
        // The id rule decides what is a container: the root's own dot entries, and anything else
        // that is not an id, are not listed.
        return dirs.Where(ContainerId.IsValid).Order(StringComparer.Ordinal);
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
        try
        {
            // Never through a symlink, never more than a record can hold: the state root is root's, but a record is not trusted to be sane.
            var bytes = RegularFile.TryRead(System.IO.Path.Combine(Path, StateFile), StateStore.MaxStateFileBytes, followLinks: false);
            return bytes is null ? null : JsonIn.Parse(bytes, StateFile, ContainerRecord.Read);
        }
        catch (Exception e) when (e is LinuxException or Oci.SpecException)
        {
            return null;
        }
    }

    /// <summary>Atomic replace: readers without the lock (`state`) see the old or the new record, never half.</summary>
    public void Write(ContainerRecord record) => Replace(StateFile, JsonOut.Document(record));

    /// <summary>The container's config.json as create read it (and update changed it); null if a crashed create left none.</summary>
    public Spec? ReadSpec()
    {
        try
        {
            var bytes = RegularFile.TryRead(System.IO.Path.Combine(Path, ConfigFile), SpecReader.MaxBytes, followLinks: false);
            return bytes is null ? null : SpecReader.Parse(bytes);
        }
        catch (Exception e) when (e is LinuxException or Oci.SpecException) { return null; }
    }

    public void WriteSpec(ReadOnlySpan<byte> json) => Replace(ConfigFile, json);

    void Replace(string name, ReadOnlySpan<byte> bytes)
    {
        // 0600: a record and a config are root's alone, whatever the root directory's mode.
        RegularFile.WriteAtomic(System.IO.Path.Combine(Path, name), System.IO.Path.Combine(Path, name + ".tmp"), bytes, 0x180 /* 0600 */);
    }

    public bool FifoExists => File.Exists(FifoPath);

    /// <summary>Removes the directory and everything in it; the lock stays held until Dispose.</summary>
    public void Remove()
    {
        FileTree.Remove(Path);
    }

    public void Dispose() => _lock.Dispose();
}
