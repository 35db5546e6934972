using System.Text.Json;
using Berth.Images;
using Berth.Images.Copy;
using Berth.Images.Registry;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Reference = Berth.Images.Registry.Reference;

namespace Berth.Cli.Commands;

/// <summary>
/// `berth image pull|push|list-tags|delete|sync`, inspect of docker://, and the registry flags of
/// `copy`, with skopeo's and podman's flag names. Nothing registry-related is built until one of
/// these runs (the runtime's commands never get here).
/// </summary>
public static class RegistryCommands
{
    /// <summary>The flags every registry command takes for the registry it talks to (skopeo's shared names).</summary>
    public static readonly Flag[] SharedFlags =
    {
        new("tls-verify"), new("cert-dir", null, true), new("creds", null, true), new("authfile", null, true),
        new("registries-conf", null, true), new("retry-times", null, true), new("quiet", 'q'), new("debug"),
        new("image-parallel-copies", null, true),
    };

    /// <summary>skopeo copy's per-side names: --src-tls-verify, --dest-creds, …</summary>
    public static IEnumerable<Flag> SideFlags(string side) => new Flag[]
    {
        new($"{side}-tls-verify"), new($"{side}-cert-dir", null, true), new($"{side}-creds", null, true), new($"{side}-authfile", null, true),
        new($"{side}-registries-conf", null, true),
    };

    /// <summary>The registry settings of one side of a command (<paramref name="side"/> "src" or "dest"; null for a one-sided command).</summary>
    public static RegistrySettings Settings(CommandLine cl, string? side, Action<string>? log = null)
    {
        string? Pick(string name) => (side is null ? null : cl.Value($"{side}-{name}")) ?? cl.Value(name);
        bool? tls = Pick("tls-verify") switch
        {
            null => null,
            "true" => true,
            "false" => false,
            var v => throw new UsageException($"--tls-verify: {Quote.Of(v)} is not true or false"),
        };
        return new RegistrySettings
        {
            TlsVerify = tls,
            CertDir = Pick("cert-dir"),
            Credentials = Pick("creds") is { } c ? RegistrySettings.ParseCredentials(c, side is null ? "creds" : $"{side}-creds") : null,
            AuthFile = Pick("authfile"),
            RegistriesConfPath = Pick("registries-conf"),
            RetryTimes = cl.Value("retry-times") is { } r ? cl.Int("retry-times", 0) : null,
            Log = log ?? (cl.Has("debug") ? line => Runtime.Log.Stderr($"berth: debug: {line}") : null),
        };
    }

    /// <summary>A reference with the side's registry settings when it is a docker:// one.</summary>
    public static ImageReference WithSide(ImageReference r, RegistrySettings settings) => r is DockerReference d ? d.WithSettings(settings) : r;

    /// <summary>"docker://" is optional where only a registry makes sense (pull, list-tags, login).</summary>
    public static DockerReference Docker(ImageService images, string text, RegistrySettings settings)
    {
        var rest = text.StartsWith("docker://", StringComparison.Ordinal) ? text["docker:".Length..] : "//" + text;
        return images.Docker.Parse(rest, settings);
    }

    /// <summary>--format: json is the result's format; oci and v2s2 the manifests' (skopeo's meaning), and both may be given.</summary>
    public static (ManifestFormat? Manifests, bool Json) Formats(CommandLine cl)
    {
        ManifestFormat? manifests = null;
        bool json = false;
        foreach (var f in cl.Values("format"))
        {
            if (f == "json") json = true;
            else manifests = CopyOptions.ParseFormat(f);
        }
        return (manifests, json);
    }

    public static int? Parallel(CommandLine cl) =>
        cl.Value("image-parallel-copies") is null ? null : cl.Int("image-parallel-copies", 1) is var n and > 0 ? n : throw new UsageException("--image-parallel-copies: must be at least 1");

    /// <summary>Runs a copy with its progress on stderr, then prints the digest (or the JSON result) on stdout.</summary>
    public static int Report(CommandLine cl, bool json, string? destination, Func<ICopyProgress, (Descriptor Written, string? Name)> copy, Action<CopyProgressView>? before = null)
    {
        using var view = new CopyProgressView(json ? ProgressMode.Quiet : CopyProgressView.ModeFor(cl.Has("quiet")));
        before?.Invoke(view);
        var (written, name) = copy(view);
        view.Finish();
        if (json) Output.WriteLine(view.Json(written, destination, name));
        else Output.Write(written.Digest + "\n");
        return 0;
    }

