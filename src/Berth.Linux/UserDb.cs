using System.Text;

namespace Berth.Linux;

/// <summary>
/// /etc/passwd and /etc/group of the container, parsed here: NSS (getpwnam) would load the
/// image's own libraries into the runtime. Files are opened inside the root, must be regular,
/// and are read up to a cap, so an image cannot hand us a FIFO or /dev/zero.
/// </summary>
public static class UserDb
{
    const int MaxSize = 4 << 20;

    public sealed record PasswdEntry(string Name, uint Uid, uint Gid, string Home);
    public sealed record GroupEntry(string Name, uint Gid, string[] Members);

    public static IEnumerable<PasswdEntry> Passwd(SafeFd root) =>
        Lines(root, "/etc/passwd").Select(f => f.Length >= 6 && uint.TryParse(f[2], out var uid) && uint.TryParse(f[3], out var gid)
            ? new PasswdEntry(f[0], uid, gid, f[5]) : null).OfType<PasswdEntry>();

    public static IEnumerable<GroupEntry> Groups(SafeFd root) =>
        Lines(root, "/etc/group").Select(f => f.Length >= 3 && uint.TryParse(f[2], out var gid)
            ? new GroupEntry(f[0], gid, f.Length > 3 ? f[3].Split(',', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>()) : null)
            .OfType<GroupEntry>();

    static IEnumerable<string[]> Lines(SafeFd root, string path)
    {
        string text;
        try
        {
            using var fd = Files.OpenAt2(root, path.TrimStart('/'), O.RDONLY | O.NONBLOCK | O.NOCTTY, Resolve.InRoot | Resolve.NoMagicLinks);
            var st = Files.Fstat(fd);
            if (!st.IsRegular) return Array.Empty<string[]>();
            // Sized from the file (one byte over, to see it end), not MaxSize: this runs on every create.
            var buffer = new byte[(int)Math.Min(st.Size + 1, (ulong)MaxSize)];
            int total = 0, n;
            while (total < MaxSize && (n = Files.Read(fd, buffer.AsSpan(total))) > 0) total += n;
            text = Encoding.UTF8.GetString(buffer, 0, total);
        }
        catch (LinuxException)
        {
            return Array.Empty<string[]>();
        }
        return text.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => l.Split(':'));
    }
}
