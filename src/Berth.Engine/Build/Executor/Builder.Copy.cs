using System.Net;
using System.Security.Cryptography;
using System.Text;
using Berth.Engine.Build.Syntax;
using Context = Berth.Engine.Build.Context;
using Berth.Images;
using Berth.Images.Layers;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Engine.Build.Executor;

public sealed partial class Builder
{
    /// <summary>One thing a COPY/ADD writes: a matched file or directory, a here-document, or a downloaded URL.</summary>
    sealed record CopyItem(SourceMatch? Match, string? Name, byte[]? Content, uint Mode, DateTimeOffset? Mtime);

    /// <summary>
    /// COPY and ADD: sources matched in the context (ignore files applied) or in a stage's or an
    /// image's root (--from), here-documents, and for ADD URLs and local tar archives (extracted);
    /// docker's destination rules; a layer of what changed.
    /// </summary>
    void CopyStep(StageRun run, CopyInstruction c)
    {
        var kw = c.Keyword;
        var fromText = c.From is { } f ? Expand(run, c, f) : null;
        var chown = c.Chown is { } co ? Expand(run, c, co) : null;
        uint? chmod = null;
        if (c.Chmod is { } cm)
        {
            var text = Expand(run, c, cm);
            try { chmod = Convert.ToUInt32(text, 8); }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { throw new EngineException($"{c.At}: {kw} --chmod={text}: not an octal mode"); }
            if (chmod > 0xfff) throw new EngineException($"{c.At}: {kw} --chmod={text}: not an octal mode");
        }
        var dest = Expand(run, c, c.Destination);
        var words = c.Sources.Select(s => Expand(run, c, s)).ToList();

        var heredocs = new List<CopyItem>();
        var urls = new List<string>();
        var locals = new List<string>();
        foreach (var w in words)
        {
            var doc = c.Heredocs.FirstOrDefault(d => w.TrimStart('<').TrimStart('-').Trim('"', '\'') == d.Name && w.StartsWith("<<"));
            if (doc is not null)
                heredocs.Add(new CopyItem(null, doc.Name, Encoding.UTF8.GetBytes(doc.Expand ? Expand(run, c, doc.Content) : doc.Content), 0x1a4, null));
            else if (c.IsAdd && (w.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || w.StartsWith("https://", StringComparison.OrdinalIgnoreCase))) urls.Add(w);
            else if (w.StartsWith("http://") || w.StartsWith("https://")) throw new EngineException($"{c.At}: COPY \"{w}\": a URL is a source of ADD only");
            else locals.Add(w);
        }
        if (c.IsAdd && fromText is not null) throw new EngineException($"{c.At}: ADD has no --from (COPY --from=STAGE)");

        // Where the local sources are: the context, or the root of a stage or image (read through an overlay of its own).
        StepRoot? fromRoot = null;
        Context.BuildContext? context = null;
        try
        {
            string where;
            string rootPath;
            Func<string, bool>? ignored = null;
            Context.ContextMatch? contextMatch = null;
            if (fromText is null)
            {
                // The context's loader matches (globs, .containerignore/.dockerignore) and digests; the copy walks with its ignore rules.
                context = Context.BuildContext.Open(_o.ContextDir);
                rootPath = context.Root;
                where = "build context";
                ignored = context.IsIgnored;
                if (locals.Count > 0)
                {
                    try { contextMatch = context.Match(locals, kw); }
                    catch (EngineException e) { throw new EngineException($"{c.At}: {e.Message}"); }
                }
            }
            else
            {
                var image = _graph.Find(fromText, run.Stage.Index) is { } st ? _stageTasks[st.Index].GetAwaiter().GetResult() : Base(fromText, _platform, c.At);
                fromRoot = StepRoot.Mount(_images, _buildDir, image);
                rootPath = fromRoot.Rootfs;
                where = $"--from={fromText} root";
            }
            using var srcRoot = Files.Open(rootPath, O.PATH | O.DIRECTORY | O.CLOEXEC);
            List<SourceMatch> matches;
            try
            {
                matches = contextMatch is not null ? contextMatch.Sources.Select(m => new SourceMatch(m.Pattern, m.Path, m.IsDirectory, m.IsWildcard)).ToList()
                    : TreeCopy.Match(srcRoot, locals, ignored, where);
            }
            catch (EngineException e)
            {
                throw new EngineException($"{c.At}: {kw} {e.Message}");
            }
            var items = matches.Select(m => new CopyItem(m, null, null, 0, null)).Concat(heredocs).ToList();
            foreach (var u in urls) items.Add(Download(c, u));
            if (c.IsAdd && c.Flag("checksum") is { } sumText) VerifyChecksum(c, Expand(run, c, sumText), urls, locals.Count + heredocs.Count, items);

            int count = items.Count;
            bool wildcard = matches.Any(m => m.Wildcard);
            if ((c.Sources.Count > 1 || count > 1 || wildcard && count > 1) && !dest.EndsWith('/'))
                throw new EngineException($"{c.At}: When using {kw} with more than one source file, the destination must be a directory and end with a /");

            var workdir = run.Image.Container.WorkingDir is { Length: > 0 } wd ? wd : "/";
            var destPath = dest.StartsWith('/') ? dest : workdir.TrimEnd('/') + "/" + dest;
            bool destIsDir = dest.EndsWith('/') || dest.EndsWith("/.") || dest == ".";

            var digest = InputDigest(srcRoot, contextMatch is null ? matches : new(), ignored, keepOwners: fromText is not null, items, contextMatch?.Digest(chmod: chmod));
            var keyText = $"{kw} " + (fromText is not null ? $"--from={fromText} " : "") + (chown is not null ? $"--chown={chown} " : "") +
                (chmod is { } m0 ? $"--chmod={Convert.ToString(m0, 8)} " : "") + string.Join(" ", words) + " " + dest;
            Cached(run, c, keyText, new[] { digest }, () =>
            {
                using var root = StepRoot.Mount(_images, _buildDir, run.Image);
                using var rootFd = Files.Open(root.Rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
                Owner? owner = null;
                if (chown is not null)
                {
                    try
                    {
                        var u = Specs.Users.Resolve(chown, root.Rootfs);
                        owner = new Owner(u.Uid ?? 0, u.Gid ?? 0);
                    }
                    catch (EngineException e) { throw new EngineException($"{c.At}: {kw} --chown={chown}: {e.Message}"); }
                }
                // The context's files are root's in the image unless --chown (docker's rule); a stage's keep their owners.
                if (owner is null && fromText is null) owner = new Owner(0, 0);
                var options = new TreeCopy.Options(owner, chmod, ignored);
                // A destination that is a directory in the image takes the sources inside it, as one ending in '/'.
                if (!destIsDir && InRoot.TryOpen(rootFd, destPath, out var existing))
                    using (existing) destIsDir = Files.Fstat(existing!).IsDirectory;
                foreach (var item in items)
                {
                    var (dir, name) = destIsDir ? (destPath, "") : InRoot.Split(destPath);
                    // The directories COPY makes for its destination belong to --chown's owner (buildah's and BuildKit's rule).
                    var made = chown is null ? new HashSet<string>() : RunStep.MissingTargets(root.Rootfs, new[] { dir });
                    using var dirFd = InRoot.MkdirAll(rootFd, dir);
                    foreach (var rel in made)
                        using (var created = InRoot.Open(rootFd, rel, O.RDONLY | O.DIRECTORY))
                            FileMeta.Chown(created, owner!.Value.Uid, owner.Value.Gid);
                    if (item.Match is { } m)
                    {
                        if (m.IsDirectory)
                        {
                            if (name.Length == 0) TreeCopy.CopyInto(srcRoot, m, dirFd, ".", options);
                            else TreeCopy.CopyInto(srcRoot, m, dirFd, name, options);
                        }
                        else if (c.IsAdd && TryExtract(srcRoot, m, dirFd, destIsDir ? null : name, c)) { }
                        else TreeCopy.CopyInto(srcRoot, m, dirFd, name.Length == 0 ? Path.GetFileName(m.Path) : name, options);
                    }
                    else
                        TreeCopy.WriteFile(dirFd, name.Length == 0 ? item.Name! : name, item.Content!, options with { Mtime = item.Mtime }, item.Mode);
                }
                return root.WriteLayer(_dst, null, Timestamp);
            }, createdBy: keyText + " # " + digest);
        }
        finally
        {
            fromRoot?.Dispose();
            context?.Dispose();
        }
    }

    /// <summary>ADD of a local tar (plain, gzip or zstd) extracts it into the destination directory; anything else is copied.</summary>
    bool TryExtract(Linux.SafeFd srcRoot, SourceMatch m, Linux.SafeFd dirFd, string? name, CopyInstruction c)
    {
        using var fd = InRoot.Open(srcRoot, m.Path, O.RDONLY);
        using var file = new FdStream(Files.DupAbove(fd, 3), m.Path, read: true, write: false);
        var head = new byte[512];
        int n = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        LayerCompression compression;
        try { compression = LayerCodecs.Detect(head.AsSpan(0, n), m.Path); }
        catch (ImageException) { return false; }
        file.Seek(0, SeekOrigin.Begin);
        using var plain = LayerCodecs.Decompress(file, compression);
        var block = new byte[512];
        int got;
        try { got = plain.ReadAtLeast(block, block.Length, throwOnEndOfStream: false); }
        catch (InvalidDataException) { return false; }
        if (got < 512 || !block.AsSpan(257, 5).SequenceEqual("ustar"u8)) return false;
        if (name is { Length: > 0 })
        {
            // ADD archive.tar /dest: the archive's contents go into /dest (a directory).
            Files.MkdirAt(dirFd, name, 0x1ed);
        }
        file.Seek(0, SeekOrigin.Begin);
        using var again = LayerCodecs.Decompress(file, compression);
        using var target = name is { Length: > 0 } ? Files.OpenAt(dirFd, name, O.PATH | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC) : Files.OpenAt(dirFd, ".", O.PATH | O.DIRECTORY | O.CLOEXEC);
        using var unpacker = new LayerUnpacker($"/proc/self/fd/{target.Number}", WhiteoutMode.Apply);
        try
        {
            unpacker.Unpack(again, m.Path);
        }
        catch (ImageException e)
        {
            throw new EngineException($"{c.At}: ADD {m.Path}: {e.Message}");
        }
        return true;
    }

    /// <summary>ADD --checksum=sha256:HEX: the downloaded bytes must have that digest before anything lands (BuildKit takes it for one URL source only).</summary>
    static void VerifyChecksum(CopyInstruction c, string text, List<string> urls, int others, List<CopyItem> items)
    {
        Digest want;
        try { want = Digest.Parse(text, "--checksum"); }
        catch (Oci.SpecException) { throw new EngineException($"{c.At}: ADD --checksum={text}: not a digest (sha256:HEX)"); }
        if (urls.Count != 1 || others != 0) throw new EngineException($"{c.At}: ADD --checksum: takes one URL source, not {urls.Count + others} source(s) of which {urls.Count} URL(s)");
        var data = items[^1].Content!;
        var got = want.Algorithm switch
        {
            "sha256" => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data)),
            "sha384" => "sha384:" + Convert.ToHexStringLower(SHA384.HashData(data)),
            "sha512" => "sha512:" + Convert.ToHexStringLower(SHA512.HashData(data)),
            _ => throw new EngineException($"{c.At}: ADD --checksum={text}: unsupported algorithm {want.Algorithm}"),
        };
        if (got != want.ToString()) throw new EngineException($"{c.At}: ADD {urls[0]}: checksum mismatch: expected {want}, got {got}");
    }

    /// <summary>ADD URL: fetched over http(s) (redirects followed, no credentials), 0600 as docker writes it, its Last-Modified as mtime.</summary>
    static CopyItem Download(CopyInstruction c, string url)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = true, ConnectTimeout = TimeSpan.FromSeconds(30) }) { Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("berth-build");
        try
        {
            using var response = http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).GetAwaiter().GetResult();
            if (response.StatusCode != HttpStatusCode.OK) throw new EngineException($"{c.At}: ADD {url}: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            var bytes = response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            var name = Path.GetFileName(new Uri(url).AbsolutePath.TrimEnd('/'));
            if (name.Length == 0) name = "index.html";
            return new CopyItem(null, name, bytes, 0x180, response.Content.Headers.LastModified);
        }
        catch (HttpRequestException e)
        {
            throw new EngineException($"{c.At}: ADD {url}: {e.Message}");
        }
    }

    /// <summary>What a COPY reads, as one digest: each file's path, mode, size, content or link target (owners too from a stage); mtimes are not part of it.</summary>
    static string InputDigest(Linux.SafeFd root, List<SourceMatch> matches, Func<string, bool>? ignored, bool keepOwners, List<CopyItem> items, string? contextDigest)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (contextDigest is not null) h.AppendData(Encoding.UTF8.GetBytes("context " + contextDigest + "\0"));
        var buffer = new byte[1 << 16];
        void Add(string s) => h.AppendData(Encoding.UTF8.GetBytes(s + "\0"));
        void Entry(Linux.SafeFd dir, string name, string rel)
        {
            var st = Files.Stat(dir, name, follow: false);
            Add($"{rel}\0{st.Mode:x}\0{(keepOwners ? $"{st.Uid}:{st.Gid}" : "")}\0{st.Size}");
            if (st.IsSymlink) Add(Files.ReadLinkAt(dir, name) ?? "");
            else if (st.IsRegular)
            {
                using var fd = Files.OpenAt(dir, name, O.RDONLY | O.NOFOLLOW | O.CLOEXEC);
                int n;
                while ((n = Files.Read(fd, buffer)) > 0) h.AppendData(buffer.AsSpan(0, n));
            }
            else if (st.IsDirectory)
            {
                using var sub = Files.OpenAt(dir, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
                var names = FileSystem.Names(sub, rel);
                names.Sort(StringComparer.Ordinal);
                foreach (var child in names)
                {
                    var childRel = rel.Length == 0 ? child : rel + "/" + child;
                    if (ignored?.Invoke(childRel) == true) continue;
                    Entry(sub, child, childRel);
                }
            }
        }
        foreach (var m in matches)
        {
            Add("source " + m.Pattern + " " + m.Path);
            using var fd = InRoot.Open(root, m.Path.Length == 0 ? "/" : m.Path, O.RDONLY | (m.IsDirectory ? O.DIRECTORY : 0));
            if (m.IsDirectory) Entry(fd, ".", m.Path);
            else
            {
                var st = Files.Fstat(fd);
                Add($"{st.Mode:x}\0{(keepOwners ? $"{st.Uid}:{st.Gid}" : "")}\0{st.Size}");
                int n;
                while ((n = Files.Read(fd, buffer)) > 0) h.AppendData(buffer.AsSpan(0, n));
            }
        }
        foreach (var i in items.Where(i => i.Match is null))
        {
            Add("content " + i.Name);
            h.AppendData(i.Content!);
        }
        return "sha256:" + Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }
}
