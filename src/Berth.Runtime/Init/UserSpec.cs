using Berth.Linux;
using Berth.Oci.Runtime;

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
        uint gid = parts.Length == 2 ? ResolveGroup(parts[1], root, "--user") : entry?.Gid ?? uid;
        // From the command line or from the image's /etc/passwd: -1 must not slip through either way.
        if (uid == SpecValidator.NoChangeId) throw new RuntimeException($"--user: uid {uid} is the kernel's -1 (\"leave unchanged\"), not an id");
        if (gid == SpecValidator.NoChangeId) throw new RuntimeException($"--user: gid {gid} is the kernel's -1 (\"leave unchanged\"), not an id");
        return (uid, gid);
    }

    /// <summary>A group for --additional-gids.</summary>
    public static uint ResolveGroup(string group, string rootfs)
    {
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY);
        return ResolveGroup(group, root, "--additional-gids");
    }

    static uint ResolveGroup(string group, SafeFd root, string flag)
    {
        uint gid = uint.TryParse(group, out var n) ? n
            : UserDb.Groups(root).FirstOrDefault(g => g.Name == group)?.Gid
              ?? throw new RuntimeException($"{flag}: no group \"{group}\" in the container's /etc/group");
        if (gid == SpecValidator.NoChangeId) throw new RuntimeException($"{flag}: group {group}: gid {gid} is the kernel's -1 (\"leave unchanged\"), not an id");
        return gid;
    }
}