    /// <summary>`image pull [flags] REF`: into the store under podman's name for it.</summary>
    public static int Pull(ImageService images, CommandLine cl, PlatformSpec? platform)
    {
        if (cl.Positional.Count != 1) throw new UsageException("image pull: one image reference is required (REF, docker:// optional)");
        using var settings = Settings(cl, null);
        var (manifests, json) = Formats(cl);
        if (manifests is not null) throw new UsageException("image pull: --format takes json here (the store keeps manifests as they come)");
        var reference = Docker(images, cl.Positional[0], settings);
        var options = new CopyOptions { All = cl.Has("all"), Platform = platform, ParallelBlobs = Parallel(cl), Policy = PolicyFlags.From(cl, images) };
        return Report(cl, json, null, progress =>
        {
            if (progress is CopyProgressView v) v.Note($"Trying to pull {reference}...");
            var (written, name) = images.Pull(reference, options with { Progress = progress });
            return (written, name);
        });
    }

    /// <summary>`image push [flags] IMAGE [DEST]`: a store image (or any reference) to a registry; DEST defaults to docker://IMAGE.</summary>
    public static int Push(ImageService images, CommandLine cl, PlatformSpec? platform)
    {
        if (cl.Positional.Count is < 1 or > 2) throw new UsageException("image push: IMAGE [docker://HOST/NAME[:TAG]] is required");
        using var settings = Settings(cl, "dest");
        var (manifests, json) = Formats(cl);
        var from = images.Parse(cl.Positional[0]);
        var to = Docker(images, cl.Positional.Count == 2 ? cl.Positional[1] : from.Name ?? throw new UsageException("image push: a destination is required"), settings);
        var options = new CopyOptions
        {
            All = cl.Has("all"), Platform = platform, Format = manifests, RemoveSignatures = cl.Has("remove-signatures"),
            DestCompressFormat = cl.Value("dest-compress-format") is { } c ? CopyOptions.ParseCompression(c) : null,
            ParallelBlobs = Parallel(cl),
        };
        return Report(cl, json, to.ToString(), progress => (images.Copy(from, to, options with { Progress = progress }), null));
    }

