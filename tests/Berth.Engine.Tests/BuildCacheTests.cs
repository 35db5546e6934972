using System.Text;
using Berth.Engine.Build.Cache;
using Berth.Images;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>The build cache: keys, entries that survive a restart, and `image gc` keeping (or, with --build-cache, dropping) what they name.</summary>
public sealed class BuildCacheTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-cache-").FullName;
    readonly ImageService _images;

    public BuildCacheTests() => _images = new ImageService(Path.Combine(_dir, "images"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");

    CachedStep StepWithLayer(string content)
    {
        var layer = _images.Store.Blobs.Write(Encoding.UTF8.GetBytes(content), MediaTypes.LayerGzip);
        return new CachedStep(layer, "sha256:" + new string('d', 64), Config);
    }

    [Fact]
    public void A_key_changes_with_the_parent_the_instruction_and_every_input()
    {
        var k = BuildCache.Key("sha256:" + new string('a', 64), "COPY . /app", new[] { "sha256:1" });
        Assert.Matches("^sha256:[0-9a-f]{64}$", k);
        Assert.Equal(k, BuildCache.Key("sha256:" + new string('a', 64), "COPY . /app", new[] { "sha256:1" }));
        Assert.NotEqual(k, BuildCache.Key("sha256:" + new string('b', 64), "COPY . /app", new[] { "sha256:1" }));
        Assert.NotEqual(k, BuildCache.Key("sha256:" + new string('a', 64), "COPY . /srv", new[] { "sha256:1" }));
        Assert.NotEqual(k, BuildCache.Key("sha256:" + new string('a', 64), "COPY . /app", new[] { "sha256:2" }));
        Assert.NotEqual(k, BuildCache.Key("sha256:" + new string('a', 64), "COPY . /app", Array.Empty<string>()));
        // Length-prefixed: moving a character between fields is another key.
        Assert.NotEqual(BuildCache.Key("ab", "c", Array.Empty<string>()), BuildCache.Key("a", "bc", Array.Empty<string>()));
    }

    [Fact]
    public void An_entry_survives_a_restart_with_its_config_bytes_exact()
    {
        var step = StepWithLayer("layer one");
        var key = BuildCache.Key("scratch", "RUN true", Array.Empty<string>());
        new BuildCache(_images.Store.Root).Put(key, step);

        var again = new BuildCache(Path.Combine(_dir, "images"));
        Assert.True(again.TryGet(key, out var got));
        Assert.Equal(step.Layer!.Digest, got.Layer!.Digest);
        Assert.Equal(step.Layer.Size, got.Layer.Size);
        Assert.Equal(step.DiffId, got.DiffId);
        Assert.Equal(Config, got.ConfigBytes);
        Assert.Equal(step.ConfigDigest, got.ConfigDigest);
        Assert.False(again.TryGet(BuildCache.Key("scratch", "RUN false", Array.Empty<string>()), out _));
    }

    [Fact]
    public void Gc_keeps_a_cached_layer_and_drops_the_entry_once_the_layer_is_gone()
    {
        var cache = new BuildCache(_images.Store.Root);
        var kept = StepWithLayer("kept");
        var configOnly = new CachedStep(null, null, Config);
        var keyKept = BuildCache.Key("scratch", "COPY a /", Array.Empty<string>());
        var keyConfig = BuildCache.Key("scratch", "ENV A=1", Array.Empty<string>());
        cache.Put(keyKept, kept);
        cache.Put(keyConfig, configOnly);
        var stray = _images.Store.Blobs.Write(Encoding.UTF8.GetBytes("nobody's"), MediaTypes.LayerGzip);

        var (blobs, _) = _images.CollectGarbage(new[] { cache });
        Assert.Equal(1, blobs);
        Assert.False(_images.Store.Blobs.Has(Digest.Parse(stray.Digest!)));
        Assert.True(_images.Store.Blobs.Has(Digest.Parse(kept.Layer!.Digest!)));
        Assert.Equal(0, cache.Dropped);
        Assert.True(cache.TryGet(keyKept, out _));
        Assert.True(cache.TryGet(keyConfig, out _));

        // A gc that does not know the cache (not Berth's CLI) takes the layer: the entry is then a miss, and the next gc drops it.
        _images.CollectGarbage();
        Assert.False(cache.TryGet(keyKept, out _));
        _images.CollectGarbage(new[] { cache });
        Assert.Equal(1, cache.Dropped);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void Clearing_the_cache_lets_gc_take_its_layers()
    {
        var cache = new BuildCache(_images.Store.Root);
        var step = StepWithLayer("cleared");
        var key = BuildCache.Key("scratch", "RUN x", Array.Empty<string>());
        cache.Put(key, step);
        Assert.Equal(1, cache.Clear());
        Assert.Equal(1, _images.CollectGarbage(new[] { cache }).Blobs);
        Assert.False(cache.TryGet(key, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void A_damaged_entry_is_a_miss_and_gc_removes_it()
    {
        var cache = new BuildCache(_images.Store.Root);
        var key = BuildCache.Key("scratch", "RUN y", Array.Empty<string>());
        cache.Put(key, StepWithLayer("y"));
        var path = Path.Combine(cache.Root, key[7..]);
        var text = File.ReadAllText(path);
        // The config bytes no longer match the digest recorded beside them.
        File.WriteAllText(path, text.Replace("\"config\":\"", "\"config\":\"AAAA"));
        Assert.False(cache.TryGet(key, out _));
        _images.CollectGarbage(new[] { cache });
        Assert.Equal(1, cache.Dropped);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void A_key_not_made_by_Key_is_refused()
    {
        var e = Assert.Throws<EngineException>(() => new BuildCache(_images.Store.Root).TryGet("../../etc/passwd", out _));
        Assert.Contains("is not a key", e.Message);
    }

    [Fact]
    public void The_cli_gc_keeps_cached_layers_and_drops_them_with_build_cache()
    {
        using var e = new EngineSandbox();
        var images = new ImageService(Path.Combine(e.Store, "images"));
        var cache = new BuildCache(images.Store.Root);
        var layer = images.Store.Blobs.Write(Encoding.UTF8.GetBytes("a cached layer"), MediaTypes.LayerGzip);
        cache.Put(BuildCache.Key("scratch", "RUN cached", Array.Empty<string>()), new CachedStep(layer, "sha256:" + new string('e', 64), Config));

        Assert.Equal("removed 0 blobs, 0 snapshots\n", e.Run("image", "gc").Ok().Stdout);
        Assert.True(images.Store.Blobs.Has(Digest.Parse(layer.Digest!)));
        Assert.Equal("removed 1 blobs, 0 snapshots, 1 build cache entries\n", e.Run("image", "gc", "--build-cache").Ok().Stdout);
        Assert.False(images.Store.Blobs.Has(Digest.Parse(layer.Digest!)));
        Assert.Equal(0, cache.Count);
        // The image itself is untouched.
        Assert.Equal("ok\n", e.Run("run", "--rm", EngineSandbox.Image, "echo", "ok").Ok().Stdout);
    }
}
