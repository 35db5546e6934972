using Berth.Linux;

namespace Berth.Engine.Build.Executor;

/// <summary>
/// .containerignore, else .dockerignore, of a context: patterns (`**`, `!` exceptions, last match
/// wins), a path ignored when it or a parent matches. A small stand-in until Build/Context's loader.
/// </summary>
public sealed class ContextIgnores
{
    readonly List<(bool Exclude, string[] Segments)> _rules = new();

    public static ContextIgnores Load(string contextDir)
    {
        var ignores = new ContextIgnores();
        var text = FileSystem.TryReadText(Path.Combine(contextDir, ".containerignore")) ?? FileSystem.TryReadText(Path.Combine(contextDir, ".dockerignore"));
        if (text is null) return ignores;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            bool exception = line.StartsWith('!');
            if (exception) line = line[1..].Trim();
            var clean = TreeCopy.Clean(line);
            if (clean == ".") continue;
            ignores._rules.Add((!exception, clean.Split('/')));
        }
        return ignores;
    }

    public bool IsIgnored(string relative)
    {
        if (_rules.Count == 0 || relative.Length == 0) return false;
        var parts = relative.Split('/');
        bool ignored = false;
        foreach (var (exclude, segs) in _rules)
            for (int n = 1; n <= parts.Length; n++)
                if (Match(segs, 0, parts, 0, n))
                {
                    ignored = exclude;
                    break;
                }
        return ignored;
    }

    static bool Match(string[] pat, int i, string[] parts, int j, int end)
    {
        if (i == pat.Length) return j == end;
        if (pat[i] == "**")
        {
            for (int k = j; k <= end; k++)
                if (Match(pat, i + 1, parts, k, end)) return true;
            return false;
        }
        return j < end && TreeCopy.GlobMatch(pat[i], parts[j]) && Match(pat, i + 1, parts, j + 1, end);
    }
}
