using System.Text;

namespace Berth.Images;

/// <summary>
/// A string from an image (a file name, a media type, a user name) as it appears in an error:
/// quoted, with control characters escaped, so that a name holding a newline cannot make a
/// two-line error or forge a line of output.
/// </summary>
public static class Quote
{
    public static string Of(string? s)
    {
        if (s is null) return "null";
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7f' or (>= '\x80' and <= '\x9f') or '\u2028' or '\u2029': sb.Append($"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A whole message made one line: control characters escaped as <see cref="Of"/> escapes them, nothing else changed.</summary>
    public static string Line(string message)
    {
        var sb = new StringBuilder(message.Length);
        foreach (var c in message)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7f' or (>= '\x80' and <= '\x9f') or '\u2028' or '\u2029': sb.Append($"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
