namespace Berth.Images.Registry;

/// <summary>
/// A docker reference, normalised as distribution/reference's ParseNormalizedNamed does:
/// HOST[:PORT]/NAME[:TAG][@DIGEST], where a name without a host is on docker.io and a one-part
/// name on docker.io is under library/ ("busybox" is "docker.io/library/busybox:latest").
/// </summary>
/// <remarks>
/// The first part of a name is a host when it holds a '.' or a ':', is "localhost", or has an upper
/// case letter (repositories are lower case, so it cannot be one) — the rule docker, podman and
/// skopeo share. A reference with neither tag nor digest gets no tag here: <see cref="Identifier"/>
/// is "latest" for it, and <see cref="WithDefaultTag"/> makes it explicit.
/// </remarks>
public sealed record Reference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";
    public const string DefaultTag = "latest";
    const int MaxNameLength = 255;

    /// <summary>The tag or digest a request names: the digest when there is one (a tag beside it is informational), else the tag, else "latest".</summary>
    public string Identifier => Digest ?? Tag ?? DefaultTag;

    /// <summary>HOST/NAME, without tag or digest.</summary>
    public string Name => $"{Registry}/{Repository}";

    public override string ToString() => Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    /// <summary>docker's short form: "busybox:latest" for docker.io/library/busybox:latest.</summary>
    public string Familiar()
    {
        var name = Registry == DockerHub
            ? Repository.StartsWith("library/") && Repository.IndexOf('/', 8) < 0 ? Repository[8..] : Repository
            : Name;
        return name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);
    }

    public Reference WithTag(string tag) => this with { Tag = CheckTag(tag, tag), Digest = null };

    public Reference WithDigest(string digest) => this with { Digest = CheckDigest(digest, digest) };

    /// <summary>":latest" when the reference has neither tag nor digest, as podman names what it pulls.</summary>
    public Reference WithDefaultTag() => Tag is null && Digest is null ? this with { Tag = DefaultTag } : this;

    /// <summary>The same repository path on another registry (a mirror, a registries.conf location).</summary>
    public Reference OnRegistry(string registry) => this with { Registry = registry };

    /// <summary>Parses and normalises <paramref name="text"/> ("docker://" is accepted in front).</summary>
    public static Reference Parse(string text)
    {
        if (TryParse(text, out var r, out var error)) return r!;
        throw new RegistryException(error!);
    }

    /// <summary>Whether <paramref name="name"/> names no registry ("busybox", "library/busybox"), so registries.conf decides where it is.</summary>
    public static bool IsShortName(string name)
    {
        if (name.StartsWith("docker://")) name = name[9..];
        int slash = name.IndexOf('/');
        return slash < 0 || !IsHost(name[..slash]);
    }

    public static bool TryParse(string text, out Reference? reference, out string? error)
    {
        reference = null;
        var input = text.StartsWith("docker://") ? text[9..] : text;
        error = Check(input, out var registry, out var repository, out var tag, out var digest);
        if (error is not null)
        {
            error = $"invalid reference {Quote.Of(text)}: {error}";
            return false;
        }
        reference = new Reference(registry!, repository!, tag, digest);
        return true;
    }

    static string? Check(string input, out string? registry, out string? repository, out string? tag, out string? digest)
    {
        registry = repository = tag = digest = null;
        if (input.Length == 0) return "empty";
        var rest = input;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            digest = rest[(at + 1)..];
            rest = rest[..at];
            if (CheckDigestText(digest) is { } de) return de;
        }
        // A tag is after the last ':' that follows the last '/' (a port's ':' comes before a '/').
        int lastSlash = rest.LastIndexOf('/');
        int colon = rest.IndexOf(':', lastSlash + 1);
        if (colon >= 0)
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (CheckTagText(tag) is { } te) return te;
        }
        if (rest.Length == 0) return "a repository name is required";
        if (rest.Length > MaxNameLength) return $"the name is longer than {MaxNameLength} characters";
        int slash = rest.IndexOf('/');
        if (slash >= 0 && IsHost(rest[..slash]))
        {
            registry = rest[..slash];
            repository = rest[(slash + 1)..];
            if (CheckHost(registry) is { } he) return he;
        }
        else
        {
            registry = DockerHub;
            repository = rest;
        }
        if (registry == "index.docker.io") registry = DockerHub;
        if (registry == DockerHub && !repository.Contains('/')) repository = "library/" + repository;
        if (repository.Any(char.IsAsciiLetterUpper)) return "repository name must be lowercase";
        foreach (var component in repository.Split('/'))
            if (!IsPathComponent(component)) return $"{Quote.Of(component)} is not a valid repository name component (lowercase letters, digits, and . _ __ - between them)";
        return null;
    }

    /// <summary>The first part of a name is a registry host: it has '.' or ':', is localhost, or has upper case.</summary>
    static bool IsHost(string part) => part.Contains('.') || part.Contains(':') || part == "localhost" || part.Any(char.IsAsciiLetterUpper);

    static string? CheckHost(string host)
    {
        var name = host;
        if (host.StartsWith('['))
        {
            int close = host.IndexOf(']');
            if (close < 0) return $"registry {Quote.Of(host)}: an IPv6 address must be closed with ']'";
            name = host[..(close + 1)];
            var after = host[(close + 1)..];
            if (after.Length > 0 && (after[0] != ':' || !IsPort(after[1..]))) return $"registry {Quote.Of(host)}: bad port";
            return System.Net.IPAddress.TryParse(name.Trim('[', ']'), out _) ? null : $"registry {Quote.Of(host)}: not an IPv6 address";
        }
        int colon = host.LastIndexOf(':');
        if (colon >= 0)
        {
            if (!IsPort(host[(colon + 1)..])) return $"registry {Quote.Of(host)}: the port must be digits";
            name = host[..colon];
        }
        foreach (var label in name.Split('.'))
        {
            if (label.Length == 0 || !char.IsAsciiLetterOrDigit(label[0]) || !char.IsAsciiLetterOrDigit(label[^1])
                || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                return $"registry {Quote.Of(host)} is not a host name";
        }
        return null;
    }

    static bool IsPort(string s) => s.Length is > 0 and <= 5 && s.All(char.IsAsciiDigit);

    /// <summary>[a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*, distribution/reference's path-component.</summary>
    static bool IsPathComponent(string c)
    {
        int i = 0;
        if (!Alnum(c, i)) return false;
        while (i < c.Length)
        {
            while (i < c.Length && Alnum(c, i)) i++;
            if (i == c.Length) return true;
            int start = i;
            if (c[i] == '.') i++;
            else if (c[i] == '_') { i++; if (i < c.Length && c[i] == '_') i++; }
            else if (c[i] == '-') { while (i < c.Length && c[i] == '-') i++; }
            else return false;
            if (i == start || !Alnum(c, i)) return false;
        }
        return true;

        static bool Alnum(string s, int i) => i < s.Length && (char.IsAsciiLetterLower(s[i]) || char.IsAsciiDigit(s[i]));
    }

    /// <summary>[\w][\w.-]{0,127}</summary>
    static string? CheckTagText(string tag)
    {
        if (tag.Length is 0 or > 128) return $"tag {Quote.Of(tag)} must be 1 to 128 characters";
        bool Word(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
        if (!Word(tag[0]) || !tag.All(c => Word(c) || c is '.' or '-')) return $"tag {Quote.Of(tag)} may hold only letters, digits, _ . - (and not start with . or -)";
        return null;
    }

    static string? CheckDigestText(string digest)
    {
        try
        {
            Oci.Image.Digest.Parse(digest);
            return null;
        }
        catch (Oci.SpecException e)
        {
            return $"digest: {e.Message}";
        }
    }

    static string CheckTag(string tag, string text) => CheckTagText(tag) is { } e ? throw new RegistryException($"invalid tag {Quote.Of(text)}: {e}") : tag;

    static string CheckDigest(string d, string text) => CheckDigestText(d) is { } e ? throw new RegistryException($"invalid digest {Quote.Of(text)}: {e}") : d;
}
