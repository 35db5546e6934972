using Berth.Linux;
using System.Text.RegularExpressions;
using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using YamlDotNet.RepresentationModel;

namespace Berth.Images.Copy;

/// <summary>One image of a sync: where it is read and where it goes.</summary>
public sealed record SyncItem(DockerReference Source, ImageReference Destination);

/// <summary>What happened to one image of a sync.</summary>
public sealed record SyncResult(SyncItem Item, string Digest, bool Skipped);

/// <summary>
/// skopeo sync: every image of a repository (all its tags, or the one named), or of a YAML list
/// (skopeo's --src yaml), copied to a registry or to dir: directories — each image to
/// DEST/NAME:TAG, NAME the repository's last component (its whole reference with --scoped).
/// Idempotent: an image the destination already holds with the digest the copy would write is
/// skipped, and reported so; nothing of it is read.
/// </summary>
public static class ImageSync
{
    /// <summary>A registry's entry of the YAML list: its images (tags, or every tag), images by tag regex, and how to reach it.</summary>
    public sealed record YamlRegistry(string Registry, IReadOnlyDictionary<string, IReadOnlyList<string>?> Images,
        IReadOnlyDictionary<string, string> ImagesByTagRegex, bool? TlsVerify, RegistryCredentials? Credentials, string? CertDir);

    /// <summary>
    /// skopeo's YAML: REGISTRY: {images: {REPO: [TAG…]}, images-by-tag-regex: {REPO: REGEX},
    /// tls-verify: BOOL, credentials: {username, password}, cert-dir: DIR}; an empty tag list is every tag.
    /// </summary>
    public static IReadOnlyList<YamlRegistry> ReadYaml(string path)
    {
        string text;
        try
        {
            text = FileSystem.ReadText(path, 16 << 20);
        }
        catch (LinuxException e)
        {
            throw new ImageException($"sync --src yaml: {e.Message}");
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new ImageException($"{path}: line {e.Start.Line}: {e.Message}");
        }
        var list = new List<YamlRegistry>();
        if (stream.Documents.Count == 0) return list;
        if (stream.Documents[0].RootNode is not YamlMappingNode root) throw new ImageException($"{path}: not a mapping of registries");
        foreach (var (key, value) in root.Children)
        {
            var registry = Scalar(key, path, "a registry name");
            var where = $"{path}: {registry}";
            if (value is not YamlMappingNode entry) throw new ImageException($"{where}: not a mapping (images, images-by-tag-regex, tls-verify, credentials, cert-dir)");
            var images = new Dictionary<string, IReadOnlyList<string>?>(StringComparer.Ordinal);
            var regexes = new Dictionary<string, string>(StringComparer.Ordinal);
            bool? tls = null;
            RegistryCredentials? creds = null;
            string? certDir = null;
            foreach (var (k, v) in entry.Children)
            {
                var field = Scalar(k, where, "a field name");
                switch (field)
                {
                    case "images":
                        foreach (var (repo, tags) in Mapping(v, $"{where}: images").Children)
                        {
                            var name = Scalar(repo, $"{where}: images", "a repository");
                            images[name] = tags switch
                            {
                                YamlSequenceNode { Children.Count: > 0 } seq => seq.Children.Select(t => Scalar(t, $"{where}: images: {name}", "a tag")).ToList(),
                                YamlSequenceNode => null,
                                YamlScalarNode { Value: null or "" or "~" or "null" } => null,
                                _ => throw new ImageException($"{where}: images: {name}: a list of tags is expected"),
                            };
                        }
                        break;
                    case "images-by-tag-regex":
                        foreach (var (repo, regex) in Mapping(v, $"{where}: images-by-tag-regex").Children)
                            regexes[Scalar(repo, $"{where}: images-by-tag-regex", "a repository")] = Scalar(regex, $"{where}: images-by-tag-regex", "a regular expression");
                        break;
                    case "tls-verify":
                        tls = Scalar(v, where, "tls-verify") switch
                        {
                            "true" or "True" or "yes" => true,
                            "false" or "False" or "no" => false,
                            var b => throw new ImageException($"{where}: tls-verify: {Quote.Of(b)} is not true or false"),
                        };
                        break;
                    case "cert-dir":
                        certDir = Scalar(v, where, "cert-dir");
                        break;
                    case "credentials":
                    {
                        var c = Mapping(v, $"{where}: credentials");
                        string? Field(string n) => c.Children.TryGetValue(new YamlScalarNode(n), out var x) ? Scalar(x, $"{where}: credentials", n) : null;
                        creds = new RegistryCredentials(Field("username") ?? throw new ImageException($"{where}: credentials: username is required"), Field("password") ?? "");
                        break;
                    }
                    default:
                        // What skopeo has and Berth does not (images-by-semver, tls settings) is refused, not ignored: the list would copy other images.
                        throw new ImageException($"{where}: {Quote.Of(field)} is not a field Berth reads (images, images-by-tag-regex, tls-verify, credentials, cert-dir)");
                }
            }
            list.Add(new YamlRegistry(registry, images, regexes, tls, creds, certDir));
        }
        return list;
    }

