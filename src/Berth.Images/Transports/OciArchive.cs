using System.Formats.Tar;
using Berth.Images.Store;

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
        var temp = Directory.CreateTempSubdirectory("berth-archive-").FullName;
        try
        {
            using var stream = File.OpenRead(file);
            using var reader = new TarReader(stream);
            TarEntry? e;
            while ((e = reader.GetNextEntry()) is not null)
            {
                var name = e.Name.TrimStart('.', '/');
                if (e.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile)) continue;
                // Only a layout's own files, by names that cannot climb out of the directory.
                bool blob = name.StartsWith("blobs/") && name.Split('/') is { Length: 3 } p && p.All(x => x.Length > 0 && x != ".." && x != ".");
                if (!blob && name is not ("oci-layout" or "index.json")) continue;
                var target = Path.Combine(temp, name);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                e.ExtractToFile(target, overwrite: false);
            }
            return new OciArchive(temp, OciLayout.OpenExisting(temp), null);
        }
        catch (Exception ex)
        {
            Directory.Delete(temp, recursive: true);
            if (ex is InvalidDataException or IOException or UnauthorizedAccessException) throw new ImageException($"oci-archive:{file}: {ex.Message}");
            throw;
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
        var temp = Directory.CreateTempSubdirectory("berth-archive-").FullName;
        return new OciArchive(temp, OciLayout.Create(temp), Path.GetFullPath(file));
    }

    public void Commit()
    {
        if (_writeTo is null) throw new InvalidOperationException("archive opened for reading");
        var tmp = _writeTo + $".tmp-{Environment.ProcessId}";
        try
        {
            using (var stream = File.Create(tmp))
            using (var writer = new TarWriter(stream, TarEntryFormat.Pax))
            {
                foreach (var name in new[] { "oci-layout", "index.json" })
                    writer.WriteEntry(Path.Combine(_temp, name), name);
                foreach (var f in Directory.EnumerateFiles(Path.Combine(_temp, "blobs"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                    writer.WriteEntry(f, Path.GetRelativePath(_temp, f));
            }
            File.Move(tmp, _writeTo, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_temp, recursive: true); } catch (IOException) { }
    }
}
