using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Berth.Engine.Build.Syntax;

/// <summary>
/// The Containerfile/Dockerfile parser (buildkit's frontend/dockerfile/parser): parser directives
/// at the top (`# syntax=`, `# escape=` \ or `), comments, line continuations by the escape
/// token, here-documents for RUN, COPY and ADD, instruction flags, and the JSON (exec) form
/// against the shell form. Every error names FILE:LINE:COLUMN.
/// </summary>
public static partial class Parser
{
    static readonly Dictionary<string, string[]> KnownFlags = new()
    {
        ["FROM"] = new[] { "platform" },
        ["RUN"] = new[] { "mount", "network", "security" },
        ["COPY"] = new[] { "from", "chown", "chmod", "link", "parents", "exclude" },
        ["ADD"] = new[] { "chown", "chmod", "link", "checksum", "keep-git-dir", "exclude" },
        ["HEALTHCHECK"] = new[] { "interval", "timeout", "start-period", "start-interval", "retries" },
    };

    static readonly HashSet<string> Keywords = new()
    {
        "FROM", "RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "ENV", "ARG", "LABEL", "WORKDIR", "USER", "EXPOSE",
        "VOLUME", "STOPSIGNAL", "HEALTHCHECK", "SHELL", "ONBUILD", "MAINTAINER",
    };

    [GeneratedRegex(@"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")]
    private static partial Regex Directive();

    [GeneratedRegex(@"<<(-?)(?:""([A-Za-z0-9_][A-Za-z0-9_.-]*)""|'([A-Za-z0-9_][A-Za-z0-9_.-]*)'|([A-Za-z0-9_][A-Za-z0-9_.-]*))")]
    private static partial Regex HeredocMarker();

    /// <summary>A logical line (continuations joined) and where each of its characters came from.</summary>
    sealed class Logical
    {
        public readonly StringBuilder Text = new();
        readonly List<(int Offset, int Line, int Column)> _segments = new();
        public void Add(string part, int line, int column)
        {
            _segments.Add((Text.Length, line, column));
            Text.Append(part);
        }
        public (int Line, int Column) At(int offset)
        {
            var s = _segments.LastOrDefault(x => x.Offset <= offset);
            return (s.Line, s.Column + offset - s.Offset);
        }
    }

    public static Containerfile Parse(string text, string file)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var directives = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int i = 0;
        // Directives come first; the first comment that is not one, blank line or instruction ends them.
        for (; i < lines.Length; i++)
        {
            var m = Directive().Match(lines[i]);
            if (!m.Success) break;
            var key = m.Groups[1].Value.ToLowerInvariant();
            if (key is not ("syntax" or "escape" or "check")) break;
            if (directives.ContainsKey(key)) throw new EngineException($"{file}:{i + 1}:1: only one {key} parser directive can be used");
            directives[key] = m.Groups[2].Value;
        }
        char escape = '\\';
        if (directives.TryGetValue("escape", out var e))
        {
            if (e is not ("\\" or "`")) throw new EngineException($"{file}:{Array.FindIndex(lines, l => Directive().Match(l) is { Success: true } m && m.Groups[1].Value.Equals("escape", StringComparison.OrdinalIgnoreCase)) + 1}:1: invalid escape token '{e}' does not match ` or \\");
            escape = e[0];
        }