    static string Scalar(YamlNode node, string where, string what) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new ImageException($"{where}: {what} must be a plain value");

    static YamlMappingNode Mapping(YamlNode node, string where) =>
        node as YamlMappingNode ?? throw new ImageException($"{where}: a mapping is expected");

    /// <summary>The tags a regular expression keeps (Go's RE2 syntax and .NET's agree on what sync lists use).</summary>
    public static IEnumerable<string> Matching(IEnumerable<string> tags, string regex, string where)
    {
        Regex re;
        try
        {
            re = new Regex(regex, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new ImageException($"{where}: {Quote.Of(regex)} is not a regular expression ({e.Message})");
        }
        return tags.Where(t => re.IsMatch(t));
    }

    /// <summary>DEST's name for an image: REPO-LAST-COMPONENT:TAG, or the whole HOST/REPO:TAG with --scoped.</summary>
    public static string Suffix(Reference r, bool scoped)
    {
        var full = DockerReference.StoreName(r);
        if (scoped) return full;
        var name = r.Repository[(r.Repository.LastIndexOf('/') + 1)..];
        return r.Digest is not null ? $"{name}@{r.Digest}" : $"{name}:{r.Tag ?? Reference.DefaultTag}";
    }

    /// <summary>
    /// Copies each item unless its destination holds it already (the digest the copy would write:
    /// the top manifest with --all, else the platform's instance of an index). <paramref name="report"/>
    /// hears of each before the next starts.
    /// </summary>
    public static IReadOnlyList<SyncResult> Run(IEnumerable<SyncItem> items, CopyOptions options, Action<SyncItem>? starting, Action<SyncResult> report)
    {
        var results = new List<SyncResult>();
        foreach (var item in items)
        {
            using var src = ImageService.Open(item.Source);
            var wanted = Written(src, options);
            SyncResult result;
            if (wanted is { } w && Holds(item.Destination, w)) result = new SyncResult(item, w.ToString(), true);
            else
            {
                starting?.Invoke(item);
                using var dst = item.Destination.OpenDestination();
                var d = ImageCopier.Copy(src, dst, options);
                result = new SyncResult(item, d.Digest!, false);
            }
            results.Add(result);
            report(result);
        }
        return results;
    }

    /// <summary>The digest a copy of <paramref name="src"/> writes at the top when it changes nothing; null when it converts (--format).</summary>
    static Digest? Written(IImageSource src, CopyOptions options)
    {
        if (options.Format is not null || options.DestCompressFormat is not null) return null;
        var (desc, raw) = ResolvedImage.Top(src);
        if (raw.IsIndex && !options.All)
            return Digest.Parse((options.Platform ?? PlatformSpec.Host).Pick(raw.ParseIndex($"index {desc.Digest}"), $"index {desc.Digest}").Digest!);
        return raw.Digest;
    }

    static bool Holds(ImageReference destination, Digest wanted)
    {
        try
        {
            using var there = destination.OpenSource();
            return there.GetManifest().Digest == wanted;
        }
        catch (Exception e) when (e is ImageException or RegistryException or IOException or Linux.LinuxException)
        {
            // Not there (or not readable as an image): copied.
            return false;
        }
    }
}
