using System.Text;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Store;

/// <summary>
/// A writer's claim on the blobs it will name, so that gc keeps them while the writer works
/// without the store's lock. Blobs are written, checked and renamed with no lock held; only the
/// final index update takes the exclusive lock. Between the two, a blob the writer wrote or found
/// already there is referenced by nothing but this lease.
/// </summary>
/// <remarks>
/// Why gc can never delete a blob a live writer then names: a writer claims a digest (appends it
/// to its lease file) under the store's <em>shared</em> lock, and only afterwards renames the
/// blob into place or checks that it is there; gc holds the <em>exclusive</em> lock for its whole
/// run. So each claim happens wholly before a gc — which then reads it and keeps the blob — or
/// wholly after it, and then the writer's own check or rename sees the store as that gc left it.
/// A lease is live while its file is flock'ed by its owner: the kernel drops the lock when the
/// process dies (kill -9 included), so gc removes a dead writer's lease and its temporary files,
/// and pids being reused does not matter.
/// </remarks>
public sealed class BlobLease : IDisposable
{
    public const string DirectoryName = ".leases";

    readonly OciLayout _store;
    readonly SafeFd _fd;
    readonly string _path;
    readonly HashSet<Digest> _claimed = new();

    /// <summary>Names this lease's temporary blobs (".tmp-ID-…" in blobs/), so gc knows whose they are.</summary>
    public string Id { get; }

    BlobLease(OciLayout store, SafeFd fd, string path, string id)
    {
        _store = store;
        _fd = fd;
        _path = path;
        Id = id;
    }

    public static BlobLease Take(OciLayout store)
    {
        var dir = Path.Combine(store.Root, DirectoryName);
        // Under the shared lock: gc (exclusive) never finds the file before its owner has locked it.
        using var storeLock = store.Lock(exclusive: false);
        Files.MkdirAt(null, dir, 0x1c0);
        var id = $"lease{Environment.ProcessId}-{Guid.NewGuid():N}";
        var path = Path.Combine(dir, id);
        var fd = Files.Open(path, O.RDWR | O.CREAT | O.EXCL | O.NOFOLLOW | O.APPEND, 0x180);
        try
        {
            Files.Flock(fd, exclusive: true);
            return new BlobLease(store, fd, path, id);
        }
        catch
        {
            fd.Dispose();
            FileSystem.TryDelete(path);
            throw;
        }
    }

    /// <summary>From now until Dispose, gc keeps blob <paramref name="d"/>, whether it is in the store yet or not.</summary>
    public void Claim(Digest d)
    {
        // One claim at a time: a copy stores layers from several threads.
        lock (_claimed)
        {
            if (_claimed.Contains(d)) return;
            using var storeLock = _store.Lock(exclusive: false);
            Files.WriteAll(_fd, Encoding.ASCII.GetBytes(d + "\n"), $"lease {_path}");
            _claimed.Add(d);
        }
    }

    public void Dispose()
    {
        FileSystem.TryDelete(_path);
        _fd.Dispose();
    }

    /// <summary>
    /// For gc, with the store's exclusive lock held: the digests live leases claim. A lease whose
    /// owner is gone (its flock free) is removed, with the temporary blobs it left.
    /// </summary>
    public static HashSet<string> Claims(OciLayout store)
    {
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        var dir = Path.Combine(store.Root, DirectoryName);
        if (!Directory.Exists(dir)) return claimed;
        foreach (var name in FileSystem.NonDirectories(dir))
        {
            var path = Path.Combine(dir, name);
            SafeFd fd;
            try
            {
                fd = Files.Open(path, O.RDONLY | O.NOFOLLOW | O.NONBLOCK);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT)
            {
                continue; // its owner finished meanwhile
            }
            using (fd)
            {
                if (Files.Flock(fd, exclusive: true, nonBlocking: true))
                {
                    var id = Path.GetFileName(path);
                    foreach (var tmp in FileSystem.NonDirectories(store.Blobs.Root).Where(n => n.StartsWith($".tmp-{id}-", StringComparison.Ordinal)))
                        FileSystem.TryDelete(Path.Combine(store.Blobs.Root, tmp));
                    FileSystem.TryDelete(path);
                    continue;
                }
                // Written whole under the shared lock, which this gc excludes: no line is half there.
                foreach (var line in Encoding.ASCII.GetString(Files.ReadToEnd(fd)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    claimed.Add(line);
            }
        }
        return claimed;
    }
}
