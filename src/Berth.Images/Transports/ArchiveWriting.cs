using Berth.Images.Archives;
using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;

namespace Berth.Images.Transports;

/// <summary>
/// The file an archive destination writes: a temporary file beside the target (created new, never
/// through a link planted at its name), renamed over the target only when the image is complete;
/// deleted when the copy fails. Members are streamed into it: a blob whose size is known goes
/// straight in, checked as it passes (a mismatch fails the whole archive); one whose size is not
/// known yet (compressed on the way) is first spooled to an unnamed file beside the archive (where
/// its bytes are going anyway, rather than a /tmp that may be a small tmpfs).
/// </summary>
sealed class ArchiveFile : IDisposable
{
    readonly string _target, _temp;
    readonly FdStream _fd;
    readonly BufferedStream _file;
    bool _done;

    public TarWriter Tar { get; }

    public ArchiveFile(string target)
    {
        _target = Path.GetFullPath(target);
        _temp = $"{_target}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            _fd = new FdStream(FileSystem.CreateNew(_temp, 0x1a4 /* 0644 */), _temp, read: false, write: true);
        }
        catch (LinuxException e)
        {
            // The temporary name is Berth's business; the archive is what could not be written.
            throw new LinuxException(e.Errno, "writing", _target);
        }
        _file = new BufferedStream(_fd, 1 << 16);
        Tar = new TarWriter(_file);
    }

    /// <summary>Writes <paramref name="content"/> as member <paramref name="name"/>, verified against <paramref name="info"/>'s digest and size when it gives them; returns its descriptor.</summary>
    public Descriptor WriteBlob(string name, Stream content, Descriptor info, Func<Digest, string>? nameOf = null)
    {
        if (info.Digest is { } text && info.Size is { } size)
        {
            var d = Digest.Parse(text, "descriptor.digest");
            Tar.WriteFile(nameOf?.Invoke(d) ?? name, size, new VerifyingStream(content, d, size));
            return new Descriptor { MediaType = info.MediaType, Digest = text, Size = size };
        }
        using var spool = LayoutFiles.AsStream(VerifiedBlob.ScratchFile(Path.GetDirectoryName(_target)!), $"the spool beside {_target}", write: true);
        using var hashing = new Layers.HashingStream(content, "sha256", leaveOpen: true);
        hashing.CopyTo(spool, 1 << 16);
        spool.Position = 0;
        var digest = hashing.Digest;
        Tar.WriteFile(nameOf?.Invoke(digest) ?? name, spool.Length, spool);
        return new Descriptor { MediaType = info.MediaType, Digest = digest.ToString(), Size = spool.Length };
    }

    public void Commit()
    {
        Tar.Finish();
        _file.Flush();
        _fd.Sync();
        _file.Dispose();
        FileSystem.Rename(_temp, _target);
        _done = true;
    }

    public void Dispose()
    {
        _file.Dispose();
        if (!_done) FileSystem.TryDelete(_temp);
    }
}

/// <summary>
/// oci-archive: written as a stream: "oci-layout", the blobs as they come, then — when an archive
/// was there — its other blobs, and index.json last, with the archive's other images kept beside
/// the new one (a name already there moves to the new image).
/// </summary>
public sealed class OciArchiveDestination : IImageDestination
{
    readonly string _name;
    readonly ArchiveFile _out;
    readonly ArchiveLayoutReader? _existing;
    readonly HashSet<string> _written = new(StringComparer.Ordinal);
    Descriptor? _top;

    public OciArchiveDestination(ImageReference reference, string path, string name)
    {
        Reference = reference;
        _name = name;
        _existing = File.Exists(path) ? OciArchiveTransport.Read(path) : null;
        try
        {
            _out = new ArchiveFile(path);
            _out.Tar.WriteFile("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8);
        }
        catch
        {
            _existing?.Dispose();
            throw;
        }
    }

    public ImageReference Reference { get; }
    public LayerCompressionWish DesiredLayerCompression => LayerCompressionWish.Compress;
    public IReadOnlyList<string>? SupportedManifestTypes => null;
    public bool HasThreadSafePutBlob => false;

    public Descriptor? TryReusingBlob(Descriptor blob)
    {
        var d = Digest.Parse(blob.Digest ?? "", "descriptor.digest");
        // A blob of the archive being replaced is carried over at Commit.
        bool there = _written.Contains(d.ToString()) || _existing?.HasBlob(d) == true;
        return there ? new Descriptor { MediaType = blob.MediaType, Digest = blob.Digest, Size = blob.Size } : null;
    }

    public Descriptor PutBlob(Stream content, Descriptor info, bool isConfig = false)
    {
        if (info.Digest is { } known && TryReusingBlob(info) is { } there) return there;
        var stored = _out.WriteBlob("", content, info, ArchiveLayoutReader.MemberOf);
        _written.Add(stored.Digest!);
        return stored;
    }

    public void PutManifest(RawManifest manifest, Digest? instance = null)
    {
        var stored = PutBlob(new MemoryStream(manifest.Bytes), new Descriptor { MediaType = manifest.MediaType, Digest = manifest.Digest.ToString(), Size = manifest.Bytes.Length });
        if (instance is null) _top = stored;
    }

    public void Commit(Descriptor? entry = null)
    {
        var top = _top ?? throw new InvalidOperationException("Commit before PutManifest");
        var index = _existing?.ReadIndex() ?? new ImageIndex { SchemaVersion = 2, MediaType = MediaTypes.Index };
        index.Manifests ??= new();
        if (_existing is not null)
            foreach (var name in _existing.Tar.Names.Where(n => n.StartsWith("blobs/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList())
            {
                var parts = name.Split('/');
                if (parts.Length != 3 || !_written.Add($"{parts[1]}:{parts[2]}")) continue;
                using var member = _existing.Tar.Open(name)!;
                _out.Tar.WriteFile(name, _existing.Tar.SizeOf(name)!.Value, member);
            }
        index.Manifests.RemoveAll(m => m.Annotations?.GetValueOrDefault(OciLayout.RefName) == _name);
        index.Manifests.Add(new Descriptor
        {
            MediaType = top.MediaType, Digest = top.Digest, Size = top.Size, Platform = entry?.Platform,
            Annotations = new Dictionary<string, string>(entry?.Annotations ?? new()) { [OciLayout.RefName] = _name },
        });
        _out.Tar.WriteFile("index.json", Oci.Json.JsonOut.Document(index));
        _out.Commit();
    }

    public void Dispose()
    {
        _out.Dispose();
        _existing?.Dispose();
    }
}
