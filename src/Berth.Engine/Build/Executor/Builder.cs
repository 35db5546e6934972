using System.Text;
using Berth.Engine.Build.Cache;
using Berth.Engine.Build.Stages;
using Berth.Engine.Build.Syntax;
using Berth.Images;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Engine.Build.Executor;

/// <summary>
/// `berth build` (buildah's job): the Containerfile parsed, the stages the target needs built —
/// independent ones at once, up to <see cref="BuildOptions.Jobs"/> — each step keyed in the
/// cache, RUN steps as containers of Berth's runtime, every layer written once into the store
/// through one leased destination. The image is named only when every stage succeeded; a
/// failure leaves no image, container, mount or directory behind.
/// </summary>
public sealed partial class Builder
{
    /// <summary>ARGs docker and buildah define without an ARG instruction (proxies: from --build-arg only, never in history).</summary>
    public static readonly string[] ProxyArgs =
        { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy" };

    readonly EngineSettings _settings;
    readonly ImageService _images;
    readonly BuildOptions _o;
    /// <summary>The step cache; null with --layers=false.</summary>
    readonly BuildCache? _cache;
    readonly string _buildDir;
    readonly PlatformSpec _platform;
    readonly Dictionary<string, string?> _platformArgs;
    readonly Dictionary<string, string?> _metaArgs = new();
    readonly object _logLock = new();
    readonly Dictionary<string, ImageState> _bases = new();
    /// <summary>Every image the build read (FROM, COPY --from), by name and manifest digest: provenance's resolved dependencies.</summary>
    readonly List<(string Name, string Digest)> _baseImages = new();
    Containerfile _file = null!;
    StageGraph _graph = null!;
    ShellLex _lex = null!;
    IImageDestination _dst = null!;
    readonly Dictionary<int, Task<ImageState>> _stageTasks = new();
    readonly CancellationTokenSource _failed = new();

    public Builder(EngineSettings settings, BuildOptions o)
    {
        _settings = settings;
        _o = o;
        _images = new ImageService(settings.ImagesRoot, o.Registries);
        _cache = o.Layers ? new BuildCache(settings.ImagesRoot) : null;
        _buildDir = Path.Combine(settings.StoreRoot, "build", Guid.NewGuid().ToString("N")[..16]);
        _platform = o.Platform is { } p ? PlatformSpec.Parse(p) : PlatformSpec.Host;
        var host = PlatformSpec.Host;
        _platformArgs = new()
        {
            ["TARGETPLATFORM"] = _platform.ToString(), ["TARGETOS"] = _platform.Os, ["TARGETARCH"] = _platform.Architecture, ["TARGETVARIANT"] = _platform.Variant ?? "",
            ["BUILDPLATFORM"] = host.ToString(), ["BUILDOS"] = host.Os, ["BUILDARCH"] = host.Architecture, ["BUILDVARIANT"] = host.Variant ?? "",
        };
    }

    public ImageService Images => _images;

    void Log(string line)
    {
        lock (_logLock) _o.Log(line);
    }

    BuildTimestamp? Timestamp => _o.Timestamp is { } t ? new BuildTimestamp(t) : null;

    string Created => Timestamp?.Created ?? DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");

    string ExpandMeta(string word)
    {
        try
        {
            return _lex.ProcessWord(word, n => _metaArgs.TryGetValue(n, out var v) ? v : _platformArgs.GetValueOrDefault(n));
        }
        catch (FormatException e)
        {
            throw new EngineException($"\"{word}\": {e.Message}");
        }
    }

    public BuildResult Build()
    {
        _file = Parser.Parse(_o.FileText, _o.File);
        _lex = new ShellLex(_file.Escape);
        // ARGs before the first FROM: visible in FROM lines, and in a stage that declares them again.
        foreach (var a in _file.Instructions.TakeWhile(i => i is not FromInstruction).OfType<ArgInstruction>())
            foreach (var (name, def) in a.Args)
                _metaArgs[name] = _o.BuildArgs.TryGetValue(name, out var given) ? given : def is null ? null : ExpandAt(a, () => ExpandMeta(def));
        _graph = StageGraph.Of(_file, _o.Target, ExpandMeta);
        FileSystem.CreateDirectory(Path.Combine(_settings.StoreRoot, "build"), 0x1c0);
        FileSystem.CreateDirectory(_buildDir, 0x1c0);
        // One destination for every blob of the build: its lease keeps them from gc until the names are in.
        _dst = new StoreReference(_images.StoreTransport, "localhost/build-in-progress").OpenDestination();
        try
        {
            using var jobs = new SemaphoreSlim(Math.Max(1, _o.Jobs));
            foreach (var stage in _graph.Needed)
            {
                var s = stage;
                var deps = _graph.Dependencies[s.Index].Select(d => _stageTasks[d]).ToArray();
                _stageTasks[s.Index] = Task.Run(() =>
                {
                    // Waits for what it reads before taking a slot: a slot is never held by a waiting stage.
                    Task.WaitAll(deps);
                    jobs.Wait();
                    try
                    {
                        _failed.Token.ThrowIfCancellationRequested();
                        return BuildStage(s);
                    }
                    catch
                    {
                        _failed.Cancel();
                        throw;
                    }
                    finally
                    {
                        jobs.Release();
                    }
                });
            }
            ImageState final;
            try
            {
                final = _stageTasks[_graph.Target.Index].GetAwaiter().GetResult();
                Task.WaitAll(_stageTasks.Values.ToArray());
            }
            catch (Exception)
            {
                // The first stage's own error (by stage order), not a cancellation it caused in the others.
                var first = _stageTasks.OrderBy(kv => kv.Key).Select(kv => kv.Value.Exception?.InnerExceptions.FirstOrDefault(x => x is not OperationCanceledException && x is not AggregateException))
                    .FirstOrDefault(x => x is not null);
                if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
                throw;
            }
            return Commit(final.Clone());
        }
        finally
        {
            _dst.Dispose();
            Remove(_buildDir);
        }
    }

    static void Remove(string dir)
    {
        // Whatever a step left mounted under the build's directory goes first.
        foreach (var m in MountInfo.Read().Select(m => m.MountPoint).Where(m => m.StartsWith(dir + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length))
            try { Mounts.Unmount(m, Mounts.UMOUNT_NOFOLLOW | Mounts.MNT_DETACH); } catch (LinuxException) { }
        if (Files.TryStat(null, dir, false, out _, out _)) FileTree.Remove(dir);
    }

    static T ExpandAt<T>(Instruction at, Func<T> f)
    {
        try
        {
            return f();
        }
        catch (FormatException e)
        {
            throw new EngineException($"{at.At}: {at.Keyword}: {e.Message}");
        }
    }

    /// <summary>The image named, in the given format, under every -t name (or localhost/build-ID12), blobs claimed before each name goes in.</summary>
    BuildResult Commit(ImageState image)
    {
        var c = image.Config;
        foreach (var (k, v) in _o.Labels)
        {
            image.Container.Labels ??= new();
            image.Container.Labels[k] = v;
        }
        c.Created = Created;
        bool docker = _o.Format == "docker";
        var configBytes = image.ConfigBytes();
        var id = RawManifest.Sha256(configBytes).ToString();
        var configDesc = _dst.PutBlob(new MemoryStream(configBytes), new Descriptor { MediaType = docker ? MediaTypes.DockerConfig : MediaTypes.Config, Digest = id, Size = configBytes.Length }, isConfig: true);
        var layers = image.Layers.Select(l => new Descriptor { MediaType = LayerType(l.MediaType, docker), Digest = l.Digest, Size = l.Size }).ToList();
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = docker ? MediaTypes.DockerManifest : MediaTypes.Manifest, Config = configDesc, Layers = layers,
            // org.opencontainers.image.source|revision|created: --annotation, else a label, else the context's git checkout.
            Annotations = docker ? null : Annotations.SourceAnnotations.For(_o.ContextDir, _o.Annotations, image.Container.Labels, Timestamp, DateTimeOffset.UtcNow),
        };
        var raw = new RawManifest(JsonOut.Document(manifest), manifest.MediaType);
        var names = _o.Tags.Count > 0 ? _o.Tags.Select(StoreTransport.Normalize).ToList() : new List<string> { StoreTransport.Normalize($"localhost/build-{id["sha256:".Length..][..12]}") };
        var platform = new Platform { Os = c.Os, Architecture = c.Architecture, Variant = c.Variant };
        foreach (var name in names)
        {
            using var named = new StoreReference(_images.StoreTransport, name).OpenDestination();
            foreach (var blob in layers.Append(configDesc))
                if (named.TryReusingBlob(blob) is null) throw new EngineException($"{name}: blob {blob.Digest} went from the store during the build");
            named.PutManifest(raw);
            named.Commit(new Descriptor { Platform = platform });
            Log($"COMMIT {name}");
        }
        Log($"--> {id["sha256:".Length..][..12]}");
        lock (_bases) return new BuildResult(id, raw.Digest.ToString(), names[0]) { BaseImages = _baseImages.ToList() };
    }

    static string? LayerType(string? t, bool docker) => docker
        ? t switch { MediaTypes.LayerGzip => MediaTypes.DockerLayerGzip, MediaTypes.Layer => MediaTypes.DockerLayer, _ => t }
        : t switch { MediaTypes.DockerLayerGzip => MediaTypes.LayerGzip, MediaTypes.DockerLayer => MediaTypes.Layer, _ => t };

    // ---- images a stage starts from or copies from --------------------------------------

    /// <summary>An image by name: from the store, else pulled (docker://, registries.conf's search for short names); its blobs claimed by the build's lease.</summary>
    ImageState Base(string name, PlatformSpec platform, Location at)
    {
        lock (_bases)
        {
            var key = name + "|" + platform;
            if (_bases.TryGetValue(key, out var known)) return known.Clone();
            ImageReference reference;
            try
            {
                reference = _images.Parse(name);
                if (reference is StoreReference store)
                {
                    bool present;
                    try { _images.Store.Find(store.Name); present = true; }
                    catch (ImageException) { present = false; }
                    if (!present)
                    {
                        Log($"Pulling {name}");
                        var (_, pulled) = _images.Pull((DockerReference)_images.Parse("docker://" + name), new Images.Copy.CopyOptions { Platform = platform });
                        reference = new StoreReference(_images.StoreTransport, pulled);
                    }
                }
                else if (reference is DockerReference d)
                {
                    var (_, pulled) = _images.Pull(d, new Images.Copy.CopyOptions { Platform = platform });
                    reference = new StoreReference(_images.StoreTransport, pulled);
                }
                else throw new EngineException($"{name}: FROM takes an image of the store or a registry (docker://), not {reference.Transport.Name}:");
            }
            catch (Exception e) when (e is ImageException or Berth.Images.Registry.RegistryException)
            {
                throw new EngineException($"{at}: {name}: {e.Message}");
            }
            using var src = ImageService.Open(reference);
            ResolvedImage image;
            try
            {
                image = ResolvedImage.Resolve(src, platform);
            }
            catch (ImageException e)
            {
                throw new EngineException($"{at}: {name}: {e.Message}");
            }
            var config = Documents.ParseConfig(VerifiedBlob.ReadAll(src, image.Manifest.Config!, "config"), "config");
            foreach (var l in image.Layers)
                if (_dst.TryReusingBlob(l) is null) throw new EngineException($"{at}: {name}: layer {l.Digest} is not in the store");
            var state = new ImageState(config, image.Layers);
            _bases[key] = state;
            _baseImages.Add((name, image.ManifestDescriptor.Digest!));
            return state.Clone();
        }
    }
}
