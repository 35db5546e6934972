using System.Diagnostics;
using Berth.Images.Store;
using Berth.Oci.Image;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// Writers hold the store's lock only to name an image; gc keeps every blob a live writer has
/// claimed (BlobLease), and removes what a dead one left. Pinned in process, deterministically,
/// and across processes with a real copy, a real kill and gc running meanwhile.
/// </summary>
public class GcConcurrencyTests
{
    static Descriptor Blob(byte[] bytes, string type = MediaTypes.LayerGzip) =>
        new() { MediaType = type, Digest = TestImages.Sha256(bytes), Size = bytes.Length };

    static string BlobPath(Scratch s, string digest) => Path.Combine(s.Store, "blobs", "sha256", Digest.Parse(digest).Encoded);

    [Fact]
    public void A_blob_a_live_writer_stored_or_reused_survives_gc_until_it_is_named()
    {
        using var s = new Scratch();
        var images = new ImageService(s.Store);
        var layer = TestImages.Gzip(TestImages.Tar(new[] { Entry.File("f", "new") }));
        var old = TestImages.Gzip(TestImages.Tar(new[] { Entry.File("f", "old") }));
        // A blob nothing names: what gc takes.
        images.Store.Blobs.Write(old, MediaTypes.LayerGzip);
        using (var dst = images.Parse("leased").OpenDestination())
        {
            dst.PutBlob(new MemoryStream(layer), Blob(layer));
            Assert.NotNull(dst.TryReusingBlob(Blob(old)));
            // gc in another process, while this writer holds no lock at all.
            Assert.Equal("removed 0 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
            Assert.True(File.Exists(BlobPath(s, TestImages.Sha256(layer))));
            Assert.True(File.Exists(BlobPath(s, TestImages.Sha256(old))));
            var config = System.Text.Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[\"{TestImages.Sha256(TestImages.Tar(new[] { Entry.File("f", "new") }))}\"]}}}}");
            dst.PutBlob(new MemoryStream(config), Blob(config, MediaTypes.Config), isConfig: true);
            var manifest = new Manifest { SchemaVersion = 2, MediaType = MediaTypes.Manifest, Config = Blob(config, MediaTypes.Config), Layers = new() { Blob(layer) } };
            dst.PutManifest(new Transports.RawManifest(Oci.Json.JsonOut.Document(manifest), MediaTypes.Manifest));
            dst.Commit();
        }
        // Named now; the reused blob was never named and its writer is gone.
        Assert.Equal("removed 1 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
        s.Image("unpack", "leased", s.P("b")).Ok();
        Assert.Equal("new", File.ReadAllText(s.P("b/rootfs/f")));
        Assert.Empty(Directory.GetFiles(Path.Combine(s.Store, BlobLease.DirectoryName)));
    }

    /// <summary>A big image, slow enough to copy (recompressed to zstd) that gc and kill can come in the middle.</summary>
    static void BigImage(Scratch s, string name, int layers, int mib)
    {
        var layout = OciLayout.Create(s.P("big"));
        var rnd = new Random(7);
        var tars = Enumerable.Range(0, layers).Select(i =>
        {
            var data = new byte[mib << 20];
            rnd.NextBytes(data.AsSpan(0, data.Length / 3));
            return TestImages.Tar(new[] { new Entry($"layer{i}", Content: Convert.ToBase64String(data)) });
        }).ToList();
        TestImages.Write(layout, name, tars);
    }

    static Process Start(Scratch s, params string[] args)
    {
        var psi = new ProcessStartInfo(Scratch.Binary) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "image" }.Concat(args).Concat(new[] { "--store", s.Store })) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    static void WaitFor(Func<bool> condition, Process p, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (p.HasExited) throw new Xunit.Sdk.XunitException($"the copy ended before {what}: {p.StandardError.ReadToEnd()}");
            if (sw.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException(what);
            Thread.Sleep(5);
        }
    }

    [Fact]
    public void Gc_runs_while_a_copy_writes_and_never_deletes_what_the_copy_then_names()
    {
        using var s = new Scratch();
        BigImage(s, "big", layers: 6, mib: 8);
        s.Image("copy", "--dest-compress-format", "zstd", $"oci:{s.P("big")}:big", "warm").Ok();
        s.Image("rm", "warm").Ok(); // some of its blobs are now unreferenced, and the copy below reuses them
        using var copy = Start(s, "copy", "--dest-compress-format", "zstd", $"oci:{s.P("big")}:big", "big");
        int runs = 0;
        var sw = Stopwatch.StartNew();
        while (!copy.HasExited)
        {
            // Not blocked by the copy: each gc takes the lock for its own short run only.
            var t = Stopwatch.StartNew();
            s.Image("gc").Ok();
            Assert.True(t.Elapsed < TimeSpan.FromSeconds(5), $"gc took {t.Elapsed} while a copy ran");
            runs++;
        }
        copy.WaitForExit();
        Assert.True(copy.ExitCode == 0, copy.StandardError.ReadToEnd());
        Assert.True(runs >= 2, $"gc ran {runs} times during a {sw.Elapsed} copy");
        s.Image("unpack", "big", s.P("b")).Ok();
        Assert.Equal(6, Directory.GetFiles(s.P("b/rootfs"), "layer*").Length);
        Assert.Equal("removed 0 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
    }

    [Fact]
    public void A_copy_killed_in_the_middle_leaves_a_consistent_store_and_gc_takes_what_it_left()
    {
        using var s = new Scratch();
        BigImage(s, "big", layers: 4, mib: 16);
        using var copy = Start(s, "copy", "--dest-compress-format", "zstd", $"oci:{s.P("big")}:big", "big");
        var leases = Path.Combine(s.Store, BlobLease.DirectoryName);
        var blobs = Path.Combine(s.Store, "blobs", "sha256");
        // Killed once it has stored a blob and is writing the next.
        WaitFor(() => Directory.Exists(blobs) && Directory.GetFiles(blobs).Length >= 1 && Directory.GetFiles(Path.Combine(s.Store, "blobs"), ".tmp-*").Length > 0, copy, "a blob was stored");
        copy.Kill();
        copy.WaitForExit();
        Assert.DoesNotContain("big", s.Image("ls").Ok().Stdout);
        Assert.NotEmpty(Directory.GetFiles(leases));
        var gc = s.Image("gc").Ok().Stdout;
        Assert.Matches("^removed [1-9][0-9]* blobs, 0 snapshots\n$", gc);
        Assert.Empty(Directory.GetFiles(leases));
        Assert.Empty(Directory.GetFiles(Path.Combine(s.Store, "blobs"), ".tmp-*"));
        Assert.Empty(Directory.GetFiles(blobs));
        // A rerun completes.
        s.Image("copy", "--dest-compress-format", "zstd", $"oci:{s.P("big")}:big", "big").Ok();
        Assert.Equal("removed 0 blobs, 0 snapshots\n", s.Image("gc").Ok().Stdout);
    }
}