        var instructions = new List<Instruction>();
        while (i < lines.Length)
        {
            var line = lines[i];
            var trimmed = line.TrimStart(' ', '\t');
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                i++;
                continue;
            }
            var logical = new Logical();
            int startLine = i + 1;
            int column = line.Length - trimmed.Length + 1;
            var part = trimmed;
            int partColumn = column;
            while (true)
            {
                var (body, continues) = Continuation(part, escape);
                logical.Add(body, i + 1, partColumn);
                i++;
                if (!continues) break;
                // Inside a continuation, comment lines and blank lines are dropped (docker's rule).
                while (i < lines.Length && (lines[i].TrimStart(' ', '\t') is { Length: 0 } || lines[i].TrimStart(' ', '\t')[0] == '#')) i++;
                if (i >= lines.Length) break;
                part = lines[i];
                partColumn = 1;
            }
            var at = new Location(file, startLine, column);
            var parsed = ParseInstruction(logical, at, lines, ref i, escape, file, onbuild: false);
            instructions.Add(parsed);
        }
        return new Containerfile(file, directives, escape, instructions);
    }

    /// <summary>A physical line's body and whether it ends in the escape token (trailing blanks allowed after it).</summary>
    static (string Body, bool Continues) Continuation(string line, char escape)
    {
        var t = line.TrimEnd(' ', '\t');
        if (t.Length > 0 && t[^1] == escape) return (t[..^1], true);
        return (line, false);
    }

    static EngineException Error(Logical l, Location at, int offset, string message)
    {
        var (line, col) = l.At(offset);
        return new EngineException($"{at.File}:{line}:{col}: {message}");
    }

    static Instruction ParseInstruction(Logical logical, Location at, string[] lines, ref int next, char escape, string file, bool onbuild, int baseOffset = 0)
    {
        var full = logical.Text.ToString();
        var text = full[baseOffset..];
        int kwEnd = 0;
        while (kwEnd < text.Length && !char.IsWhiteSpace(text[kwEnd])) kwEnd++;
        var keyword = text[..kwEnd].ToUpperInvariant();
        var (kwLine, kwCol) = logical.At(baseOffset);
        at = new Location(file, kwLine, kwCol);
        if (!Keywords.Contains(keyword)) throw new EngineException($"{at}: unknown instruction: {text[..kwEnd]}");

        // Flags: --name[=value] words at the start of the arguments.
        int pos = kwEnd;
        var flags = new List<InstructionFlag>();
        while (true)
        {
            while (pos < text.Length && char.IsWhiteSpace(text[pos])) pos++;
            if (pos + 2 > text.Length || text[pos] != '-' || text[pos + 1] != '-' || keyword is "ONBUILD") break;
            int end = pos;
            while (end < text.Length && !char.IsWhiteSpace(text[end])) end++;
            var word = text[(pos + 2)..end];
            int eq = word.IndexOf('=');
            var name = eq < 0 ? word : word[..eq];
            var (fl, fc) = logical.At(baseOffset + pos);
            var flagAt = new Location(file, fl, fc);
            if (!KnownFlags.TryGetValue(keyword, out var known) || !known.Contains(name))
                throw new EngineException($"{flagAt}: unknown flag: --{name} (for {keyword})");
            flags.Add(new InstructionFlag(name, eq < 0 ? null : word[(eq + 1)..], flagAt));
            pos = end;
        }
        var args = text[pos..].Trim();
        var original = text.Trim();

        Instruction Make(Func<Instruction> f)
        {
            try
            {
                return f();
            }
            catch (FormatException fe)
            {
                throw new EngineException($"{at}: {keyword}: {fe.Message}");
            }
        }
        if (args.Length == 0 && keyword is not ("HEALTHCHECK"))
            throw new EngineException($"{at}: {keyword} requires at least one argument");

        List<Heredoc> Heredocs(ref int n)
        {
            var docs = new List<Heredoc>();
            foreach (var (strip, quoted, name) in HeredocNames(args, escape))
            {
                var body = new StringBuilder();
                bool closed = false;
                while (n < lines.Length)
                {
                    var l = lines[n++];
                    var cmp = strip ? l.TrimStart('\t') : l;
                    if (cmp == name)
                    {
                        closed = true;
                        break;
                    }
                    body.Append(cmp).Append('\n');
                }
                if (!closed) throw new EngineException($"{at}: here-document <<{name} is not closed by a line \"{name}\"");
                docs.Add(new Heredoc(name, body.ToString(), !quoted, strip));
            }
            return docs;
        }

        switch (keyword)
        {
            case "FROM":
            {
                var words = args.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase))
                {
                    if (!StageName().IsMatch(words[2])) throw new EngineException($"{at}: FROM: invalid stage name \"{words[2]}\": it must start with a letter and have only letters, digits, '_', '-', '.'");
                    return new FromInstruction(words[0], words[2].ToLowerInvariant()) { At = at, Keyword = keyword, Text = original, Flags = flags };
                }
                if (words.Length != 1) throw new EngineException($"{at}: FROM requires either one argument, or three: FROM <source> [AS <name>]");
                return new FromInstruction(words[0], null) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
            case "RUN":
            {
                var cmd = Command(args, out bool json);
                var docs = json ? new List<Heredoc>() : Heredocs(ref next);
                return new RunInstruction(cmd, docs) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
            case "CMD" or "ENTRYPOINT":
                return new CommandInstruction(Command(args, out _)) { At = at, Keyword = keyword, Text = original, Flags = flags };
            case "COPY" or "ADD":
            {
                List<string> words;
                List<Heredoc> docs = new();
                if (TryJson(args, out var list)) words = list;
                else
                {
                    docs = Heredocs(ref next);
                    words = args.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
                }
                if (words.Count < 2) throw new EngineException($"{at}: {keyword} requires at least two arguments, but only one was provided. Destination could not be determined");
                return new CopyInstruction(keyword == "ADD", words.Take(words.Count - 1).ToList(), words[^1], docs) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
            case "ENV" or "LABEL":
                return Make(() => new KeyValueInstruction(NameValues(args, keyword, escape, at)) { At = at, Keyword = keyword, Text = original, Flags = flags });
            case "ARG":
            {
                var pairs = new List<KeyValuePair<string, string?>>();
                foreach (var w in Words(args, escape))
                {
                    int eq = w.IndexOf('=');
                    var name = eq < 0 ? w : w[..eq];
                    if (name.Length == 0) throw new EngineException($"{at}: ARG names can not be blank");
                    pairs.Add(new(name, eq < 0 ? null : w[(eq + 1)..]));
                }
                return new ArgInstruction(pairs) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
            case "WORKDIR" or "USER" or "STOPSIGNAL" or "MAINTAINER":
                return new ValueInstruction(args) { At = at, Keyword = keyword, Text = original, Flags = flags };
            case "EXPOSE":
                return new ListInstruction(args.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), false, args) { At = at, Keyword = keyword, Text = original, Flags = flags };
            case "VOLUME":
                return TryJson(args, out var vols)
                    ? new ListInstruction(vols, true, args) { At = at, Keyword = keyword, Text = original, Flags = flags }
                    : new ListInstruction(args.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), false, args) { At = at, Keyword = keyword, Text = original, Flags = flags };
            case "SHELL":
                if (!TryJson(args, out var shell) || shell.Count == 0) throw new EngineException($"{at}: SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/sh\", \"-c\"]");
                return new ShellInstruction(shell) { At = at, Keyword = keyword, Text = original, Flags = flags };
            case "HEALTHCHECK":
            {
                if (args.Equals("NONE", StringComparison.OrdinalIgnoreCase))
                {
                    if (flags.Count > 0) throw new EngineException($"{flags[0].At}: HEALTHCHECK NONE takes no flags");
                    return new HealthcheckInstruction((CommandLine?)null) { At = at, Keyword = keyword, Text = original, Flags = flags };
                }
                var sp = args.IndexOfAny(new[] { ' ', '\t' });
                var type = (sp < 0 ? args : args[..sp]).ToUpperInvariant();
                if (type != "CMD") throw new EngineException($"{at}: HEALTHCHECK: unknown type \"{(sp < 0 ? args : args[..sp])}\" (CMD or NONE)");
                var rest = sp < 0 ? "" : args[(sp + 1)..].Trim();
                if (rest.Length == 0) throw new EngineException($"{at}: HEALTHCHECK CMD: a command is required");
                return new HealthcheckInstruction(Command(rest, out _)) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
            case "ONBUILD":
            {
                if (args.Split((char[]?)null, 2)[0].Equals("ONBUILD", StringComparison.OrdinalIgnoreCase))
                    throw new EngineException($"{at}: chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
                int triggerOffset = baseOffset + full[baseOffset..].IndexOf(args, kwEnd, StringComparison.Ordinal);
                var inner = ParseInstruction(logical, at, lines, ref next, escape, file, onbuild: true, triggerOffset);
                if (inner.Keyword is "FROM" or "MAINTAINER" or "ONBUILD") throw new EngineException($"{inner.At}: {inner.Keyword} isn't allowed as an ONBUILD trigger");
                return new OnbuildInstruction(args, inner) { At = at, Keyword = keyword, Text = original, Flags = flags };
            }
        }
        throw new EngineException($"{at}: unknown instruction: {keyword}");
    }

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9_.-]*$")]
    private static partial Regex StageName();

    static CommandLine Command(string args, out bool json)
    {
        json = TryJson(args, out var list);
        return json ? CommandLine.OfExec(list) : CommandLine.OfShell(args);
    }

    /// <summary>The exec form: a JSON array of strings; anything else is the shell form (docker's rule).</summary>
    public static bool TryJson(string args, out List<string> list)
    {
        list = new();
        var t = args.Trim();
        if (!t.StartsWith('[') || !t.EndsWith(']')) return false;
        try
        {
            using var doc = JsonDocument.Parse(t);
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String) return false;
                list.Add(e.GetString()!);
            }
            return true;
        }
        catch (JsonException)
        {
            list.Clear();
            return false;
        }
    }

    /// <summary>The `<<[-]["']NAME["']` markers of a shell-form line, outside quotes, in order.</summary>
    static IEnumerable<(bool Strip, bool Quoted, string Name)> HeredocNames(string args, char escape)
    {
        char quote = '\0';
        for (int k = 0; k < args.Length; k++)
        {
            char c = args[k];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else if (c == escape && quote == '"') k++;
                continue;
            }
            if (c == escape) { k++; continue; }
            if (c is '"' or '\'') { quote = c; continue; }
            if (c == '<' && k + 1 < args.Length && args[k + 1] == '<' && (k + 2 >= args.Length || args[k + 2] != '<'))
            {
                var m = HeredocMarker().Match(args, k);
                if (m.Success && m.Index == k)
                {
                    bool quoted = m.Groups[2].Success || m.Groups[3].Success;
                    yield return (m.Groups[1].Value == "-", quoted, m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Success ? m.Groups[3].Value : m.Groups[4].Value);
                    k = m.Index + m.Length - 1;
                }
                else k++;
            }
        }
    }

    /// <summary>Words at unquoted whitespace, quotes and escapes kept (docker's parseWords): expansion removes them later.</summary>
    public static List<string> Words(string text, char escape)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        char quote = '\0';
        for (int k = 0; k < text.Length; k++)
        {
            char c = text[k];
            if (quote == '\0' && char.IsWhiteSpace(c))
            {
                if (sb.Length > 0) words.Add(sb.ToString());
                sb.Clear();
                continue;
            }
            sb.Append(c);
            if (c == escape && k + 1 < text.Length && quote != '\'')
            {
                sb.Append(text[++k]);
                continue;
            }
            if (quote == '\0' && c is '"' or '\'') quote = c;
            else if (c == quote) quote = '\0';
        }
        if (quote != '\0') throw new FormatException($"unterminated {(quote == '"' ? "double" : "single")} quote");
        if (sb.Length > 0) words.Add(sb.ToString());
        return words;
    }

    /// <summary>ENV/LABEL: KEY=VALUE words, or the legacy `KEY VALUE…` (one pair, the rest of the line its value).</summary>
    static List<KeyValuePair<string, string>> NameValues(string args, string keyword, char escape, Location at)
    {
        var words = Words(args, escape);
        var pairs = new List<KeyValuePair<string, string>>();
        if (words.Count > 0 && !words[0].Contains('='))
        {
            var sp = args.IndexOfAny(new[] { ' ', '\t' });
            if (sp < 0) throw new EngineException($"{at}: {keyword} must have two arguments");
            pairs.Add(new(words[0], args[(sp + 1)..].TrimStart()));
            return pairs;
        }
        foreach (var w in words)
        {
            int eq = w.IndexOf('=');
            if (eq < 0) throw new EngineException($"{at}: {keyword}: \"{w}\" is not KEY=VALUE");
            if (eq == 0) throw new EngineException($"{at}: {keyword} names can not be blank");
            pairs.Add(new(w[..eq], w[(eq + 1)..]));
        }
        return pairs;
    }
}
