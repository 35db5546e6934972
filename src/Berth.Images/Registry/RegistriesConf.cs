using Berth.Linux;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Berth.Images.Registry;

/// <summary>A [[registry]] table of containers-registries.conf(5).</summary>
/// <param name="Prefix">What references it applies to: "example.com/foo", or "*.example.com" for every host under it.</param>
/// <param name="Location">Where those references are really pulled from: the prefix replaced by it.</param>
public sealed record RegistryEntry(string Prefix, string Location, bool Insecure, bool Blocked, bool MirrorByDigestOnly, IReadOnlyList<MirrorEntry> Mirrors);

/// <param name="PullFromMirror">"all", "digest-only" or "tag-only": which references the mirror serves.</param>
public sealed record MirrorEntry(string Location, bool Insecure, string PullFromMirror);

/// <summary>One place to try a pull from, in order: the mirrors first, the registry itself last.</summary>
public sealed record PullSource(Reference Reference, bool Insecure, bool IsMirror);

/// <summary>
/// What a short name ("busybox", "fedora:39") means: the alias it has, or the candidates made from
/// unqualified-search-registries, to be tried in order.
/// </summary>
public sealed record ShortNameResolution(string Input, Reference? Alias, string? AliasSource, IReadOnlyList<Reference> Candidates, string Mode);

/// <summary>
/// containers-registries.conf(5): unqualified-search-registries, short-name-mode, [aliases],
/// [[registry]] (prefix, location, insecure, blocked, mirror-by-digest-only) with its
/// [[registry.mirror]] list, and the V1 tables ([registries.search|insecure|block]) older files have.
/// The user's file replaces the system's when it exists, and the .d drop-ins of both are merged
/// over it in name order, as containers/image does.
/// </summary>
public sealed class RegistriesConf
{
    public const string SystemPath = "/etc/containers/registries.conf";
    public const string SystemDropIns = "/etc/containers/registries.conf.d";

    public IReadOnlyList<string> UnqualifiedSearchRegistries { get; private init; } = [];
    public IReadOnlyDictionary<string, string> Aliases { get; private init; } = new Dictionary<string, string>();
    public IReadOnlyList<RegistryEntry> Registries { get; private init; } = [];
    /// <summary>enforcing (the default), permissive or disabled.</summary>
    public string ShortNameMode { get; private init; } = "enforcing";
    /// <summary>The files read, in order (for errors and `--debug`).</summary>
    public IReadOnlyList<string> Sources { get; private init; } = [];

    readonly Dictionary<string, string> _aliasSources = new();
    bool _searchSet, _modeSet;

    public static RegistriesConf Empty { get; } = new();

