using System.Text;

namespace Berth.Engine.Build.Syntax;

/// <summary>
/// Docker's shell-word lexer (moby/buildkit frontend/dockerfile/shell/lex.go), the rules by which
/// ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG expand their
/// arguments: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
/// `${VAR:?msg}`, `${VAR?msg}`; single quotes literal, double quotes expanding, the escape
/// token (\ or `) quoting the next character. Quotes are removed, as a shell removes them.
/// </summary>
public sealed class ShellLex
{
    readonly char _escape;

    public ShellLex(char escape = '\\') => _escape = escape;

    /// <summary>One word, expanded, quotes removed; whitespace kept as it is.</summary>
    public string ProcessWord(string word, Func<string, string?> lookup) => Process(word, lookup, split: false)[0];

    /// <summary>Expanded and split into words at unquoted whitespace (EXPOSE, VOLUME, shell-form lists).</summary>
    public List<string> ProcessWords(string text, Func<string, string?> lookup) => Process(text, lookup, split: true);

    List<string> Process(string text, Func<string, string?> lookup, bool split)
    {
        var words = new List<string>();
        var sb = new StringBuilder();
        bool inWord = false;
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (split && char.IsWhiteSpace(c))
            {
                if (inWord) words.Add(sb.ToString());
                sb.Clear();
                inWord = false;
                i++;
                continue;
            }
            inWord = true;
            if (c == '\'')
            {
                int end = text.IndexOf('\'', i + 1);
                if (end < 0) throw new FormatException("unexpected end of statement while looking for matching single-quote");
                sb.Append(text, i + 1, end - i - 1);
                i = end + 1;
            }
            else if (c == '"')
            {
                i = DoubleQuoted(text, i + 1, sb, lookup);
            }
            else if (c == '$')
            {
                var (value, next) = Variable(text, i, lookup);
                // An unquoted expansion is split too, when words are asked for (docker's ProcessWords).
                if (split)
                {
                    bool quotedBefore = sb.Length > 0;
                    foreach (var ch in value)
                    {
                        if (char.IsWhiteSpace(ch))
                        {
                            if (sb.Length > 0) words.Add(sb.ToString());
                            sb.Clear();
                        }
                        else sb.Append(ch);
                    }
                    inWord = sb.Length > 0 || (quotedBefore && value.Length == 0);
                }
                else sb.Append(value);
                i = next;
            }
            else if (c == _escape)
            {
                if (i + 1 < text.Length) sb.Append(text[i + 1]);
                else sb.Append(c);
                i += 2;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        if (inWord || !split) words.Add(sb.ToString());
        return words;
    }

    int DoubleQuoted(string text, int i, StringBuilder sb, Func<string, string?> lookup)
    {
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '"') return i + 1;
            if (c == '$')
            {
                var (value, next) = Variable(text, i, lookup);
                sb.Append(value);
                i = next;
            }
            else if (c == _escape && i + 1 < text.Length)
            {
                char n = text[i + 1];
                // Inside double quotes the escape quotes only ", $ and itself (a shell's rule).
                if (n is '"' or '$' || n == _escape) sb.Append(n);
                else sb.Append(c).Append(n);
                i += 2;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        throw new FormatException("unexpected end of statement while looking for matching double-quote");
    }

    static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';
    static bool IsName(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    /// <summary>At a '$': the expansion and the index after it. A '$' before no name is itself.</summary>
    (string Value, int Next) Variable(string text, int i, Func<string, string?> lookup)
    {
        int j = i + 1;
        if (j >= text.Length) return ("$", j);
        if (text[j] == '{')
        {
            j++;
            int start = j;
            while (j < text.Length && IsName(text[j])) j++;
            if (j == start)
            {
                throw new FormatException($"missing ':' in substitution: bad substitution \"{text[i..]}\"");
            }
            var name = text[start..j];
            if (j >= text.Length) throw new FormatException($"missing '}}' in substitution \"{text[i..]}\"");
            if (text[j] == '}') return (lookup(name) ?? "", j + 1);
            bool colon = text[j] == ':';
            if (colon) j++;
            if (j >= text.Length) throw new FormatException($"missing '}}' in substitution \"{text[i..]}\"");
            char op = text[j++];
            if (op is not ('-' or '+' or '?')) throw new FormatException($"unsupported modifier ({(colon ? ":" : "")}{op}) in substitution \"{text[i..]}\"");
            // The word runs to the matching brace; it is itself expanded (nested ${…} allowed).
            int depth = 1, k = j;
            while (k < text.Length)
            {
                if (text[k] == _escape) { k += 2; continue; }
                if (text[k] == '{' && k > 0 && text[k - 1] == '$') depth++;
                else if (text[k] == '}' && --depth == 0) break;
                k++;
            }
            if (k >= text.Length) throw new FormatException($"missing '}}' in substitution \"{text[i..]}\"");
            var wordText = text[j..k];
            var value = lookup(name);
            bool set = value is not null && (!colon || value.Length > 0);
            string Word() => ProcessWord(wordText, lookup);
            string result = op switch
            {
                '-' => set ? value! : Word(),
                '+' => set ? Word() : "",
                _ => set ? value! : throw new FormatException($"{name}: {(wordText.Length > 0 ? Word() : "is not allowed to be unset")}"),
            };
            return (result, k + 1);
        }
        if (IsNameStart(text[j]))
        {
            int start = j;
            while (j < text.Length && IsName(text[j])) j++;
            return (lookup(text[start..j]) ?? "", j);
        }
        return ("$", j);
    }
}
