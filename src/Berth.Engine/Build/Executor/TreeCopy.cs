using Berth.Linux;

namespace Berth.Engine.Build.Executor;

using Context = Berth.Engine.Build.Context;

/// <summary>A COPY/ADD source matched in a root: the pattern it came from and the path (relative, "" for the root).</summary>
public sealed record SourceMatch(string Pattern, string Path, bool IsDirectory, bool Wildcard);

/// <summary>Who copied files belong to: --chown's ids, or the source's own (null).</summary>
public readonly record struct Owner(uint Uid, uint Gid);

/// <summary>
/// COPY's file work on descriptors: sources matched and walked inside their root (the context or
/// a stage's rootfs, RESOLVE_IN_ROOT, no symlink followed below a named source), written into a
/// directory of the target rootfs opened inside it — nothing in an image can aim a write at the host.
/// </summary>
public static class TreeCopy
{
    public static bool HasGlob(string s) => Context.Glob.HasMeta(s);

    /// <summary>Each pattern's matches (docker: a source that matches nothing is an error).</summary>
    public static List<SourceMatch> Match(SafeFd root, IEnumerable<string> patterns, Func<string, bool>? ignored, string where)
    {
        var result = new List<SourceMatch>();
        foreach (var pattern in patterns)
        {
            var clean = Clean(pattern);
            if (clean.StartsWith("../") || clean == "..") throw new EngineException($"source \"{pattern}\": outside the {where}");
            if (!HasGlob(clean))
            {
                var rel = clean == "." ? "" : clean;
                if (!InRootExists(root, rel))
                    throw new EngineException($"source \"{pattern}\": no such file or directory in the {where}");
                result.Add(new SourceMatch(pattern, rel, IsDir(root, rel), false));
                continue;
            }
            var found = new List<string>();
            Glob(root, "", clean.Split('/', StringSplitOptions.RemoveEmptyEntries), 0, found);
            found.RemoveAll(f => ignored?.Invoke(f) == true);
            if (found.Count == 0) throw new EngineException($"source \"{pattern}\": no file matches it in the {where}");
            found.Sort(StringComparer.Ordinal);
            result.AddRange(found.Select(f => new SourceMatch(pattern, f, IsDir(root, f), true)));
        }
        return result;
    }

    static bool InRootExists(SafeFd root, string rel)
    {
        if (rel.Length == 0) return true;
        if (!InRoot.TryOpen(root, rel, out var fd)) return false;
        fd!.Dispose();
        return true;
    }

    static bool IsDir(SafeFd root, string rel)
    {
        using var fd = InRoot.Open(root, rel.Length == 0 ? "/" : rel);
        return Files.Fstat(fd).IsDirectory;
    }

