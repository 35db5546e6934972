using Berth.Linux;

namespace Berth.Engine.Build.Context;

/// <summary>
/// A build's context directory as the builder sees it: the files under it less what
/// .containerignore (else .dockerignore) leaves out. Every read is resolved inside the context
/// (openat2 RESOLVE_IN_ROOT; NO_SYMLINKS once a source's real path is known), so neither a
/// symlink in the context nor a "../" source reaches the host. The ignore file and the
/// Containerfile stay readable whatever the patterns say (docker sends both).
/// </summary>
public sealed class BuildContext : IDisposable
{
    public const string ContainerIgnore = ".containerignore", DockerIgnore = ".dockerignore";
    const long MaxIgnoreBytes = 1 << 20;

    readonly SafeFd _root;
    readonly string _realRoot;

    /// <summary>The context directory, a full path.</summary>
    public string Root { get; }

    public IgnorePatterns Ignore { get; }

    /// <summary>The ignore file read (".containerignore", ".dockerignore"), or null.</summary>
    public string? IgnoreFile { get; }

    BuildContext(string root, SafeFd fd, string realRoot, IgnorePatterns ignore, string? ignoreFile)
    {
        Root = root;
        _root = fd;
        _realRoot = realRoot;
        Ignore = ignore;
        IgnoreFile = ignoreFile;
    }

