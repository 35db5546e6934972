using Berth.Images.Layers;
using Berth.Linux;

namespace Berth.Engine.Build.Annotations;

/// <summary>
/// The image-spec's pre-defined annotations (annotations.md) that say where an image came from:
/// org.opencontainers.image.source (the checkout's origin URL), .revision (its HEAD commit) and
/// .created. Each is taken from an explicit --annotation, else a label of the same key (as
/// BuildKit and buildah users set them), else the git checkout holding the context (read from
/// .git itself: no git binary needed, worktrees and packed refs included), else (created) the
/// build's timestamp or now.
/// </summary>
public static class SourceAnnotations
{
    public const string Source = "org.opencontainers.image.source", Revision = "org.opencontainers.image.revision", Created = "org.opencontainers.image.created";
    const long MaxGitFile = 16 << 20;

    /// <summary>The annotations for a build's manifest: every --annotation, and the three above filled in.</summary>
    public static Dictionary<string, string> For(string contextDir, IReadOnlyDictionary<string, string>? annotations,
        IReadOnlyDictionary<string, string>? labels, BuildTimestamp? timestamp, DateTimeOffset now)
    {
        var result = new Dictionary<string, string>(annotations ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        Dictionary<string, string>? git = null;
        foreach (var key in new[] { Source, Revision, Created })
        {
            if (result.ContainsKey(key)) continue;
            if (labels?.GetValueOrDefault(key) is { } label)
            {
                result[key] = label;
                continue;
            }
            if (key == Created)
            {
                result[key] = timestamp?.Created ?? now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
                continue;
            }
            git ??= FromGit(contextDir);
            if (git.GetValueOrDefault(key) is { } value) result[key] = value;
        }
        return result;
    }

    /// <summary>source and revision from the git checkout holding <paramref name="contextDir"/>; empty when there is none or it cannot be read.</summary>
    public static Dictionary<string, string> FromGit(string contextDir)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (FindGitDir(Path.GetFullPath(contextDir)) is not { } gitDir) return result;
            var common = Read(Path.Combine(gitDir, "commondir")) is { } c ? Path.GetFullPath(Path.Combine(gitDir, c.Trim())) : gitDir;
            if (Head(gitDir, common) is { } commit) result[Revision] = commit;
            if (Read(Path.Combine(common, "config")) is { } config && OriginUrl(config) is { } url) result[Source] = WithoutCredentials(url);
        }
        catch (LinuxException)
        {
            // An unreadable checkout only means no annotation from it.
        }
        return result;
    }

    static string? Read(string path) => FileSystem.TryReadText(path, MaxGitFile);

    /// <summary>The .git directory of the checkout <paramref name="dir"/> is in: a directory, or a worktree's "gitdir: PATH" file.</summary>
    static string? FindGitDir(string dir)
    {
        for (var d = dir; d is not null; d = Path.GetDirectoryName(d))
        {
            var dotGit = Path.Combine(d, ".git");
            if (Directory.Exists(dotGit)) return File.Exists(Path.Combine(dotGit, "HEAD")) ? dotGit : null;
            if (File.Exists(dotGit))
            {
                var text = Read(dotGit)?.Trim();
                if (text is null || !text.StartsWith("gitdir:", StringComparison.Ordinal)) return null;
                var target = text["gitdir:".Length..].Trim();
                return Path.GetFullPath(Path.Combine(d, target));
            }
        }
        return null;
    }

    /// <summary>HEAD's commit: detached, a loose ref (the worktree's own, then the common dir's), or a packed one.</summary>
    static string? Head(string gitDir, string common)
    {
        var head = Read(Path.Combine(gitDir, "HEAD"))?.Trim();
        for (int depth = 0; head is not null && depth < 5; depth++)
        {
            if (!head.StartsWith("ref:", StringComparison.Ordinal)) return IsHash(head) ? head : null;
            var name = head[4..].Trim();
            if (name.Contains("..") || name.StartsWith('/')) return null;
            head = (Read(Path.Combine(gitDir, name)) ?? Read(Path.Combine(common, name)))?.Trim();
            if (head is null && Read(Path.Combine(common, "packed-refs")) is { } packed)
                foreach (var line in packed.Split('\n'))
                {
                    var parts = line.Trim().Split(' ');
                    if (parts.Length == 2 && parts[1] == name && IsHash(parts[0])) return parts[0];
                }
        }
        return null;
    }

    static bool IsHash(string s) => s.Length is 40 or 64 && s.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>url of [remote "origin"] in a git config file.</summary>
    static string? OriginUrl(string config)
    {
        bool inOrigin = false;
        foreach (var raw in config.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inOrigin = line.Replace(" ", "").Replace("\t", "") == "[remote\"origin\"]";
                continue;
            }
            if (!inOrigin) continue;
            int eq = line.IndexOf('=');
            if (eq > 0 && line[..eq].Trim().Equals("url", StringComparison.OrdinalIgnoreCase))
            {
                var value = line[(eq + 1)..].Trim();
                return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
            }
        }
        return null;
    }

    /// <summary>An https://user:token@host/… URL without its user part: a token must not be published in an image.</summary>
    public static string WithoutCredentials(string url)
    {
        int scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return url;
        int hostStart = scheme + 3;
        int slash = url.IndexOf('/', hostStart);
        int at = url.LastIndexOf('@', slash < 0 ? url.Length - 1 : slash);
        return at >= hostStart ? url[..hostStart] + url[(at + 1)..] : url;
    }
}
