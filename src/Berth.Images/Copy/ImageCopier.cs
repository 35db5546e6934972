using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Images.Copy;

/// <summary>
/// Copies an image from any source to any destination, skopeo copy's loop: the manifest (or, with
/// --all, the index and every image it lists; otherwise the image of one platform), its config
/// and layers — each layer kept as it is when it can be, reused when the destination has it,
/// else streamed through, (de)compressed on the way when the destination or --dest-compress-format
/// asks and --preserve-digests allows — then the manifests, instances before their index, and the
/// name last (Commit). A manifest nothing changed is written as the bytes read, so its digest is
/// the source's. Memory stays bounded: blobs are streams end to end; only documents are held.
/// </summary>
public sealed class ImageCopier
{
    readonly IImageSource _src;
    readonly IImageDestination _dst;
    readonly CopyOptions _o;
    readonly ICopyProgress? _progress;

    ImageCopier(IImageSource src, IImageDestination dst, CopyOptions options)
    {
        _src = src;
        _dst = dst;
        _o = options;
        _progress = options.Progress;
    }

    /// <summary>Copies and commits; returns the descriptor of the top manifest written (an index with --all, else the image's manifest).</summary>
    public static Descriptor Copy(IImageSource src, IImageDestination dst, CopyOptions options)
    {
        if (options.PreserveDigests && options.Format is { } f)
            throw new ImageException($"--preserve-digests with --format {(f == ManifestFormat.Oci ? "oci" : "v2s2")}: a format change alters the digest of the manifest");
        return new ImageCopier(src, dst, options).Run();
    }

    Descriptor Run()
    {
        (_dst as ISourceAware)?.SourceIs(_src);
        var (desc, raw) = ResolvedImage.Top(_src);
        var entry = _src.Entry is { } e ? ManifestConversion.Clone(e) : new Descriptor();
        if (raw.IsIndex && !_o.All)
        {
            // One image, as skopeo copies an index without --all: the platform's, named itself.
            for (int depth = 0; raw.IsIndex; depth++)
            {
                if (depth >= 4) throw new ImageException("indexes nested more than 4 deep");
                var pick = (_o.Platform ?? PlatformSpec.Host).Pick(raw.ParseIndex($"index {desc.Digest}"), $"index {desc.Digest}");
                (desc, raw) = (pick, ResolvedImage.Instance(_src, pick));
            }
            entry.Platform = desc.Platform;
        }
        else if (!raw.IsIndex && !raw.IsManifest)
            throw new ImageException($"manifest {desc.Digest}: media type {Quote.Of(raw.MediaType)} is neither a manifest nor an index");
        if (_o.Policy is { } policy) Admit(policy, raw, depth: 0);
        var written = raw.IsIndex ? CopyIndex(raw, top: true, depth: 0) : CopyManifest(raw, top: true);
        _dst.Commit(entry);
        written.Platform = entry.Platform;
        return written;
    }

    /// <summary>
    /// Every image manifest the copy will write passes the policy before the first blob is written
    /// (containers/image checks each image it copies, not an index): with --all, each instance the
    /// source holds; so a rejected image leaves nothing behind, not even the instances before it.
    /// </summary>
    void Admit(IImagePolicy policy, RawManifest raw, int depth)
    {
        if (!raw.IsIndex)
        {
            policy.Admit(_src, raw);
            return;
        }
        if (depth >= 4) throw new ImageException("indexes nested more than 4 deep");
        foreach (var e in raw.ParseIndex($"index {raw.Digest}").Manifests ?? new())
        {
            if (!MediaTypes.IsIndex(e.MediaType) && !MediaTypes.IsManifest(e.MediaType)) continue;
            Admit(policy, ResolvedImage.Instance(_src, e), depth + 1);
        }
    }