    /// <summary>
    /// Reads <paramref name="explicitPath"/> alone when given (a --registries-conf flag, or
    /// $CONTAINERS_REGISTRIES_CONF), else the user's file or the system's, then the drop-ins.
    /// Missing files are no error; a broken one is.
    /// </summary>
    public static RegistriesConf Load(RegistryEnvironment env, string? explicitPath = null)
    {
        explicitPath ??= env.RegistriesConf;
        if (explicitPath is not null)
            return File.Exists(explicitPath) ? ReadFile(explicitPath) : throw new RegistryException($"registries.conf {explicitPath}: no such file");
        var user = env.ConfigHome is { } ch ? Path.Combine(ch, "containers", "registries.conf") : null;
        var conf = user is not null && File.Exists(user) ? ReadFile(user) : File.Exists(SystemPath) ? ReadFile(SystemPath) : Empty;
        var dropIns = new List<string>();
        foreach (var dir in new[] { SystemDropIns, user is null ? null : user + ".d" })
            if (dir is not null && Directory.Exists(dir))
                dropIns.AddRange(FileSystem.NonDirectories(dir).Where(n => n.EndsWith(".conf", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(n => Path.Combine(dir, n)));
        foreach (var file in dropIns) conf = conf.Merge(ReadFile(file));
        return conf;
    }

    static RegistriesConf ReadFile(string path)
    {
        string text;
        try
        {
            text = FileSystem.ReadText(path, 4 << 20);
        }
        catch (LinuxException e)
        {
            throw new RegistryException($"registries.conf: {e.Message}");
        }
        return Parse(text, path);
    }

    /// <summary>Parses one file's text; errors name <paramref name="source"/> and the field.</summary>
    public static RegistriesConf Parse(string toml, string source)
    {
        TomlTable t;
        try
        {
            t = TomlSerializer.Deserialize(toml, TomlModel.Default.TomlTable) ?? new TomlTable();
        }
        catch (TomlException e)
        {
            throw new RegistryException($"registries.conf {source}: {e.Message}");
        }
        var search = new List<string>();
        bool searchSet = false, modeSet = false;
        var aliases = new Dictionary<string, string>();
        var registries = new List<RegistryEntry>();
        string mode = "enforcing";

        if (t.TryGetValue("unqualified-search-registries", out var usr))
        {
            search.AddRange(Strings(usr, source, "unqualified-search-registries"));
            searchSet = true;
        }
        if (t.TryGetValue("short-name-mode", out var snm))
        {
            mode = Str(snm, source, "short-name-mode");
            if (mode is not ("enforcing" or "permissive" or "disabled"))
                throw new RegistryException($"registries.conf {source}: short-name-mode {Quote.Of(mode)}: expected enforcing, permissive or disabled");
            modeSet = true;
        }
        if (t.TryGetValue("aliases", out var al))
        {
            if (al is not TomlTable at) throw new RegistryException($"registries.conf {source}: aliases: expected a table");
            foreach (var (key, value) in at)
            {
                var target = Str(value, source, $"aliases.{key}");
                if (!Reference.TryParse(target, out _, out var err) || Reference.IsShortName(target))
                    throw new RegistryException($"registries.conf {source}: aliases.{key}: {Quote.Of(target)} is not a fully qualified reference{(err is null ? "" : $" ({err})")}");
                aliases[key] = target;
            }
        }
        if (t.TryGetValue("registry", out var reg))
        {
            if (reg is not TomlTableArray ra) throw new RegistryException($"registries.conf {source}: registry: expected [[registry]] tables");
            for (int i = 0; i < ra.Count; i++) registries.Add(ReadRegistry(ra[i], source, $"registry[{i}]"));
        }
        // The V1 format: [registries.search], [registries.insecure], [registries.block] lists of hosts.
        if (t.TryGetValue("registries", out var v1) && v1 is TomlTable v1t)
        {
            if (registries.Count > 0 || searchSet)
                throw new RegistryException($"registries.conf {source}: mixes the V1 [registries.*] tables with the V2 format");
            List<string> List(string key) => v1t.TryGetValue(key, out var o) && o is TomlTable ot && ot.TryGetValue("registries", out var l)
                ? Strings(l, source, $"registries.{key}.registries") : [];
            search.AddRange(List("search"));
            searchSet = search.Count > 0;
            var insecure = List("insecure");
            var block = List("block");
            foreach (var host in insecure.Union(block))
                registries.Add(new RegistryEntry(host, host, insecure.Contains(host), block.Contains(host), false, []));
        }
        var conf = new RegistriesConf
        {
            UnqualifiedSearchRegistries = search,
            Aliases = aliases,
            Registries = registries,
            ShortNameMode = mode,
            Sources = [source],
            _searchSet = searchSet,
            _modeSet = modeSet,
        };
        foreach (var k in aliases.Keys) conf._aliasSources[k] = source;
        return conf;
    }

    static RegistryEntry ReadRegistry(TomlTable r, string source, string field)
    {
        string? location = r.TryGetValue("location", out var lo) ? Str(lo, source, $"{field}.location") : null;
        string? prefix = r.TryGetValue("prefix", out var pr) ? Str(pr, source, $"{field}.prefix") : null;
        bool Flag(string key) => r.TryGetValue(key, out var v) && (v is bool b ? b : throw new RegistryException($"registries.conf {source}: {field}.{key}: expected true or false"));
        prefix ??= location;
        if (string.IsNullOrEmpty(prefix)) throw new RegistryException($"registries.conf {source}: {field}: a location or a prefix is required");
        prefix = prefix.TrimEnd('/');
        if (prefix.StartsWith("*."))
        {
            if (prefix.Contains('/')) throw new RegistryException($"registries.conf {source}: {field}.prefix {Quote.Of(prefix)}: a wildcard prefix names hosts only");
            if (!string.IsNullOrEmpty(location)) throw new RegistryException($"registries.conf {source}: {field}: a wildcard prefix takes no location");
        }
        else if (prefix.Contains('*')) throw new RegistryException($"registries.conf {source}: {field}.prefix {Quote.Of(prefix)}: '*' is allowed only as a leading \"*.\"");
        var mirrors = new List<MirrorEntry>();
        if (r.TryGetValue("mirror", out var mo))
        {
            if (mo is not TomlTableArray ma) throw new RegistryException($"registries.conf {source}: {field}.mirror: expected [[registry.mirror]] tables");
            for (int i = 0; i < ma.Count; i++)
            {
                var m = ma[i];
                var mf = $"{field}.mirror[{i}]";
                var ml = m.TryGetValue("location", out var mlv) ? Str(mlv, source, $"{mf}.location") : throw new RegistryException($"registries.conf {source}: {mf}.location is required");
                var pull = m.TryGetValue("pull-from-mirror", out var pf) ? Str(pf, source, $"{mf}.pull-from-mirror") : "all";
                if (pull is not ("all" or "digest-only" or "tag-only"))
                    throw new RegistryException($"registries.conf {source}: {mf}.pull-from-mirror {Quote.Of(pull)}: expected all, digest-only or tag-only");
                bool insecure = m.TryGetValue("insecure", out var mi) && (mi is bool b ? b : throw new RegistryException($"registries.conf {source}: {mf}.insecure: expected true or false"));
                mirrors.Add(new MirrorEntry(ml.TrimEnd('/'), insecure, pull));
            }
        }
        return new RegistryEntry(prefix, (location ?? prefix).TrimEnd('/'), Flag("insecure"), Flag("blocked"), Flag("mirror-by-digest-only"), mirrors);
    }

    static string Str(object? v, string source, string field) =>
        v as string ?? throw new RegistryException($"registries.conf {source}: {field}: expected a string");

    static List<string> Strings(object? v, string source, string field)
    {
        if (v is not TomlArray a) throw new RegistryException($"registries.conf {source}: {field}: expected an array of strings");
        var list = new List<string>();
        for (int i = 0; i < a.Count; i++) list.Add(Str(a[i], source, $"{field}[{i}]"));
        return list;
    }

    /// <summary>A drop-in over this file: its search list and mode replace ours when it sets them; aliases and registries (by prefix) are overridden one by one.</summary>
    public RegistriesConf Merge(RegistriesConf later)
    {
        var aliases = new Dictionary<string, string>(Aliases);
        foreach (var (k, v) in later.Aliases) aliases[k] = v;
        var registries = Registries.Where(r => later.Registries.All(l => l.Prefix != r.Prefix)).Concat(later.Registries).ToList();
        var merged = new RegistriesConf
        {
            UnqualifiedSearchRegistries = later._searchSet ? later.UnqualifiedSearchRegistries : UnqualifiedSearchRegistries,
            ShortNameMode = later._modeSet ? later.ShortNameMode : ShortNameMode,
            Aliases = aliases,
            Registries = registries,
            Sources = [.. Sources, .. later.Sources],
            _searchSet = _searchSet || later._searchSet,
            _modeSet = _modeSet || later._modeSet,
        };
        foreach (var (k, v) in _aliasSources) merged._aliasSources[k] = v;
        foreach (var (k, v) in later._aliasSources) merged._aliasSources[k] = v;
        return merged;
    }

    /// <summary>The [[registry]] whose prefix matches <paramref name="reference"/> longest, or null.</summary>
    public RegistryEntry? Find(Reference reference) => FindFor(reference.ToString(), reference.Registry);

    /// <summary>The [[registry]] for a bare host ("localhost:5000"), for TLS and login decisions.</summary>
    public RegistryEntry? FindHost(string host) => FindFor(host, host);

    RegistryEntry? FindFor(string text, string host)
    {
        RegistryEntry? best = null;
        int bestLength = -1;
        foreach (var r in Registries)
        {
            int length = MatchLength(r.Prefix, text, host);
            if (length > bestLength)
            {
                best = r;
                bestLength = length;
            }
        }
        return best;
    }

    /// <summary>How much of the reference a prefix matches: a whole host, or a path ending at '/', ':' or '@'; -1 if none.</summary>
    static int MatchLength(string prefix, string text, string host)
    {
        if (prefix.StartsWith("*."))
        {
            var hostName = host.Contains(':') && !host.StartsWith('[') ? host[..host.LastIndexOf(':')] : host;
            return hostName.EndsWith(prefix[1..], StringComparison.Ordinal) ? prefix.Length : -1;
        }
        if (!text.StartsWith(prefix, StringComparison.Ordinal)) return -1;
        if (text.Length == prefix.Length || text[prefix.Length] is '/' or ':' or '@') return prefix.Length;
        return -1;
    }

    /// <summary>Whether registries.conf marks <paramref name="host"/> insecure (no TLS verification, HTTP allowed).</summary>
    public bool IsInsecure(string host) => FindHost(host)?.Insecure == true;

    /// <summary>
    /// Where to pull <paramref name="reference"/> from, in order: the mirrors that serve it, then the
    /// location (the prefix rewritten). A blocked registry is an error.
    /// </summary>
    public IReadOnlyList<PullSource> PullSources(Reference reference)
    {
        var entry = Find(reference);
        if (entry is null) return [new PullSource(reference, false, false)];
        if (entry.Blocked) throw new RegistryException($"{reference}: registry {entry.Prefix} is blocked in registries.conf");
        var sources = new List<PullSource>();
        bool byDigest = reference.Digest is not null;
        foreach (var m in entry.Mirrors)
        {
            if (entry.MirrorByDigestOnly && !byDigest) continue;
            if (m.PullFromMirror == "digest-only" && !byDigest) continue;
            if (m.PullFromMirror == "tag-only" && byDigest) continue;
            sources.Add(new PullSource(Rewrite(reference, entry.Prefix, m.Location), m.Insecure, true));
        }
        sources.Add(new PullSource(entry.Prefix.StartsWith("*.") ? reference : Rewrite(reference, entry.Prefix, entry.Location), entry.Insecure, false));
        return sources;
    }

    /// <summary>Where a push of <paramref name="reference"/> goes: the location (never a mirror); blocked is an error.</summary>
    public PullSource PushTarget(Reference reference)
    {
        var entry = Find(reference);
        if (entry is null) return new PullSource(reference, false, false);
        if (entry.Blocked) throw new RegistryException($"{reference}: registry {entry.Prefix} is blocked in registries.conf");
        return new PullSource(entry.Prefix.StartsWith("*.") ? reference : Rewrite(reference, entry.Prefix, entry.Location), entry.Insecure, false);
    }

    static Reference Rewrite(Reference reference, string prefix, string location)
    {
        if (prefix.StartsWith("*.")) return reference;
        var text = location + reference.ToString()[prefix.Length..];
        return Reference.TryParse(text, out var r, out var error) ? r! : throw new RegistryException($"{reference}: registries.conf rewrites it to {Quote.Of(text)}: {error}");
    }

    /// <summary>
    /// A short name's meaning (containers-registries.conf(5), "SHORT-NAME ALIASING"): an alias when
    /// one is configured for the name, else one candidate per unqualified-search-registries entry.
    /// A name that is not short resolves to itself.
    /// </summary>
    public ShortNameResolution ResolveShortName(string name)
    {
        if (name.StartsWith("docker://")) name = name[9..];
        if (!Reference.IsShortName(name))
        {
            var r = Reference.Parse(name);
            return new ShortNameResolution(name, null, null, [r], ShortNameMode);
        }
        // Parse once on docker.io to check the grammar and split off tag and digest.
        var parsed = Reference.Parse(name);
        if (parsed.Digest is not null && parsed.Tag is not null)
            throw new RegistryException($"{Quote.Of(name)}: a short name takes a tag or a digest, not both");
        var bare = name;
        int at = bare.IndexOf('@');
        if (at >= 0) bare = bare[..at];
        int colon = bare.LastIndexOf(':');
        if (colon >= 0) bare = bare[..colon];
        var suffix = parsed.Digest is not null ? "@" + parsed.Digest : parsed.Tag is not null ? ":" + parsed.Tag : "";
        if (Aliases.TryGetValue(bare, out var target))
        {
            var aliased = Reference.Parse(target);
            aliased = parsed.Digest is not null ? aliased.WithDigest(parsed.Digest) : parsed.Tag is not null ? aliased.WithTag(parsed.Tag) : aliased;
            return new ShortNameResolution(name, aliased.WithDefaultTag(), _aliasSources.GetValueOrDefault(bare), [aliased.WithDefaultTag()], ShortNameMode);
        }
        var candidates = new List<Reference>();
        foreach (var registry in UnqualifiedSearchRegistries)
        {
            var text = $"{registry}/{bare}{suffix}";
            if (Reference.TryParse(text, out var c, out _) && !candidates.Contains(c!.WithDefaultTag())) candidates.Add(c!.WithDefaultTag());
        }
        if (candidates.Count == 0)
            throw new RegistryException($"short name {Quote.Of(name)}: no unqualified-search-registries are configured in registries.conf and no alias matches it (use a fully qualified reference, such as docker.io/library/{bare})");
        return new ShortNameResolution(name, null, null, candidates, ShortNameMode);
    }
}

/// <summary>Tomlyn's untyped model through its source generator: no reflection, so NativeAOT-clean.</summary>
[TomlSerializable(typeof(TomlTable))]
internal partial class TomlModel : TomlSerializerContext
{
}