    public static BuildContext Open(string dir)
    {
        var root = Path.GetFullPath(dir);
        SafeFd fd;
        try
        {
            fd = Files.Open(root, O.PATH | O.DIRECTORY);
        }
        catch (LinuxException e)
        {
            throw new EngineException(e.Errno == Errno.ENOTDIR ? $"build context {root}: not a directory" : $"build context {root}: {Errnos.Describe(e.Errno)}");
        }
        try
        {
            var real = Files.ReadLinkAt(null, fd.ProcPath) ?? root;
            var ctx = new BuildContext(root, fd, real, IgnorePatterns.None, null);
            foreach (var name in new[] { ContainerIgnore, DockerIgnore })
                if (ctx.TryReadFile(name, MaxIgnoreBytes) is { } bytes)
                {
                    var patterns = IgnorePatterns.Parse(System.Text.Encoding.UTF8.GetString(bytes), Path.Combine(root, name));
                    return new BuildContext(root, fd, real, patterns, name);
                }
            return ctx;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    public void Dispose() => _root.Dispose();

    /// <summary>Whether the ignore file leaves <paramref name="path"/> (relative to the context) out.</summary>
    public bool IsIgnored(string path) => Ignore.IsIgnored(IgnorePatterns.Clean(path).TrimStart('/'));

    /// <summary>A regular file of the context (the Containerfile, a heredoc's neighbour), ignored or not, at most <paramref name="max"/> bytes.</summary>
    public byte[] ReadFile(string path, long max) =>
        TryReadFile(path, max) ?? throw new EngineException($"{Path.Combine(Root, path)}: no such file in the build context");

    public byte[]? TryReadFile(string path, long max)
    {
        SafeFd fd;
        try
        {
            fd = InRoot.Open(_root, path, O.RDONLY | O.NONBLOCK | O.NOCTTY);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return null;
        }
        catch (LinuxException e)
        {
            throw new EngineException($"{Path.Combine(Root, path)}: {Errnos.Describe(e.Errno)}");
        }
        using (fd) return ReadAll(fd, Path.Combine(Root, path), max);
    }

    static byte[] ReadAll(SafeFd fd, string what, long max)
    {
        var st = Files.Fstat(fd);
        if (!st.IsRegular) throw new EngineException($"{what}: is {RegularFile.Describe(st.Mode)}, not a regular file");
        if ((long)st.Size > max) throw new EngineException($"{what}: larger than {max} bytes");
        var ms = new MemoryStream((int)st.Size);
        var buffer = new byte[1 << 16];
        int n;
        while ((n = Files.Read(fd, buffer)) > 0)
        {
            ms.Write(buffer, 0, n);
            if (ms.Length > max) throw new EngineException($"{what}: larger than {max} bytes");
        }
        return ms.ToArray();
    }

    /// <summary>
    /// The files and directories a COPY/ADD source list selects, by docker's rules: a source is
    /// relative to the context (a leading '/' is the context's root); one with `*`, `?` or `[`
    /// is matched with Go's filepath.Match one path element at a time; a directory brings what
    /// is under it; the last element of a source may be a symlink, followed inside the context.
    /// Ignored files are not in the context. A source that names nothing is an error.
    /// </summary>
    public ContextMatch Match(IEnumerable<string> sources, string instruction = "COPY")
    {
        var matched = new List<MatchedSource>();
        var entries = new List<ContextEntry>();
        foreach (var source in sources)
        {
            var clean = IgnorePatterns.Clean(source.StartsWith('/') ? source.TrimStart('/') : source);
            if (clean == ".." || clean.StartsWith("../", StringComparison.Ordinal))
                throw new EngineException($"{instruction} source \"{source}\" is outside the build context");
            var candidates = Glob.HasMeta(clean) ? Expand(clean) : new List<string> { clean == "." ? "" : clean };
            int before = matched.Count;
            foreach (var candidate in candidates)
                if (RealPath(candidate, source) is { } m)
                {
                    var ms = new MatchedSource(source, m.Path, m.Stat.IsDirectory, Path.Combine(Root, m.Path), Glob.HasMeta(clean));
                    matched.Add(ms);
                    entries.Add(new ContextEntry(ms, "", m.Stat, null));
                    if (m.Stat.IsDirectory) Walk(ms, entries);
                }
            if (matched.Count == before) throw new EngineException($"{instruction} source \"{source}\" not found in context");
        }
        return new ContextMatch(this, matched, entries);
    }

    /// <summary>The paths a glob source names, element by element (filepath.Glob), ignored ones left out.</summary>
    List<string> Expand(string pattern)
    {
        var current = new List<string> { "" };
        var parts = pattern.Split('/');
        for (int i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            var next = new List<string>();
            foreach (var dir in current)
            {
                if (!Glob.HasMeta(part))
                {
                    next.Add(Join(dir, part));
                    continue;
                }
                Glob.Match(part, "");  // a malformed pattern fails even where no directory is read
                SafeFd fd;
                try
                {
                    fd = InRoot.Open(_root, dir.Length == 0 ? "." : dir, O.RDONLY | O.DIRECTORY);
                }
                catch (LinuxException)
                {
                    continue;
                }
                using (fd)
                {
                    var names = FileSystem.Names(fd, Path.Combine(Root, dir));
                    names.Sort(string.CompareOrdinal);
                    foreach (var name in names)
                        if (Glob.Match(part, name) && !(Ignore.IsIgnored(Join(dir, name)) && !Ignore.HasExceptions))
                            next.Add(Join(dir, name));
                }
            }
            current = next;
        }
        return current;
    }

    static string Join(string dir, string name) => dir.Length == 0 ? name : dir + "/" + name;

    /// <summary>The real path (inside the context, no symlink on it) and stat of a source; null when absent or ignored.</summary>
    (string Path, FileStat Stat)? RealPath(string path, string source)
    {
        SafeFd fd;
        try
        {
            fd = InRoot.Open(_root, path.Length == 0 ? "." : path, O.PATH);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR or Errno.ELOOP)
        {
            return null;
        }
        catch (LinuxException e)
        {
            throw new EngineException($"COPY source \"{source}\": {e.Message}");
        }
        using (fd)
        {
            var real = Files.ReadLinkAt(null, fd.ProcPath) ?? throw new EngineException($"COPY source \"{source}\": its path cannot be read back");
            string rel;
            if (real == _realRoot) rel = "";
            else if (real.StartsWith(_realRoot.TrimEnd('/') + "/", StringComparison.Ordinal)) rel = real[(_realRoot.TrimEnd('/').Length + 1)..];
            else throw new EngineException($"COPY source \"{source}\" is outside the build context");
            var st = Files.Fstat(fd);
            if (rel.Length > 0 && Ignore.IsIgnored(rel) && !(st.IsDirectory && Ignore.HasExceptions)) return null;
            return (rel, st);
        }
    }

    /// <summary>What is under a directory source, depth first in byte order of names, ignored files left out.</summary>
    void Walk(MatchedSource source, List<ContextEntry> entries)
    {
        SafeFd dir;
        try
        {
            dir = Files.OpenAt2(_root, source.Path.Length == 0 ? "." : source.Path, O.RDONLY | O.DIRECTORY, Berth.Linux.Resolve.InRoot | Berth.Linux.Resolve.NoSymlinks);
        }
        catch (LinuxException e)
        {
            throw new EngineException($"build context {Path.Combine(Root, source.Path)}: {Errnos.Describe(e.Errno)}");
        }
        using (dir) Walk(source, dir, source.Path, "", entries);
    }

    /// <summary>Returns whether anything under the directory was kept (an ignored directory is kept only for a kept file inside).</summary>
    bool Walk(MatchedSource source, SafeFd dir, string path, string relative, List<ContextEntry> entries)
    {
        bool any = false;
        var names = FileSystem.Names(dir, Path.Combine(Root, path));
        names.Sort(string.CompareOrdinal);
        foreach (var name in names)
        {
            var childPath = Join(path, name);
            var childRelative = Join(relative, name);
            if (!Files.TryStat(dir, name, follow: false, out var st, out int errno))
            {
                if (errno == Errno.ENOENT) continue;
                throw new EngineException($"build context {Path.Combine(Root, childPath)}: {Errnos.Describe(errno)}");
            }
            bool ignored = Ignore.IsIgnored(childPath);
            if (st.IsDirectory)
            {
                if (ignored && !Ignore.HasExceptions) continue;
                int at = entries.Count;
                entries.Add(new ContextEntry(source, childRelative, st, null));
                bool kept;
                using (var sub = Files.OpenAt(dir, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW))
                    kept = Walk(source, sub, childPath, childRelative, entries);
                if (ignored && !kept) entries.RemoveAt(at);
                else any = true;
                continue;
            }
            if (ignored) continue;
            entries.Add(new ContextEntry(source, childRelative, st, st.IsSymlink ? Files.ReadLinkAt(dir, name) : null));
            any = true;
        }
        return any;
    }

    /// <summary>A regular file of a match opened for reading: resolved inside the context with no symlink on its way.</summary>
    public SafeFd OpenRead(ContextEntry entry) => OpenRead(entry.ContextPath);

    internal SafeFd OpenRead(string contextPath)
    {
        try
        {
            return Files.OpenAt2(_root, contextPath.Length == 0 ? "." : contextPath, O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.NOCTTY,
                Berth.Linux.Resolve.InRoot | Berth.Linux.Resolve.NoSymlinks);
        }
        catch (LinuxException e)
        {
            throw new EngineException($"build context {Path.Combine(Root, contextPath)}: {Errnos.Describe(e.Errno)} (it changed during the build)");
        }
    }
}

/// <summary>
/// One source of a COPY/ADD as matched: the pattern written, the real path it named (relative to
/// the context, "" its root; <see cref="FullPath"/> on the host, for messages: read through
/// <see cref="BuildContext.OpenRead"/>), and whether the pattern was a wildcard (docker: then
/// the destination is a directory).
/// </summary>
public sealed record MatchedSource(string Pattern, string Path, bool IsDirectory, string FullPath, bool IsWildcard);

/// <summary>
/// A file, directory or symlink a match selects: <see cref="Relative"/> is its path under its
/// source ("" for the source itself), <see cref="Stat"/> as it was when matched (a symlink's own,
/// except for a source named through one), <see cref="LinkTarget"/> a symlink's target.
/// </summary>
public sealed record ContextEntry(MatchedSource Source, string Relative, FileStat Stat, string? LinkTarget)
{
    /// <summary>The path relative to the context.</summary>
    public string ContextPath => Relative.Length == 0 ? Source.Path : Source.Path.Length == 0 ? Relative : Source.Path + "/" + Relative;
}