    /// <summary>The format the destination gets: --format, else the source's where the destination takes it, else the destination's first.</summary>
    ManifestFormat TargetFormat(string sourceType, bool index)
    {
        if (_o.Format is { } f) return f;
        var supported = _dst.SupportedManifestTypes;
        if (supported is null || supported.Contains(sourceType)) return ManifestConversion.FormatOf(sourceType);
        if (index && !supported.Any(MediaTypes.IsIndex))
            throw new ImageException($"{_dst.Reference} holds one image, not an index: copy one platform (--platform) without --all");
        var other = ManifestConversion.FormatOf(supported[0]);
        if (_o.PreserveDigests)
            throw new ImageException($"--preserve-digests: {_dst.Reference} stores {ManifestConversion.Name(other)} manifests only, and converting the {ManifestConversion.Name(ManifestConversion.FormatOf(sourceType))} one would alter its digest");
        return other;
    }

    Descriptor CopyIndex(RawManifest raw, bool top, int depth)
    {
        if (depth >= 4) throw new ImageException("indexes nested more than 4 deep");
        var what = $"index {raw.Digest}";
        var format = TargetFormat(raw.MediaType, index: true);
        var index = raw.ParseIndex(what);
        bool changed = false;
        var entries = new List<Descriptor>();
        foreach (var e in index.Manifests ?? new())
        {
            Descriptor copied;
            if (MediaTypes.IsIndex(e.MediaType)) copied = CopyIndex(ResolvedImage.Instance(_src, e), top: false, depth + 1);
            else if (MediaTypes.IsManifest(e.MediaType)) copied = CopyManifest(ResolvedImage.Instance(_src, e), top: false);
            else copied = CopyBlob(e, isConfig: false);
            var next = ManifestConversion.Clone(e);
            (next.MediaType, next.Digest, next.Size) = (copied.MediaType, copied.Digest, copied.Size);
            changed |= next.MediaType != e.MediaType || next.Digest != e.Digest || next.Size != e.Size;
            entries.Add(next);
        }
        RawManifest output = raw;
        if (changed || ManifestConversion.FormatOf(raw.MediaType) != format)
        {
            index.Manifests = entries;
            var converted = ManifestConversion.Convert(index, format, what);
            output = new RawManifest(JsonOut.Document(converted), converted.MediaType ?? ManifestConversion.IndexType(format));
            RefuseChange(what, raw, output);
        }
        _dst.PutManifest(output, top ? null : output.Digest);
        _progress?.ManifestWritten(output.Descriptor, null, top);
        return output.Descriptor;
    }

    Descriptor CopyManifest(RawManifest raw, bool top)
    {
        var what = $"manifest {raw.Digest}";
        var manifest = raw.ParseManifest(what);
        bool image = MediaTypes.IsConfig(manifest.Config!.MediaType);
        var format = TargetFormat(raw.MediaType, index: false);
        // The diff_ids prove a layer whose compression changes, uncompressed on the way.
        List<string>? diffIds = null;
        Platform? platform = null;
        if (image)
        {
            _progress?.BlobStarted(manifest.Config, isConfig: true);
            var configBytes = VerifiedBlob.ReadAll(_src, manifest.Config, "config");
            var config = Documents.ParseConfig(configBytes, $"config {manifest.Config.Digest}");
            diffIds = config.Rootfs?.DiffIds;
            platform = new Platform { Os = config.Os, Architecture = config.Architecture, Variant = config.Variant };
            if (diffIds?.Count != manifest.Layers!.Count)
                throw new ImageException($"{what}: {manifest.Layers!.Count} layers but the config lists {diffIds?.Count ?? 0} diff_ids");
            var reused = _dst.TryReusingBlob(manifest.Config);
            var stored = reused ?? _dst.PutBlob(new MemoryStream(configBytes, writable: false), ManifestConversion.Clone(manifest.Config), isConfig: true);
            _progress?.BlobDone(manifest.Config, stored, reused is null ? BlobOutcome.Copied : BlobOutcome.Skipped, isConfig: true);
        }
        else CopyBlob(manifest.Config, isConfig: true);

        var layers = manifest.Layers!;
        var copies = new Descriptor[layers.Count];
        void One(int i) => copies[i] = image
            ? CopyLayer(layers[i], Digest.Parse(diffIds![i], $"config: rootfs.diff_ids[{i}]"), format, $"layer {layers[i].Digest}")
            : CopyBlob(layers[i], isConfig: false);
        // Layers in parallel where the destination takes concurrent blobs (not an archive, which is one stream):
        // (de)compression is the cost of a copy, and it runs on every core.
        if (_dst.HasThreadSafePutBlob && layers.Count > 1) Parallel(layers.Count, Degree, One);
        else for (int i = 0; i < layers.Count; i++) One(i);
        bool changed = false;
        for (int i = 0; i < layers.Count; i++)
        {
            changed |= copies[i].MediaType != layers[i].MediaType || copies[i].Digest != layers[i].Digest || copies[i].Size != layers[i].Size;
            layers[i] = copies[i];
        }
        RawManifest output = raw;
        if (changed || ManifestConversion.FormatOf(raw.MediaType) != format)
        {
            var converted = ManifestConversion.Convert(manifest, format, what);
            output = new RawManifest(JsonOut.Document(converted), converted.MediaType ?? ManifestConversion.ManifestType(format));
            RefuseChange(what, raw, output);
        }
        _dst.PutManifest(output, top ? null : output.Digest);
        _progress?.ManifestWritten(output.Descriptor, platform, top);
        return output.Descriptor;
    }

