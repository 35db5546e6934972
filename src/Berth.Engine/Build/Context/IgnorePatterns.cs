using System.Text;
using System.Text.RegularExpressions;

namespace Berth.Engine.Build.Context;

/// <summary>
/// A .containerignore/.dockerignore as moby's patternmatcher reads and applies it: one pattern a
/// line, '#' lines and blank lines skipped, '!' an exception; each pattern cleaned (filepath.Clean,
/// so "./a" and "a/" are "a") and a leading '/' dropped; `*` and `?` never cross a '/', `**`
/// crosses any number of them; a pattern that matches a directory matches all under it; the
/// last pattern that matches a path decides.
/// </summary>
public sealed class IgnorePatterns
{
    readonly record struct Pattern(string Text, Regex Regex, bool Exclusion);

    readonly List<Pattern> _patterns = new();

    public static readonly IgnorePatterns None = new(Array.Empty<string>(), "");

    /// <summary>Whether an '!' exception exists: then an ignored directory may still hold a kept file.</summary>
    public bool HasExceptions { get; }

    public int Count => _patterns.Count;

    public IgnorePatterns(IEnumerable<string> lines, string file)
    {
        int n = 0;
        foreach (var raw in lines)
        {
            n++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            bool exclusion = false;
            if (line[0] == '!')
            {
                exclusion = true;
                line = line[1..].Trim();
                if (line.Length == 0) throw new EngineException($"{file}:{n}: \"!\" alone is not a pattern");
            }
            line = Clean(line);
            if (line.Length > 1 && line[0] == '/') line = line[1..];
            _patterns.Add(new Pattern(line, Compile(line, file, n), exclusion));
            HasExceptions |= exclusion;
        }
    }

    public static IgnorePatterns Parse(string text, string file) => new(text.Split('\n'), file);

    /// <summary>patternmatcher.MatchesOrParentMatches: <paramref name="path"/> is relative to the context, '/'-separated, clean.</summary>
    public bool IsIgnored(string path)
    {
        if (_patterns.Count == 0) return false;
        bool matched = false;
        foreach (var p in _patterns)
        {
            // An inclusion cannot change a path already matched, nor an exception one not matched yet.
            if (p.Exclusion != matched) continue;
            bool match = p.Regex.IsMatch(path);
            for (int slash = path.IndexOf('/'); !match && slash > 0; slash = path.IndexOf('/', slash + 1))
                match = p.Regex.IsMatch(path.AsSpan(0, slash));
            if (match) matched = !p.Exclusion;
        }
        return matched;
    }

    /// <summary>The regular expression patternmatcher makes of a pattern.</summary>
    static Regex Compile(string pattern, string file, int line)
    {
        var re = new StringBuilder("^");
        for (int i = 0; i < pattern.Length; i++)
        {
            char ch = pattern[i];
            if (ch == '*')
            {
                if (i + 1 < pattern.Length && pattern[i + 1] == '*')
                {
                    i++;
                    // "**/" is "**": the slash is eaten.
                    if (i + 1 < pattern.Length && pattern[i + 1] == '/') i++;
                    re.Append(i + 1 == pattern.Length ? ".*" : "(.*/)?");
                }
                else re.Append("[^/]*");
            }
            else if (ch == '?') re.Append("[^/]");
            else if (ch == '\\')
            {
                if (i + 1 < pattern.Length) re.Append('\\').Append(pattern[++i]);
                else re.Append(@"\\");
            }
            else if (ch is '[' or ']') re.Append(ch);
            else if (ch == '^' && i > 0 && pattern[i - 1] == '[') re.Append('^');
            else re.Append(Regex.Escape(ch.ToString()));
        }
        re.Append('$');
        try
        {
            return new Regex(re.ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline);
        }
        catch (ArgumentException)
        {
            throw new EngineException($"{file}:{line}: {Quote(pattern)} is not a valid pattern");
        }
    }

    static string Quote(string s) => "\"" + s + "\"";

    /// <summary>Go's path.Clean for a relative or absolute '/'-separated path ("" becomes ".").</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0) return ".";
        bool rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
                else if (!rooted) parts.Add("..");
                continue;
            }
            parts.Add(part);
        }
        var joined = string.Join('/', parts);
        return rooted ? "/" + joined : joined.Length == 0 ? "." : joined;
    }
}
