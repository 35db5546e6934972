using System.Formats.Tar;
using Berth.Images.Store;
using Berth.Linux;

namespace Berth.Images.Transports;

/// <summary>
/// oci-archive: a tarball of an image layout. Read by extracting the layout's own files (and
/// nothing else) into a temporary directory; written by building a layout there and packing it.
/// </summary>
public sealed class OciArchive : IDisposable
{
    public OciLayout Layout { get; }
    readonly string _temp;
    readonly string? _writeTo;

    OciArchive(string temp, OciLayout layout, string? writeTo)
    {
        _temp = temp;
        Layout = layout;
        _writeTo = writeTo;
    }

    public static OciArchive OpenRead(string file)
    {
        // 0700: the layout's blobs are read from here, trusted as only this user can write them.
        var temp = FileSystem.CreateTempDirectory("berth-archive-");
        try
        {
            using var stream = LayoutFiles.OpenUserFile(file);
            var reader = new Layers.Tar.TarReader(stream);
            var buffer = new byte[1 << 16];
            while (reader.Next() is { } e)
            {
                if (e.Type != Layers.Tar.TarType.Regular) continue;
                // Only a layout's own files, by names that cannot climb out of the directory.
                var name = Layers.LayerUnpacker.Normalize(e.Name);
                var parts = name.Split('/');
                bool blob = parts.Length == 3 && parts[0] == "blobs" && IsDigest(parts[1], parts[2]);
                if (!blob && name is not ("oci-layout" or "index.json")) continue;
                var target = Path.Combine(temp, name);
                FileSystem.CreateDirectory(Path.GetDirectoryName(target)!);
                using var output = new FdStream(FileSystem.CreateNew(target), target, read: false, write: true);
                int n;
                while ((n = reader.Data.Read(buffer)) > 0) output.Write(buffer, 0, n);
            }
            return new OciArchive(temp, OciLayout.OpenExisting(temp, isPrivate: true), null);
        }
        catch (Exception ex)
        {
            FileTree.Remove(temp);
            if (ex is ImageException or LinuxException) throw new ImageException($"oci-archive:{file}: {ex.Message}", ex);
            throw;
        }
    }

    static bool IsDigest(string algorithm, string encoded)
    {
        try
        {
            Oci.Image.Digest.Parse($"{algorithm}:{encoded}");
            return true;
        }
        catch (Oci.SpecException)
        {
            return false;
        }
    }

    /// <summary>A layout to fill; Commit packs it into <paramref name="file"/> (atomically, through a temporary name).</summary>
    public static OciArchive OpenWrite(string file)
    {
        // An existing archive keeps its other images: its unpacked layout is the one to fill.
        if (File.Exists(file))
        {
            var existing = OpenRead(file);
            return new OciArchive(existing._temp, existing.Layout, Path.GetFullPath(file));
        }
        var temp = FileSystem.CreateTempDirectory("berth-archive-");
        return new OciArchive(temp, OciLayout.Create(temp), Path.GetFullPath(file));
    }

    public void Commit()
    {
        if (_writeTo is null) throw new InvalidOperationException("archive opened for reading");
        var tmp = _writeTo + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            // CreateNew: never through a link planted at the temporary name.
            using (var stream = LayoutFiles.AsStream(FileSystem.CreateNew(tmp, 0x1a4 /* 0644 */), tmp, write: true))
            using (var writer = new TarWriter(stream, TarEntryFormat.Pax))
            {
                foreach (var name in new[] { "oci-layout", "index.json" })
                    WriteFile(writer, name);
                var blobs = Path.Combine(_temp, "blobs");
                foreach (var alg in FileSystem.Directories(blobs).Order(StringComparer.Ordinal))
                    foreach (var blob in FileSystem.NonDirectories(Path.Combine(blobs, alg)).Order(StringComparer.Ordinal))
                        WriteFile(writer, $"blobs/{alg}/{blob}");
            }
            FileSystem.Rename(tmp, _writeTo);
        }
        catch (LinuxException e)
        {
            FileSystem.TryDelete(tmp);
            // Whichever step failed (the temporary file beside it, a layout file), it was this archive being written.
            throw e.Detail is null ? new LinuxException(e.Errno, "writing", _writeTo) : new LinuxException(e.Errno, "writing", _writeTo, e.Detail);
        }
        catch
        {
            FileSystem.TryDelete(tmp);
            throw;
        }
    }

    /// <summary>One file of the layout as a tar entry: its bytes, mode and mtime (owner root, as a layout needs none).</summary>
    void WriteFile(TarWriter writer, string name)
    {
        var path = Path.Combine(_temp, name);
        using var fd = Files.Open(path, O.RDONLY | O.NOFOLLOW);
        var st = Files.Fstat(fd);
        var mtime = FileCopy.ModificationTime(fd);
        using var data = LayoutFiles.AsStream(fd, path);
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = (UnixFileMode)(st.Mode & 0xfff),
            ModificationTime = mtime,
            DataStream = data,
        });
    }

    public void Dispose()
    {
        try { FileTree.Remove(_temp); } catch (LinuxException) { }
    }
}
