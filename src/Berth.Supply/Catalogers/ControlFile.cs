namespace Berth.Supply.Catalogers;

/// <summary>
/// deb822 paragraphs (Debian Policy 5.1): "Field: value" lines, continuation lines start with a
/// space or tab, paragraphs are separated by blank lines. Also the shape of Python's METADATA headers.
/// </summary>
public static class ControlFile
{
    public static List<Dictionary<string, string>> Paragraphs(string text)
    {
        var list = new List<Dictionary<string, string>>();
        Dictionary<string, string>? current = null;
        string? last = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
            {
                current = null;
                last = null;
                continue;
            }
            if ((line[0] == ' ' || line[0] == '\t') && current is not null && last is not null)
            {
                current[last] += "\n" + line[1..];
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            if (current is null) list.Add(current = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));
            last = line[..colon].Trim();
            current[last] = line[(colon + 1)..].Trim();
        }
        return list;
    }

    /// <summary>The header block of an RFC 822 message (METADATA, PKG-INFO): up to the first blank line; repeated fields kept in order.</summary>
    public static List<KeyValuePair<string, string>> Headers(string text)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) break;
            if ((line[0] == ' ' || line[0] == '\t') && list.Count > 0)
            {
                list[^1] = KeyValuePair.Create(list[^1].Key, list[^1].Value + "\n" + line.Trim());
                continue;
            }
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            list.Add(KeyValuePair.Create(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }
        return list;
    }
}
