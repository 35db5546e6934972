using Berth.Linux;

namespace Berth.Runtime.Init;

/// <summary>
/// "UID[:GID]" or "name[:group]" as given to `exec --user`, resolved against the container's
/// own /etc/passwd and /etc/group (opened inside its rootfs; never NSS).
/// </summary>
public static class UserSpec
{
    public static (uint Uid, uint Gid) Resolve(string spec, string rootfs)
    {
        var parts = spec.Split(':', 2);
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY);
        UserDb.PasswdEntry? entry = null;
        uint uid;
        if (uint.TryParse(parts[0], out var n))
        {
            uid = n;
            entry = UserDb.Passwd(root).FirstOrDefault(u => u.Uid == n);
        }
        else
        {
            entry = UserDb.Passwd(root).FirstOrDefault(u => u.Name == parts[0])
                ?? throw new RuntimeException($"--user: no user \"{parts[0]}\" in the container's /etc/passwd");
            uid = entry.Uid;
        }
        uint gid = parts.Length == 2 ? ResolveGroup(parts[1], root) : entry?.Gid ?? uid;
        return (uid, gid);
    }

    public static uint ResolveGroup(string group, string rootfs)
    {
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY);
        return ResolveGroup(group, root);
    }

    static uint ResolveGroup(string group, SafeFd root) =>
        uint.TryParse(group, out var gid) ? gid
            : UserDb.Groups(root).FirstOrDefault(g => g.Name == group)?.Gid
              ?? throw new RuntimeException($"--user: no group \"{group}\" in the container's /etc/group");
}
