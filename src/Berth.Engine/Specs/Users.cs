using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Engine.Specs;

/// <summary>USER and -u as docker reads them: "name", "uid", "name:group", "uid:gid", names looked up in the image's own /etc/passwd and /etc/group (opened inside the root: RESOLVE_IN_ROOT), never through NSS.</summary>
public static class Users
{
    public static User Resolve(string? text, string rootfs)
    {
        if (string.IsNullOrEmpty(text)) text = "0";
        var parts = text.Split(':', 2);
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY);
        var passwd = UserDb.Passwd(root).ToList();
        bool numeric = uint.TryParse(parts[0], out var n);
        var entry = numeric ? passwd.FirstOrDefault(u => u.Uid == n) : passwd.FirstOrDefault(u => u.Name == parts[0]);
        if (entry is null && !numeric) throw new EngineException($"user \"{parts[0]}\": not in the image's /etc/passwd");
        uint uid = entry?.Uid ?? n;
        uint gid = entry?.Gid ?? 0;
        var groups = UserDb.Groups(root).ToList();
        if (parts.Length == 2)
            gid = uint.TryParse(parts[1], out var g) ? g
                : groups.FirstOrDefault(x => x.Name == parts[1])?.Gid ?? throw new EngineException($"group \"{parts[1]}\": not in the image's /etc/group");
        // (uid_t)-1 is the kernel's "no change": the process would stay root.
        if (uid == uint.MaxValue || gid == uint.MaxValue) throw new EngineException($"user \"{text}\": 4294967295 is not a valid id");
        var extra = entry is null ? new List<uint>() : groups.Where(x => x.Members.Contains(entry.Name) && x.Gid != gid).Select(x => x.Gid).Distinct().ToList();
        return new User { Uid = uid, Gid = gid, AdditionalGids = extra.Count > 0 ? extra : null };
    }
}