    /// <summary>`image inspect docker://…`: skopeo inspect's JSON from the manifest and config alone (no layer is fetched).</summary>
    public static byte[] Inspect(ImageService images, DockerReference r, PlatformSpec? platform, string view, bool tags)
    {
        using var src = (DockerSource)ImageService.Open(r);
        var (top, raw) = ResolvedImage.Top(src);
        if (view == "raw") return raw.Bytes;
        var image = ResolvedImage.Resolve(src, platform);
        var configBytes = VerifiedBlob.ReadAll(src, image.Manifest.Config!, "config");
        if (view == "config") return configBytes;
        string? dockerVersion = null;
        using (var doc = JsonDocument.Parse(configBytes))
            if (doc.RootElement.TryGetProperty("docker_version", out var dv) && dv.ValueKind == JsonValueKind.String) dockerVersion = dv.GetString();
        var resolved = src.Resolved.Qualified!;
        IReadOnlyList<string> repoTags = tags ? src.Tags() : [];
        var c = image.Config;
        return JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("Name", resolved.Name);
            w.WriteString("Digest", top.Digest);
            w.WriteStartArray("RepoTags");
            foreach (var t in repoTags) w.WriteStringValue(t);
            w.WriteEndArray();
            if (c.Created is { } created) w.WriteString("Created", created);
            else w.WriteNull("Created");
            w.WriteString("DockerVersion", dockerVersion ?? "");
            if (c.Config?.Labels is { } labels)
            {
                w.WriteStartObject("Labels");
                foreach (var (k, v) in labels) w.WriteString(k, v);
                w.WriteEndObject();
            }
            else w.WriteNull("Labels");
            w.WriteString("Architecture", c.Architecture ?? "");
            if (c.Variant is { Length: > 0 } variant) w.WriteString("Variant", variant);
            w.WriteString("Os", c.Os ?? "");
            w.WriteStartArray("Layers");
            foreach (var l in image.Layers) w.WriteStringValue(l.Digest);
            w.WriteEndArray();
            w.WriteStartArray("LayersData");
            foreach (var l in image.Layers)
            {
                w.WriteStartObject();
                w.WriteString("MIMEType", l.MediaType);
                w.WriteString("Digest", l.Digest);
                w.WriteNumber("Size", l.Size ?? 0);
                if (l.Annotations is { } a)
                {
                    w.WriteStartObject("Annotations");
                    foreach (var (k, v) in a) w.WriteString(k, v);
                    w.WriteEndObject();
                }
                else w.WriteNull("Annotations");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (c.Config?.Env is { } env)
            {
                w.WriteStartArray("Env");
                foreach (var e in env) w.WriteStringValue(e);
                w.WriteEndArray();
            }
            else w.WriteNull("Env");
            w.WriteEndObject();
        }, indent: "    ");
    }

    const int PageSize = 100;

    /// <summary>`image list-tags docker://REPO`: skopeo's {"Repository", "Tags"}, every page of the Link header followed.</summary>
    public static int ListTags(ImageService images, CommandLine cl)
    {
        if (cl.Positional.Count != 1) throw new UsageException("image list-tags: one repository is required (docker://HOST/NAME)");
        using var settings = Settings(cl, null);
        var r = Docker(images, cl.Positional[0], settings);
        if (r.Qualified is { } q && (q.Digest is not null || (q.Tag is not null && q.Tag != Reference.DefaultTag && cl.Positional[0].EndsWith(":" + q.Tag, StringComparison.Ordinal))))
            throw new UsageException($"image list-tags: {r} names an image; give the repository alone");
        var repo = r.Candidates()[0];
        // Pages of 100 (?n=100), each next one where the Link header says: a registry's default page may be anything.
        var tags = Sync(settings.Pool.FromFirstSourceAsync(repo, (client, source) => client.ListTagsAsync(source.Repository, PageSize)));
        Output.WriteLine(JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("Repository", repo.Name);
            w.WriteStartArray("Tags");
            foreach (var t in tags) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteEndObject();
        }, indent: "    "));
        return 0;
    }

    /// <summary>`image delete docker://…`: the manifest a tag or digest names (skopeo delete: the image, not only the tag).</summary>
    public static int Delete(ImageService images, CommandLine cl)
    {
        if (cl.Positional.Count != 1) throw new UsageException("image delete: one image is required (docker://HOST/NAME:TAG|@DIGEST)");
        using var settings = Settings(cl, null);
        var r = Docker(images, cl.Positional[0], settings);
        var q = r.Qualified ?? throw new UsageException($"image delete: {r}: a short name is not deleted (name the registry)");
        var target = settings.Conf.PushTarget(q);
        var client = settings.Pool.For(target.Reference.Registry, target.Insecure);
        Sync(client.DeleteManifestAsync(target.Reference.Repository, target.Reference.Identifier));
        return 0;
    }

    /// <summary>
    /// `image sync [--src docker|yaml] [--dest docker|dir] [--scoped] SRC DST`: a repository (every
    /// tag, or the one named) or skopeo's YAML list, to a registry (DST = docker://HOST[/NAMESPACE])
    /// or to dir: directories (DST = dir:PATH); what the destination has is skipped and said so.
    /// </summary>
    public static int SyncImages(ImageService images, CommandLine cl, PlatformSpec? platform)
    {
        if (cl.Positional.Count != 2) throw new UsageException("image sync: SRC and DST are required");
        var (srcText, dstText) = (cl.Positional[0], cl.Positional[1]);
        var srcKind = cl.Value("src") ?? (srcText.StartsWith("docker://", StringComparison.Ordinal) ? "docker"
            : srcText.EndsWith(".yaml", StringComparison.Ordinal) || srcText.EndsWith(".yml", StringComparison.Ordinal) ? "yaml"
            : throw new UsageException($"image sync: {Quote.Of(srcText)}: say what it is with --src docker|yaml (or write docker://REPO)"));
        var dstKind = cl.Value("dest") ?? (dstText.StartsWith("docker://", StringComparison.Ordinal) ? "docker"
            : dstText.StartsWith("dir:", StringComparison.Ordinal) ? "dir"
            : throw new UsageException($"image sync: {Quote.Of(dstText)}: say what it is with --dest docker|dir (or write docker://HOST/NS, dir:PATH)"));
        if (dstKind == "dir" && dstText.StartsWith("dir:", StringComparison.Ordinal)) dstText = dstText[4..];
        if (dstKind == "docker" && dstText.StartsWith("docker://", StringComparison.Ordinal)) dstText = dstText[9..];
        dstText = dstText.TrimEnd('/');
        var (manifests, json) = Formats(cl);
        bool scoped = cl.Has("scoped");
        using var srcSettings = Settings(cl, "src");
        using var dstSettings = Settings(cl, "dest");
        var extra = new List<RegistrySettings>();
        var sources = new List<DockerReference>();
        switch (srcKind)
        {
            case "docker":
            {
                var r = Docker(images, srcText, srcSettings);
                var bare = srcText.StartsWith("docker://", StringComparison.Ordinal) ? srcText[9..] : srcText;
                var given = Reference.Parse(bare);
                if (given.Tag is not null || given.Digest is not null) sources.Add(r);
                else
                {
                    var repo = r.Candidates()[0];
                    foreach (var tag in Sync(srcSettings.Pool.FromFirstSourceAsync(repo, (client, from) => client.ListTagsAsync(from.Repository))))
                        sources.Add(r.WithReference(repo.WithTag(tag)));
                }
                break;
            }
            case "yaml":
                foreach (var entry in ImageSync.ReadYaml(srcText))
                {
                    var settings = new RegistrySettings
                    {
                        TlsVerify = entry.TlsVerify ?? srcSettings.TlsVerify, CertDir = entry.CertDir ?? srcSettings.CertDir,
                        Credentials = entry.Credentials ?? srcSettings.Credentials, AuthFile = srcSettings.AuthFile,
                        RegistriesConfPath = srcSettings.RegistriesConfPath, RetryTimes = srcSettings.RetryTimes, Log = srcSettings.Log,
                    };
                    extra.Add(settings);
                    IReadOnlyList<string>? all = null;
                    IReadOnlyList<string> AllTags(Reference repo) => all = Sync(settings.Pool.FromFirstSourceAsync(repo, (client, from) => client.ListTagsAsync(from.Repository)));
                    foreach (var (name, tags) in entry.Images)
                    {
                        var repo = Reference.Parse($"{entry.Registry}/{name}");
                        foreach (var tag in tags ?? AllTags(repo))
                            sources.Add(images.Docker.Parse("//" + (tag.StartsWith("sha256:", StringComparison.Ordinal) ? repo.WithDigest(tag) : repo.WithTag(tag)), settings));
                    }
                    foreach (var (name, regex) in entry.ImagesByTagRegex)
                    {
                        var repo = Reference.Parse($"{entry.Registry}/{name}");
                        foreach (var tag in ImageSync.Matching(AllTags(repo), regex, $"{srcText}: {entry.Registry}: images-by-tag-regex: {name}"))
                            sources.Add(images.Docker.Parse("//" + repo.WithTag(tag), settings));
                    }
                }
                break;
            default:
                throw new UsageException($"image sync: --src {Quote.Of(srcKind)}: docker or yaml");
        }
        var items = sources.Select(src =>
        {
            var suffix = ImageSync.Suffix(src.Qualified!, scoped);
            ImageReference dst = dstKind switch
            {
                "docker" => Docker(images, $"{dstText}/{suffix}", dstSettings),
                "dir" => images.Parse("dir:" + Path.Combine(dstText, suffix)),
                _ => throw new UsageException($"image sync: --dest {Quote.Of(dstKind)}: docker or dir"),
            };
            return new SyncItem(src, dst);
        }).ToList();
        if (dstKind == "dir") Linux.FileSystem.CreateDirectory(dstText);

        using var view = new CopyProgressView(json ? ProgressMode.Quiet : CopyProgressView.ModeFor(cl.Has("quiet")));
        var options = new CopyOptions
        {
            All = cl.Has("all"), Platform = platform, Format = manifests, PreserveDigests = cl.Has("preserve-digests"),
            RemoveSignatures = cl.Has("remove-signatures"), ParallelBlobs = Parallel(cl), Progress = view,
        };
        try
        {
            var results = ImageSync.Run(items, options,
                item => view.Note($"Copying image {item.Source} to {item.Destination}"),
                r => view.Note(r.Skipped ? $"Skipping {r.Item.Source}: {r.Item.Destination} has it already ({r.Digest})" : $"Copied {r.Item.Source} to {r.Item.Destination} ({r.Digest})"));
            view.Finish();
            int skipped = results.Count(r => r.Skipped);
            view.Note($"Synced {results.Count} images from {srcText} to {dstText}: {results.Count - skipped} copied, {skipped} skipped");
            if (json)
                Output.WriteLine(JsonOut.Write(w =>
                {
                    w.WriteStartObject();
                    w.WriteStartArray("images");
                    foreach (var r in results)
                    {
                        w.WriteStartObject();
                        w.WriteString("source", r.Item.Source.ToString());
                        w.WriteString("destination", r.Item.Destination.ToString());
                        w.WriteString("digest", r.Digest);
                        w.WriteString("outcome", r.Skipped ? "skipped" : "copied");
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteNumber("copied", results.Count - skipped);
                    w.WriteNumber("skipped", skipped);
                    w.WriteEndObject();
                }, indent: "  "));
            return 0;
        }
        finally
        {
            foreach (var s in extra) s.Dispose();
        }
    }

    static T Sync<T>(Task<T> task) => task.GetAwaiter().GetResult();
}
