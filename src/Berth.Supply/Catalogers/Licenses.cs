namespace Berth.Supply.Catalogers;

/// <summary>License names as package metadata writes them, turned into SPDX license expressions.</summary>
public static class Licenses
{
    // DEP-5 short names and common spellings that differ from the SPDX identifiers.
    static readonly Dictionary<string, string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["GPL-1"] = "GPL-1.0-only", ["GPL-1+"] = "GPL-1.0-or-later",
        ["GPL-2"] = "GPL-2.0-only", ["GPL-2+"] = "GPL-2.0-or-later", ["GPL-2.0"] = "GPL-2.0-only", ["GPL-2.0+"] = "GPL-2.0-or-later",
        ["GPL-3"] = "GPL-3.0-only", ["GPL-3+"] = "GPL-3.0-or-later", ["GPL-3.0"] = "GPL-3.0-only", ["GPL-3.0+"] = "GPL-3.0-or-later",
        ["LGPL-2"] = "LGPL-2.0-only", ["LGPL-2+"] = "LGPL-2.0-or-later", ["LGPL-2.1"] = "LGPL-2.1-only", ["LGPL-2.1+"] = "LGPL-2.1-or-later",
        ["LGPL-3"] = "LGPL-3.0-only", ["LGPL-3+"] = "LGPL-3.0-or-later", ["LGPL-3.0"] = "LGPL-3.0-only", ["LGPL-3.0+"] = "LGPL-3.0-or-later",
        ["AGPL-3"] = "AGPL-3.0-only", ["AGPL-3+"] = "AGPL-3.0-or-later",
        ["Apache-2"] = "Apache-2.0", ["Apache-2.0"] = "Apache-2.0", ["Apache 2.0"] = "Apache-2.0", ["Apache License 2.0"] = "Apache-2.0",
        ["Apache Software License"] = "Apache-2.0", ["Apache License, Version 2.0"] = "Apache-2.0",
        ["MIT"] = "MIT", ["MIT License"] = "MIT", ["Expat"] = "MIT", ["ISC"] = "ISC", ["ISC License (ISCL)"] = "ISC",
        ["BSD-2-clause"] = "BSD-2-Clause", ["BSD-3-clause"] = "BSD-3-Clause", ["BSD-4-clause"] = "BSD-4-Clause", ["BSD License"] = "BSD-3-Clause",
        ["BSD"] = "BSD-3-Clause", ["public-domain"] = "LicenseRef-public-domain", ["Zlib"] = "Zlib", ["zlib/libpng"] = "Zlib",
        ["MPL-1.1"] = "MPL-1.1", ["MPL-2.0"] = "MPL-2.0", ["Mozilla Public License 2.0 (MPL 2.0)"] = "MPL-2.0",
        ["Artistic"] = "Artistic-1.0-Perl", ["Artistic-2.0"] = "Artistic-2.0", ["PSF"] = "PSF-2.0", ["PSF-2.0"] = "PSF-2.0",
        ["Python Software Foundation License"] = "PSF-2.0", ["CC0-1.0"] = "CC0-1.0", ["CC0"] = "CC0-1.0", ["Unlicense"] = "Unlicense",
        ["0BSD"] = "0BSD", ["BSL-1.0"] = "BSL-1.0", ["OpenSSL"] = "OpenSSL", ["X11"] = "X11", ["curl"] = "curl", ["WTFPL"] = "WTFPL",
        ["BlueOak-1.0.0"] = "BlueOak-1.0.0", ["Python-2.0"] = "Python-2.0", ["FSFUL"] = "FSFUL", ["FSFULLR"] = "FSFULLR",
        ["GFDL-1.2+"] = "GFDL-1.2-or-later", ["GFDL-1.3+"] = "GFDL-1.3-or-later", ["LGPL-2.0+"] = "LGPL-2.0-or-later",
    };

    /// <summary>The SPDX license list's identifiers, case-insensitively (expressions are matched so), with their exact spelling.</summary>
    static readonly Dictionary<string, string> SpdxIds = LoadIds();

    static Dictionary<string, string> LoadIds()
    {
        using var s = typeof(Licenses).Assembly.GetManifestResourceStream("spdx-license-ids.txt")!;
        var bytes = new MemoryStream();
        s.CopyTo(bytes);
        var ids = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in System.Text.Encoding.UTF8.GetString(bytes.ToArray()).Split('\n'))
            if (line.Length > 0) ids[line] = line;
        return ids;
    }

    /// <summary>
    /// One name or an expression in the package's words: "MIT", "GPL-2+ or Artistic", "(MIT OR Apache-2.0)".
    /// Names SPDX does not know become LicenseRef-NAME, which an expression allows.
    /// </summary>
    public static string? Expression(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        text = text.Trim();
        if (Known.TryGetValue(text, out var whole)) return whole;
        var tokens = text.Replace("(", " ( ").Replace(")", " ) ").Replace(",", " ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var output = new List<string>();
        foreach (var t in tokens)
        {
            var upper = t.ToUpperInvariant();
            if (upper is "AND" or "OR" or "WITH") output.Add(upper);
            else if (t is "(" or ")") output.Add(t);
            else if (Id(t) is { } id) output.Add(id);
            // A word SPDX does not know ("SEE LICENSE IN LICENSE.txt"): the whole text is one LicenseRef.
            else return Ref(text);
        }
        // "MIT GPL-2.0" (apk lists several licenses with spaces): all of them apply.
        for (int i = 1; i < output.Count; i++)
            if (IsOperand(output[i - 1]) && IsOperand(output[i])) output.Insert(i, "AND");
        var expr = string.Join(' ', output).Replace("( ", "(").Replace(" )", ")");
        return expr.Length == 0 ? null : expr;
    }

    static bool IsOperand(string t) => t is not ("AND" or "OR" or "WITH" or "(" or ")");

    /// <summary>The SPDX identifier <paramref name="name"/> stands for ("GPL-2+" → GPL-2.0-or-later, "mit" → MIT), or null.</summary>
    static string? Id(string name)
    {
        if (Known.TryGetValue(name, out var id)) return id;
        if (SpdxIds.TryGetValue(name, out id)) return id;
        if (name.EndsWith('+') && SpdxIds.TryGetValue(name[..^1], out id)) return id + "+";
        if (name.StartsWith("LicenseRef-", StringComparison.Ordinal) && name.Length > 11) return name;
        return null;
    }

    static string Ref(string text) =>
        "LicenseRef-" + string.Join('-', new string(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' ? c : '-').ToArray()).Split('-', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>
    /// The licenses of a machine-readable debian/copyright (DEP-5: "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"),
    /// every Files paragraph's License, in order and without repeats, joined with AND; null when the file is free-form.
    /// </summary>
    public static string? FromDebianCopyright(string? text)
    {
        if (text is null || !text.TrimStart().StartsWith("Format:", StringComparison.OrdinalIgnoreCase)) return null;
        var names = new List<string>();
        foreach (var p in ControlFile.Paragraphs(text))
        {
            if (!p.ContainsKey("Files") || !p.TryGetValue("License", out var license)) continue;
            var first = license.Split('\n')[0].Trim();
            if (first.Length > 0 && Expression(first) is { } e && !names.Contains(e)) names.Add(e);
        }
        if (names.Count == 0) return null;
        return string.Join(" AND ", names.Select(n => n.Contains(' ') ? $"({n})" : n));
    }
}