    /// <summary>At most this many blobs at once from files: one per core (this VM has 2), and no more than 4, as memory is a few buffers per blob.</summary>
    static readonly int MaxParallel = Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>--image-parallel-copies, else the most a network source or destination wants (its transfers wait on the network, not a core), else <see cref="MaxParallel"/>.</summary>
    int Degree => _o.ParallelBlobs ?? Math.Max(MaxParallel, Math.Max((_src as INetworkBlobs)?.ParallelBlobs ?? 0, (_dst as INetworkBlobs)?.ParallelBlobs ?? 0));

    /// <summary>
    /// <paramref name="body"/> for 0..count-1 on <paramref name="degree"/> threads of the copy's own
    /// (the caller's and new ones), not the thread pool's: a registry's blob is read synchronously
    /// over asynchronous I/O whose completions need pool threads, which a copy must not hold.
    /// After a failure no new blob is started; the first failure is thrown, as a sequential copy would.
    /// </summary>
    static void Parallel(int count, int degree, Action<int> body)
    {
        int next = -1;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        void Work()
        {
            int i;
            while (Volatile.Read(ref failure) is null && (i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }
        var threads = new List<Thread>();
        for (int t = 1; t < Math.Min(degree, count); t++)
        {
            var thread = new Thread(Work) { IsBackground = true, Name = "copy" };
            thread.Start();
            threads.Add(thread);
        }
        Work();
        foreach (var t in threads) t.Join();
        failure?.Throw();
    }

    void RefuseChange(string what, RawManifest before, RawManifest after)
    {
        if (_o.PreserveDigests && before.Digest != after.Digest)
            throw new ImageException($"--preserve-digests: {what} would change (to {after.Digest})");
    }

    /// <summary>A blob as it is: reused when the destination has it, else streamed through (checked on both sides).</summary>
    Descriptor CopyBlob(Descriptor blob, bool isConfig)
    {
        _progress?.BlobStarted(blob, isConfig);
        if (_dst.TryReusingBlob(blob) is { } there) return Skipped(blob, there, isConfig);
        // A foreign layer lives at its URLs: a source without it copies the descriptor alone.
        if (blob.Urls is { Count: > 0 } && !_src.HasBlob(blob)) return Skipped(blob, blob, isConfig);
        using var content = GetBlob(blob);
        return Copied(blob, Keep(blob, _dst.PutBlob(content, ManifestConversion.Clone(blob), isConfig)), isConfig);
    }

    Stream GetBlob(Descriptor blob) => _progress is { } p ? new ProgressStream(_src.GetBlob(blob), blob, p) : _src.GetBlob(blob);

    Descriptor Skipped(Descriptor blob, Descriptor there, bool isConfig = false)
    {
        var kept = Keep(blob, there);
        _progress?.BlobDone(blob, kept, BlobOutcome.Skipped, isConfig);
        return kept;
    }

    Descriptor Copied(Descriptor blob, Descriptor stored, bool isConfig = false)
    {
        _progress?.BlobDone(blob, stored, BlobOutcome.Copied, isConfig);
        return stored;
    }

    static Descriptor Keep(Descriptor original, Descriptor stored)
    {
        var d = ManifestConversion.Clone(original);
        (d.Digest, d.Size) = (stored.Digest, stored.Size);
        return d;
    }

    /// <summary>The compression a layer should have at the destination, given the compression it has.</summary>
    LayerCompression Wanted(LayerCompression has)
    {
        if (_o.DestCompressFormat is { } asked) return asked;
        return _dst.DesiredLayerCompression switch
        {
            LayerCompressionWish.Compress => has == LayerCompression.None ? LayerCompression.Gzip : has,
            LayerCompressionWish.Decompress => LayerCompression.None,
            _ => has,
        };
    }

    Descriptor CopyLayer(Descriptor layer, Digest diffId, ManifestFormat format, string what)
    {
        var declared = MediaTypes.CompressionOf(layer.MediaType);
        if (declared is null || (layer.Urls is { Count: > 0 } && !_src.HasBlob(layer)))
        {
            // Not a layer type Berth knows, or a foreign layer elsewhere: copied as it is.
            var kept = CopyBlob(layer, isConfig: false);
            kept.MediaType = ManifestConversion.LayerType(layer.MediaType!, format, what);
            return kept;
        }
        // Its type in the destination's format with the compression it will have there.
        Descriptor Typed(LayerCompression c)
        {
            var typed = ManifestConversion.Clone(layer);
            typed.MediaType = ManifestConversion.LayerType(layer.MediaType!, format, c, what);
            return typed;
        }
        _progress?.BlobStarted(layer, isConfig: false);
        if (Wanted(declared.Value) == declared && _dst.TryReusingBlob(layer) is { } there) return Skipped(layer, Keep(Typed(declared.Value), there));

        var blob = new PeekedStream(GetBlob(layer), LayerCodecs.MagicBytes);
        try
        {
            // The bytes say what the blob is (a docker-archive's layers are uncompressed under a gzip type).
            var actual = LayerCodecs.Detect(blob.Head, what);
            var want = Wanted(actual);
            if (want == actual || _o.PreserveDigests)
            {
                if (want != actual && _o.DestCompressFormat is { } asked)
                    throw new ImageException($"--preserve-digests: {what} is {LayerCodecs.Name(actual)}, and compressing it with {LayerCodecs.Name(asked)} would alter its digest");
                // Named for what it holds, as containers/image does, unless no digest may change.
                var typed = Typed(_o.PreserveDigests ? declared.Value : actual);
                return Copied(layer, Keep(typed, _dst.PutBlob(blob, ManifestConversion.Clone(layer))));
            }
            // Changed: through the decompressor, proved against the diff_id, into the compressor.
            var info = Typed(want);
            (info.Digest, info.Size) = (null, null);
            var tar = new HashingStream(LayerCodecs.Decompress(blob, actual), diffId.Algorithm, diffId, drain: blob, what: what);
            using var output = LayerCodecs.Compress(tar, want, _o.DestCompressLevel);
            // zstd:chunked metadata describes the old blob.
            info.Annotations?.Keys.Where(k => k.StartsWith("io.github.containers.zstd-chunked.", StringComparison.Ordinal)).ToList().ForEach(k => info.Annotations.Remove(k));
            if (info.Annotations is { Count: 0 }) info.Annotations = null;
            Descriptor stored;
            try
            {
                stored = _dst.PutBlob(output, info);
            }
            catch (Exception e) when (e is InvalidDataException || (e is ImageException && e.Message.StartsWith("zstd:", StringComparison.Ordinal)))
            {
                // Decompressed as it streams in, the blob meets the decompressor before its digest is
                // checked at its end: a blob that is not the one named says so, rather than its codec.
                var sink = new byte[1 << 16];
                while (blob.Read(sink) > 0) { }
                throw new ImageException($"{what}: the {LayerCodecs.Name(actual)} data is corrupt ({e.Message.TrimEnd('.')})", e);
            }
            (info.Digest, info.Size) = (stored.Digest, stored.Size);
            return Copied(layer, info);
        }
        finally
        {
            blob.Dispose();
        }
    }
}
