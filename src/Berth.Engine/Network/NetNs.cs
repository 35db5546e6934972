using Berth.Linux;

namespace Berth.Engine.Network;

/// <summary>
/// A network namespace with no process in it, kept alive by a bind mount at a path, as
/// `ip netns add` does; the engine gives the path to the runtime (a "network" namespace with a
/// path in config.json) and to CNI (CNI_NETNS). Its loopback is brought up by Setup (the CNI
/// loopback plugin).
/// </summary>
public static class NetNs
{
    /// <summary>Makes the namespace and returns <paramref name="path"/>; an error if something is there already.</summary>
    public static string Create(string path)
    {
        path = Path.GetFullPath(path);
        if (Path.GetDirectoryName(path) is { } dir) FileSystem.CreateDirectory(dir);
        // The mount point: a new empty file (never over one someone put there).
        FileSystem.CreateNew(path, 0x124 /* 0444 */).Dispose();
        Exception? failure = null;
        // unshare(CLONE_NEWNET) moves only the calling thread of a multi-threaded process: a thread
        // of its own, which exits after the bind mount, so no other code runs in the new namespace.
        var thread = new Thread(() =>
        {
            try
            {
                Namespaces.UnshareThread(Namespaces.CLONE_NEWNET);
                Mounts.Mount("/proc/thread-self/ns/net", path, null, MS.BIND, null);
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 256 << 10);
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            FileSystem.TryDelete(path);
            throw failure;
        }
        return path;
    }

    /// <summary>Unmounts and unlinks; nothing if the path is gone. A mount copied into a container's mount namespace goes with that namespace.</summary>
    public static void Remove(string path)
    {
        path = Path.GetFullPath(path);
        // MNT_DETACH: a process that still has it open (a CNI plugin) keeps the namespace, not the mount.
        // Stacked mounts (Create raced with itself) come off one by one; EINVAL: no mount left.
        for (int i = 0; i < 8; i++)
        {
            try { Mounts.Unmount(path, Mounts.MNT_DETACH | Mounts.UMOUNT_NOFOLLOW); }
            catch (LinuxException e) when (e.Errno is Errno.EINVAL or Errno.ENOENT) { break; }
        }
        FileSystem.Delete(path);
    }

    /// <summary>Whether a live network namespace is mounted at <paramref name="path"/>.</summary>
    public static bool Exists(string path)
    {
        try
        {
            using var fd = NamespaceFiles.OpenChecked(path, Namespaces.CLONE_NEWNET);
            return true;
        }
        catch (Exception e) when (e is LinuxException or InvalidOperationException)
        {
            return false;
        }
    }
}