    /// <summary>"./a//b/" → "a/b"; "/" and "." → ".".</summary>
    public static string Clean(string p)
    {
        var parts = new List<string>();
        foreach (var seg in p.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (seg == ".") continue;
            if (seg == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else if (seg == ".." && p.StartsWith('/')) continue;
            else parts.Add(seg);
        }
        return parts.Count == 0 ? "." : string.Join('/', parts);
    }

    static void Glob(SafeFd root, string prefix, string[] segs, int i, List<string> found)
    {
        if (i == segs.Length)
        {
            found.Add(prefix);
            return;
        }
        if (!HasGlob(segs[i]))
        {
            var next = prefix.Length == 0 ? segs[i] : prefix + "/" + segs[i];
            if (InRootExists(root, next)) Glob(root, next, segs, i + 1, found);
            return;
        }
        SafeFd dir;
        try { dir = InRoot.Open(root, prefix.Length == 0 ? "/" : prefix, O.RDONLY | O.DIRECTORY); }
        catch (LinuxException) { return; }
        using (dir)
            foreach (var name in FileSystem.Names(dir, prefix))
                if (GlobMatch(segs[i], name)) Glob(root, prefix.Length == 0 ? name : prefix + "/" + name, segs, i + 1, found);
    }

    /// <summary>Go's filepath.Match for one path element (Build/Context's Glob, the one implementation).</summary>
    public static bool GlobMatch(string pattern, string name) => Context.Glob.Match(pattern, name);

    /// <summary>How a copy sets what it writes.</summary>
    public sealed record Options(Owner? Chown, uint? Chmod, Func<string, bool>? Ignored, DateTimeOffset? Mtime = null);

    /// <summary>
    /// Copies <paramref name="src"/> (from <paramref name="srcRoot"/>) to <paramref name="name"/>
    /// in <paramref name="dstDir"/>: a file as that name, a directory's contents into it (made).
    /// </summary>
    public static void CopyInto(SafeFd srcRoot, SourceMatch src, SafeFd dstDir, string name, Options o)
    {
        // A named source is followed when it is a symlink (docker copies the target); below it, links are copied as links.
        using var fd = InRoot.Open(srcRoot, src.Path.Length == 0 ? "/" : src.Path, O.RDONLY | (src.IsDirectory ? O.DIRECTORY : 0));
        var st = Files.Fstat(fd);
        if (st.IsDirectory)
        {
            using var target = MakeDir(dstDir, name, st, o);
            CopyDirectory(fd, src.Path, target, o);
            // Into an existing destination directory ("."): its own mode and owner stay.
            if (name != ".") FinishDir(target, st, o);
        }
        else CopyFile(fd, st, dstDir, name, o);
    }

    /// <summary>Writes <paramref name="content"/> as a file (a COPY here-document, an ADD URL), 0644 unless --chmod.</summary>
    public static void WriteFile(SafeFd dstDir, string name, ReadOnlySpan<byte> content, Options o, uint mode = 0x1a4)
    {
        RemoveExisting(dstDir, name, keepDirectory: false);
        using var fd = Files.OpenAt(dstDir, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0x180);
        Files.WriteAll(fd, content, name);
        var owner = o.Chown ?? new Owner(0, 0);
        FileMeta.Chown(fd, owner.Uid, owner.Gid);
        FileMeta.Chmod(fd, o.Chmod ?? mode);
        if (o.Mtime is { } t) FileMeta.SetTimes(fd, t);
    }

    static void CopyDirectory(SafeFd from, string rel, SafeFd to, Options o)
    {
        var names = FileSystem.Names(from, rel);
        names.Sort(StringComparer.Ordinal);
        foreach (var child in names)
        {
            var childRel = rel.Length == 0 ? child : rel + "/" + child;
            if (o.Ignored?.Invoke(childRel) == true) continue;
            var st = Files.Stat(from, child, follow: false);
            switch (st.Mode & FileStat.S_IFMT)
            {
                case FileStat.S_IFDIR:
                {
                    using var sub = Files.OpenAt(from, child, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
                    using var target = MakeDir(to, child, st, o);
                    CopyDirectory(sub, childRel, target, o);
                    FinishDir(target, st, o);
                    break;
                }
                case FileStat.S_IFREG:
                {
                    using var f = Files.OpenAt(from, child, O.RDONLY | O.NOFOLLOW | O.CLOEXEC);
                    CopyFile(f, st, to, child, o);
                    break;
                }
                case FileStat.S_IFLNK:
                {
                    var link = Files.ReadLinkAt(from, child) ?? throw new EngineException($"readlink {childRel} failed");
                    RemoveExisting(to, child, keepDirectory: false);
                    Files.SymlinkAt(link, to, child);
                    var owner = o.Chown ?? new Owner(st.Uid, st.Gid);
                    FileMeta.ChownAt(to, child, owner.Uid, owner.Gid);
                    using var l = Files.OpenAt(from, child, O.PATH | O.NOFOLLOW | O.CLOEXEC);
                    FileMeta.SetTimesAt(to, child, o.Mtime ?? FileCopy.ModificationTime(l));
                    break;
                }
                case FileStat.S_IFCHR or FileStat.S_IFBLK or FileStat.S_IFIFO:
                {
                    RemoveExisting(to, child, keepDirectory: false);
                    Files.MknodAt(to, child, st.Mode, st.RdevMajor, st.RdevMinor);
                    var owner = o.Chown ?? new Owner(st.Uid, st.Gid);
                    FileMeta.ChownAt(to, child, owner.Uid, owner.Gid);
                    break;
                }
            }
        }
    }

    static void CopyFile(SafeFd from, FileStat st, SafeFd dir, string name, Options o)
    {
        RemoveExisting(dir, name, keepDirectory: false);
        using var to = Files.OpenAt(dir, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0x180);
        FileCopy.Content(from, to);
        var owner = o.Chown ?? new Owner(st.Uid, st.Gid);
        FileMeta.Chown(to, owner.Uid, owner.Gid);
        // After chown, which clears setuid/setgid bits.
        FileMeta.Chmod(to, o.Chmod ?? (st.Mode & 0xfff));
        FileMeta.SetTimes(to, o.Mtime ?? FileCopy.ModificationTime(from));
    }

    /// <summary>The directory <paramref name="name"/> in <paramref name="dir"/>, made when absent (a file there is replaced).</summary>
    static SafeFd MakeDir(SafeFd dir, string name, FileStat st, Options o)
    {
        if (name == ".") return Files.OpenAt(dir, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC);
        if (Files.TryStat(dir, name, false, out var existing, out _) && !existing.IsDirectory) RemoveExisting(dir, name, keepDirectory: false);
        bool made = Files.MkdirAt(dir, name, 0x1ed);
        var fd = Files.OpenAt(dir, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC);
        if (made)
        {
            var owner = o.Chown ?? new Owner(st.Uid, st.Gid);
            FileMeta.Chown(fd, owner.Uid, owner.Gid);
        }
        return fd;
    }

    static void FinishDir(SafeFd fd, FileStat st, Options o)
    {
        FileMeta.Chmod(fd, o.Chmod ?? (st.Mode & 0xfff));
        if (o.Mtime is { } t) FileMeta.SetTimes(fd, t);
    }

    static void RemoveExisting(SafeFd dir, string name, bool keepDirectory)
    {
        if (!Files.TryStat(dir, name, false, out var st, out _)) return;
        if (st.IsDirectory)
        {
            if (keepDirectory) return;
            FileTree.Remove(dir, name);
        }
        else Files.UnlinkAt(dir, name);
    }
}
