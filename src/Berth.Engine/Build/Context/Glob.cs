namespace Berth.Engine.Build.Context;

/// <summary>
/// Go's filepath.Match, which docker applies to COPY and ADD sources: `*` any run of characters
/// but '/', `?` one such character, `[a-z]`/`[^a-z]` a class, `\` escapes. A malformed pattern
/// is an error, as Go's ErrBadPattern.
/// </summary>
public static class Glob
{
    public static bool HasMeta(string s) => s.AsSpan().IndexOfAny("*?[\\") >= 0;

    /// <summary>Whether <paramref name="name"/> matches all of <paramref name="pattern"/>.</summary>
    public static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length)
            {
                char c = pattern[p];
                if (c == '*')
                {
                    starP = p++;
                    starN = n;
                    continue;
                }
                int len = One(pattern, p, name[n], out bool ok);
                if (ok)
                {
                    p += len;
                    n++;
                    continue;
                }
            }
            // Backtrack: let the last star take one character more (never a '/').
            if (starP >= 0 && name[starN] != '/')
            {
                p = starP + 1;
                n = ++starN;
                continue;
            }
            Validate(pattern, p);
            return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        Validate(pattern, p);
        return p == pattern.Length;
    }

    /// <summary>Matches one character at pattern[p]; returns the length of the pattern item.</summary>
    static int One(ReadOnlySpan<char> pattern, int p, char ch, out bool ok)
    {
        char c = pattern[p];
        switch (c)
        {
            case '?':
                ok = ch != '/';
                return 1;
            case '\\':
                if (p + 1 >= pattern.Length) throw Bad(pattern);
                ok = pattern[p + 1] == ch;
                return 2;
            case '[':
            {
                int i = p + 1;
                bool negate = i < pattern.Length && pattern[i] == '^';
                if (negate) i++;
                bool match = false;
                int ranges = 0;
                while (true)
                {
                    if (i >= pattern.Length) throw Bad(pattern);
                    if (pattern[i] == ']' && ranges > 0) break;
                    char lo = ClassChar(pattern, ref i), hi = lo;
                    if (i < pattern.Length && pattern[i] == '-')
                    {
                        i++;
                        hi = ClassChar(pattern, ref i);
                        if (hi < lo) throw Bad(pattern);
                    }
                    if (lo <= ch && ch <= hi) match = true;
                    ranges++;
                }
                ok = match != negate && ch != '/';
                return i + 1 - p;
            }
            default:
                ok = c == ch;
                return 1;
        }
    }

    static char ClassChar(ReadOnlySpan<char> pattern, ref int i)
    {
        if (i >= pattern.Length || pattern[i] is '-' or ']') throw Bad(pattern);
        if (pattern[i] == '\\')
        {
            i++;
            if (i >= pattern.Length) throw Bad(pattern);
        }
        return pattern[i++];
    }

    /// <summary>Go reports a malformed rest of the pattern even when the match failed before it.</summary>
    static void Validate(ReadOnlySpan<char> pattern, int from)
    {
        for (int i = from; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                if (++i >= pattern.Length) throw Bad(pattern);
            }
            else if (pattern[i] == '[')
            {
                int j = i + 1;
                if (j < pattern.Length && pattern[j] == '^') j++;
                int ranges = 0;
                while (true)
                {
                    if (j >= pattern.Length) throw Bad(pattern);
                    if (pattern[j] == ']' && ranges > 0) break;
                    char lo = ClassChar(pattern, ref j);
                    if (j < pattern.Length && pattern[j] == '-')
                    {
                        j++;
                        if (ClassChar(pattern, ref j) < lo) throw Bad(pattern);
                    }
                    ranges++;
                }
                i = j;
            }
        }
    }

    static EngineException Bad(ReadOnlySpan<char> pattern) => new($"\"{pattern}\" is not a valid pattern (syntax error in pattern)");
}
