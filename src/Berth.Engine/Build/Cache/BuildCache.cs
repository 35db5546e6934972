using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;

namespace Berth.Engine.Build.Cache;

/// <summary>
/// What a build step made, kept to be reused: the layer it added (a blob of the store; null for a
/// step that only changes the config), that layer's diff_id, and the image config after the step
/// (its exact bytes: the config's digest is the image id, so it must not be re-encoded).
/// </summary>
public sealed record CachedStep(Descriptor? Layer, string? DiffId, byte[] ConfigBytes)
{
    /// <summary>The id of the image after the step: the digest of its config.</summary>
    public string ConfigDigest => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(ConfigBytes));
}

/// <summary>
/// The build cache: one file per step in STORE/build-cache/ (the image store's directory, 0700),
/// named by the step's key, so it survives restarts and `image gc` can read it. An entry keeps
/// its layer blob from gc (<see cref="IBlobRoots"/>); an entry whose layer is gone is dropped by
/// gc and is a miss until then. `image gc --build-cache` empties the cache first (buildah prune).
/// </summary>
public sealed class BuildCache : IBlobRoots
{
    public const string DirectoryName = "build-cache";
    const string Version = "berth-build-cache/1";
    const long MaxEntryBytes = 32 << 20;

    readonly OciLayout _store;

    public string Root { get; }

    public int Dropped { get; private set; }

    /// <param name="imagesRoot">The image store (the engine's STORE/images).</param>
    public BuildCache(string imagesRoot)
    {
        _store = new OciLayout(imagesRoot, isPrivate: true);
        Root = Path.Combine(_store.Root, DirectoryName);
    }

    /// <summary>
    /// A step's key: SHA-256 over the parent image's id (its config digest, or "scratch"), the
    /// instruction as it runs (ARGs expanded, flags kept) and the digests of what it reads (COPY
    /// sources, mounted files), each length-prefixed so that no two lists run together alike.
    /// </summary>
    public static string Key(string parentImageId, string instructionText, IEnumerable<string> inputDigests)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            Span<byte> len = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
            h.AppendData(len);
            h.AppendData(bytes);
        }
        Add(Version);
        Add(parentImageId);
        Add(instructionText);
        foreach (var d in inputDigests) Add(d);
        return "sha256:" + Convert.ToHexStringLower(h.GetHashAndReset());
    }

    string PathOf(string key)
    {
        var hex = key.StartsWith("sha256:", StringComparison.Ordinal) ? key[7..] : key;
        if (hex.Length != 64 || !hex.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
            throw new EngineException($"build cache: \"{key}\" is not a key made by BuildCache.Key");
        return Path.Combine(Root, hex);
    }

    /// <summary>The step cached under <paramref name="key"/>, if there is one and its layer is still in the store.</summary>
    public bool TryGet(string key, out CachedStep step)
    {
        step = null!;
        var path = PathOf(key);
        byte[]? bytes;
        try
        {
            bytes = RegularFile.TryRead(path, MaxEntryBytes, followLinks: false);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return false;
        }
        if (bytes is null || Parse(bytes, path) is not { } entry) return false;
        if (entry.Layer?.Digest is { } d && !_store.Blobs.Has(Digest.Parse(d, "layer"))) return false;
        step = entry;
        return true;
    }

    /// <summary>
    /// Caches <paramref name="step"/> under <paramref name="key"/>, replacing any entry there
    /// (atomically: a reader sees the old entry or the new). Call it while the writer's lease still
    /// holds the layer, so that no gc runs between the blob being unclaimed and the entry keeping it.
    /// </summary>
    public void Put(string key, CachedStep step)
    {
        var path = PathOf(key);
        if (!Files.MkdirAt(null, Root, 0x1c0) && !(Files.TryStat(null, Root, follow: false, out var st, out _) && st.IsDirectory))
            throw new EngineException($"build cache: {Root} is not a directory");
        var json = JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("version", Version);
            w.WriteString("key", key);
            w.Opt("layer", step.Layer);
            w.Opt("diffID", step.DiffId);
            w.WriteBase64String("config", step.ConfigBytes);
            w.WriteString("configDigest", step.ConfigDigest);
            w.WriteEndObject();
        });
        RegularFile.WriteAtomic(path, $"{path}.tmp-{Environment.ProcessId}", json, 0x180);
    }

    /// <summary>An entry as written by <see cref="Put"/>; null for anything else (a damaged entry is a miss, and gc drops it).</summary>
    static CachedStep? Parse(byte[] bytes, string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("version", out var v) || v.GetString() != Version) return null;
            Descriptor? layer = null;
            if (root.TryGetProperty("layer", out var l))
            {
                layer = Descriptor.Read(new JsonIn(l, "layer"));
                Digest.Parse(layer.Digest ?? "", "layer.digest");
            }
            string? diffId = root.TryGetProperty("diffID", out var di) ? di.GetString() : null;
            var config = root.GetProperty("config").GetBytesFromBase64();
            var step = new CachedStep(layer, diffId, config);
            // The bytes are what was cached, or the entry is not used.
            if (root.GetProperty("configDigest").GetString() != step.ConfigDigest) return null;
            return step;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException or Oci.SpecException)
        {
            return null;
        }
    }

    IEnumerable<string> EntryNames() =>
        Directory.Exists(Root) ? FileSystem.NonDirectories(Root) : Enumerable.Empty<string>();

    /// <summary>For gc (its exclusive lock held): the layers the entries name; entries damaged or missing their layer are removed.</summary>
    public IEnumerable<Digest> KeptBlobs(OciLayout store)
    {
        Dropped = 0;
        var kept = new List<Digest>();
        foreach (var name in EntryNames().ToList())
        {
            var path = Path.Combine(Root, name);
            // A writer's temporary file: its lease keeps its blobs until it is renamed.
            if (name.Contains(".tmp-")) continue;
            var bytes = RegularFile.TryRead(path, MaxEntryBytes, followLinks: false);
            var step = bytes is null ? null : Parse(bytes, path);
            if (step?.Layer?.Digest is { } d && store.Blobs.Has(Digest.Parse(d, "layer")))
                kept.Add(Digest.Parse(d, "layer"));
            else if (step is null || step.Layer is not null)
            {
                FileSystem.TryDelete(path);
                Dropped++;
            }
        }
        return kept;
    }

    /// <summary>`image gc --build-cache`: removes every entry; returns how many.</summary>
    public int Clear()
    {
        int n = 0;
        foreach (var name in EntryNames().ToList())
            if (!name.Contains(".tmp-") && FileSystem.Delete(Path.Combine(Root, name))) n++;
        return n;
    }

    /// <summary>How many steps are cached.</summary>
    public int Count => EntryNames().Count(n => !n.Contains(".tmp-"));
}
