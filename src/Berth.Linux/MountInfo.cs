using System.Text;

namespace Berth.Linux;

/// <summary>
/// One line of /proc/self/mountinfo (proc(5)): "36 35 98:0 /root /mnt opts - fstype source
/// superopts". Fields are unescaped: the kernel writes space, tab, newline and backslash in
/// paths as octal (\040), so a raw text search misses a path with a space in it.
/// </summary>
public sealed record MountInfo(string Root, string MountPoint, string FsType, string Source, string SuperOptions)
{
    public static IReadOnlyList<MountInfo> Read() => Parse(FileSystem.ReadText("/proc/self/mountinfo"));

    public static IReadOnlyList<MountInfo> Parse(string text)
    {
        var result = new List<MountInfo>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var dash = line.IndexOf(" - ", StringComparison.Ordinal);
            if (dash < 0) continue;
            var left = line[..dash].Split(' ');
            var right = line[(dash + 3)..].Split(' ');
            if (left.Length < 5 || right.Length < 3) continue;
            result.Add(new MountInfo(Unescape(left[3]), Unescape(left[4]), right[0], Unescape(right[1]), Unescape(right[2])));
        }
        return result;
    }

    /// <summary>overlayfs' lower directories, from its super options: "lowerdir=/a:/b" (mount(2)) or "lowerdir+=/a,lowerdir+=/b" (fsconfig).</summary>
    public IEnumerable<string> LowerDirs =>
        FsType != "overlay" ? Array.Empty<string>()
            : SuperOptions.Split(',').SelectMany(o =>
                o.StartsWith("lowerdir=") ? o[9..].Split(':') : o.StartsWith("lowerdir+=") ? new[] { o[10..] } : Array.Empty<string>());

    /// <summary>Undoes the kernel's "\ooo" octal escapes.</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && IsOctal(s, i + 1))
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    static bool IsOctal(string s, int at) =>
        at + 3 <= s.Length && s[at] is >= '0' and <= '3' && s[at + 1] is >= '0' and <= '7' && s[at + 2] is >= '0' and <= '7';
}
