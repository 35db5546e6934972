namespace Berth.Serve.Policy;

/// <summary>
/// A repository pattern of the policy's `repositories:` section: a repository ("host/ns/app"), a
/// prefix ending in "/*" ("host/ns/*": every repository below host/ns), or "*" (every repository).
/// More specific wins: an exact name over any prefix, a longer prefix over a shorter one — the
/// order containers-policy.json uses for its scopes.
/// </summary>
public sealed class RepositoryPattern
{
    public string Text { get; }

    readonly string? _prefix; // "host/ns/" for "host/ns/*"; "" for "*"; null when exact

    /// <summary>Larger is more specific: exact names rank above every prefix.</summary>
    public int Specificity { get; }

    RepositoryPattern(string text, string? prefix)
    {
        Text = text;
        _prefix = prefix;
        Specificity = prefix is null ? int.MaxValue : prefix.Length;
    }

    /// <summary>Parses a pattern, or returns why it is not one.</summary>
    public static RepositoryPattern? TryParse(string text, out string? error)
    {
        error = null;
        if (text == "*") return new RepositoryPattern(text, "");
        if (text.Length == 0 || text.Any(char.IsWhiteSpace) || text.Contains('@'))
        {
            error = "not a repository (host/path), a prefix (host/path/*) or *";
            return null;
        }
        if (text.EndsWith("/*", StringComparison.Ordinal))
        {
            var stem = text[..^1];
            if (stem.Length < 2 || stem.Contains('*')) { error = "only a trailing /* is a wildcard"; return null; }
            return new RepositoryPattern(text, stem);
        }
        if (text.Contains('*')) { error = "only a trailing /* is a wildcard"; return null; }
        // A tag is not part of a repository name: "host:5000/app" has a port, "host/app:1" a tag.
        int slash = text.IndexOf('/');
        if (slash < 0 || text.IndexOf(':', slash) >= 0) { error = "a repository is host/path, without a tag or digest"; return null; }
        return new RepositoryPattern(text, null);
    }

    public bool Matches(string repository) =>
        _prefix is null ? repository == Text : repository.StartsWith(_prefix, StringComparison.Ordinal);

    public override string ToString() => Text;
}
