namespace Berth.Supply.Packages;

/// <summary>os-release(5): ID, VERSION_ID, PRETTY_NAME. Read from /etc/os-release, else /usr/lib/os-release.</summary>
public sealed record OsRelease(string Id, string? VersionId, string? VersionCodename, string? PrettyName, IReadOnlyList<string> IdLike)
{
    public static OsRelease? Read(Rootfs.RootView root)
    {
        var text = root.TryReadText("/etc/os-release") ?? root.TryReadText("/usr/lib/os-release");
        if (text is null) return null;
        var fields = Parse(text);
        if (!fields.TryGetValue("ID", out var id)) return null;
        return new OsRelease(id, fields.GetValueOrDefault("VERSION_ID"), fields.GetValueOrDefault("VERSION_CODENAME"), fields.GetValueOrDefault("PRETTY_NAME"),
            fields.GetValueOrDefault("ID_LIKE")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? Array.Empty<string>());
    }

    /// <summary>KEY=VALUE lines, values optionally quoted (shell rules, as os-release says).</summary>
    public static Dictionary<string, string> Parse(string text)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            int eq = line.IndexOf('=');
            if (eq <= 0) continue;
            var value = line[(eq + 1)..];
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                value = value[1..^1].Replace("\\\"", "\"").Replace("\\\\", "\\").Replace("\\$", "$").Replace("\\`", "`");
            fields[line[..eq]] = value;
        }
        return fields;
    }

    /// <summary>The purl "distro" qualifier: debian-12, alpine-3.19.1.</summary>
    public string Distro => VersionId is null ? Id : $"{Id}-{VersionId}";
}
