using System.Text;
using System.Text.Json.Nodes;
using Berth.Images.Store;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Xunit;

namespace Berth.Images.Tests;

/// <summary>
/// Every file read from a layout is a regular file, reached without links, read no further than
/// its descriptor says, and made of valid UTF-8 where it is JSON: anything else fails at once
/// with one line, leaving nothing behind.
/// </summary>
public class LayoutFileTests
{
    /// <summary>A one-layer image "app" in scratch/img, and the paths of its files.</summary>
    static (OciLayout Layout, Descriptor Manifest, Dictionary<string, string> Files) Image(Scratch s)
    {
        var layout = OciLayout.Create(s.P("img"));
        var m = TestImages.Write(layout, "app", new[] { TestImages.Tar(new[] { Entry.File("hello", "hi") }) });
        var manifest = Documents.ParseManifest(layout.Blobs.ReadAll(m), null, "m");
        string Blob(string digest) => layout.Blobs.PathOf(Digest.Parse(digest));
        return (layout, m, new()
        {
            ["index.json"] = s.P("img/index.json"), ["oci-layout"] = s.P("img/oci-layout"), ["manifest"] = Blob(m.Digest!),
            ["config"] = Blob(manifest.Config!.Digest!), ["layer"] = Blob(manifest.Layers![0].Digest!),
        });
    }

    static void Replace(string path, string kind)
    {
        switch (kind)
        {
            case "fifo":
                File.Delete(path);
                Scratch.Exec("mkfifo", path).Ok();
                break;
            case "link to /dev/zero":
                File.Delete(path);
                File.CreateSymbolicLink(path, "/dev/zero");
                break;
            case "device":
                File.Delete(path);
                Scratch.Exec("mknod", path, "c", "1", "5").Ok();
                break;
            case "link to its own content":
                File.Move(path, path + ".real");
                File.CreateSymbolicLink(path, path + ".real");
                break;
            case "directory":
                File.Delete(path);
                Directory.CreateDirectory(path);
                break;
        }
    }

    static readonly Dictionary<string, string> Expected = new()
    {
        ["fifo"] = "not a regular file but a FIFO", ["link to /dev/zero"] = "symbolic link", ["device"] = "not a regular file but a character device",
        ["link to its own content"] = "symbolic link", ["directory"] = "not a regular file but a directory",
    };

    public static IEnumerable<object[]> Cases() =>
        from file in new[] { "index.json", "oci-layout", "manifest", "config", "layer" }
        from kind in Expected.Keys
        from overlay in file == "layer" ? new[] { false, true } : new[] { false }
        select new object[] { file, kind, overlay };

    /// <summary>One bad line on stderr, no stack trace, no bundle.</summary>
    static void FailsCleanly(Scratch s, Result r, string message)
    {
        r.Fails(message);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("berth: ", line);
        Assert.Equal(1, r.ExitCode);
        Assert.False(Directory.Exists(s.P("b")), "the bundle was left behind");
    }

    static Result Unpack(Scratch s, bool overlay = false, string image = "app") =>
        overlay ? s.Image("unpack", "--overlay", $"oci:{s.P("img")}:{image}", s.P("b")) : s.Image("unpack", $"oci:{s.P("img")}:{image}", s.P("b"));

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_layout_file_that_is_not_a_regular_file_is_refused_at_once(string file, string kind, bool overlay)
    {
        using var s = new Scratch();
        var (_, _, files) = Image(s);
        Replace(files[file], kind);
        // A FIFO read would block and /dev/zero never ends: Exec's own time limit would fail the test.
        FailsCleanly(s, Unpack(s, overlay), Expected[kind]);
    }

    [Fact]
    public void An_archive_or_a_tarball_to_import_that_is_a_fifo_is_refused_at_once()
    {
        using var s = new Scratch();
        Scratch.Exec("mkfifo", s.P("fifo")).Ok();
        FailsCleanly(s, s.Image("unpack", $"oci-archive:{s.P("fifo")}", s.P("b")), "not a regular file but a FIFO");
        FailsCleanly(s, s.Image("import", s.P("fifo"), "x"), "not a regular file but a FIFO");
    }

    /// <summary>Writes <paramref name="json"/> as a new blob and points "app" at a manifest that uses it.</summary>
    static Descriptor Retag(OciLayout layout, Descriptor manifest, Func<JsonObject, JsonObject>? editManifest = null, Func<byte[], byte[]>? editConfig = null, Func<byte[], byte[]>? editManifestBytes = null)
    {
        var m = JsonNode.Parse(layout.Blobs.ReadAll(manifest))!.AsObject();
        if (editConfig is not null)
        {
            var config = editConfig(layout.Blobs.ReadAll(Documents.ParseManifest(layout.Blobs.ReadAll(manifest), null, "m").Config!));
            var d = layout.Blobs.Write(config, MediaTypes.Config);
            m["config"]!["digest"] = d.Digest;
            m["config"]!["size"] = d.Size;
        }
        if (editManifest is not null) m = editManifest(m);
        var bytes = Encoding.UTF8.GetBytes(m.ToJsonString());
        if (editManifestBytes is not null) bytes = editManifestBytes(bytes);
        var desc = layout.Blobs.Write(bytes, MediaTypes.Manifest);
        layout.Tag("app", desc);
        return desc;
    }

    /// <summary>Replaces the first occurrence of an ASCII text in a document by raw bytes.</summary>
    static byte[] Splice(byte[] doc, string find, byte[] with)
    {
        int at = doc.AsSpan().IndexOf(Encoding.ASCII.GetBytes(find));
        Assert.True(at >= 0, $"\"{find}\" is not in the document");
        return doc[..at].Concat(with).Concat(doc[(at + find.Length)..]).ToArray();
    }

    [Theory]
    [InlineData("layer")]
    [InlineData("config")]
    [InlineData("index.json entry")]
    public void A_descriptor_without_a_size_is_refused(string which)
    {
        using var s = new Scratch();
        var (layout, m, files) = Image(s);
        if (which == "layer") Retag(layout, m, editManifest: o => { o["layers"]![0]!.AsObject().Remove("size"); return o; });
        if (which == "config") Retag(layout, m, editManifest: o => { o["config"]!.AsObject().Remove("size"); return o; });
        if (which == "index.json entry")
        {
            var index = JsonNode.Parse(File.ReadAllText(files["index.json"]))!.AsObject();
            index["manifests"]![0]!.AsObject().Remove("size");
            File.WriteAllText(files["index.json"], index.ToJsonString());
        }
        FailsCleanly(s, Unpack(s), "size is required");
    }

    [Theory]
    [InlineData("longer", false)]
    [InlineData("longer", true)]
    [InlineData("shorter", false)]
    [InlineData("shorter", true)]
    public void A_layer_blob_longer_or_shorter_than_its_descriptor_is_refused_before_it_is_read(string how, bool overlay)
    {
        using var s = new Scratch();
        var (_, _, files) = Image(s);
        var bytes = File.ReadAllBytes(files["layer"]);
        File.WriteAllBytes(files["layer"], how == "longer" ? bytes.Concat(new byte[1 << 20]).ToArray() : bytes[..^10]);
        FailsCleanly(s, Unpack(s, overlay), how == "longer" ? "holds more than the" : $"holds {bytes.Length - 10} bytes, its descriptor says {bytes.Length}");
        Assert.False(Directory.Exists(Path.Combine(s.Dir, "store-snapshots")) && Directory.EnumerateFileSystemEntries(Path.Combine(s.Dir, "store-snapshots")).Any());
    }

    [Theory]
    [InlineData("config", "invalid byte")]
    [InlineData("config", "lone surrogate")]
    [InlineData("manifest", "invalid byte")]
    [InlineData("manifest", "lone surrogate")]
    [InlineData("index.json", "invalid byte")]
    [InlineData("index.json", "lone surrogate")]
    public void Text_that_is_not_unicode_in_a_document_is_one_clear_error(string document, string how)
    {
        using var s = new Scratch();
        var (layout, m, files) = Image(s);
        // In a string the parser would decode: a byte no UTF-8 text holds, or an escape of half a UTF-16 pair.
        byte[] Bad(byte[] doc, string field) => Splice(doc, field, how == "invalid byte" ? new byte[] { (byte)'"', 0xc3, 0x28, (byte)'"' } : Encoding.ASCII.GetBytes("\"\\ud800\""));
        if (document == "config") Retag(layout, m, editConfig: c => Bad(c, "\"sh\""));
        if (document == "manifest") Retag(layout, m, editManifest: o => { o["annotations"] = new JsonObject { ["note"] = "text" }; return o; }, editManifestBytes: b => Bad(b, "\"text\""));
        if (document == "index.json") File.WriteAllBytes(files["index.json"], Bad(File.ReadAllBytes(files["index.json"]), "\"app\""));
        var r = Unpack(s);
        FailsCleanly(s, r, how == "invalid byte" ? "invalid UTF-8 at byte" : "not valid Unicode");
        Assert.Contains(document == "index.json" ? "index.json" : document, r.Stderr);
    }

    /// <summary>A layout can be another user's directory while Berth writes as root: a link planted at a name it writes is refused, never written through.</summary>
    [Theory]
    [InlineData("oci-layout")]
    [InlineData(".lock")]
    public void Writing_into_a_layout_never_follows_a_link_planted_there(string name)
    {
        using var s = new Scratch();
        Image(s);
        Directory.CreateDirectory(s.P("dst"));
        var victim = s.P("victim");
        File.CreateSymbolicLink(s.P($"dst/{name}"), victim);
        var r = s.Image("copy", $"oci:{s.P("img")}:app", $"oci:{s.P("dst")}:app");
        Assert.Equal(1, r.ExitCode);
        // Progress lines may come first (stderr is not a terminal); the error is one line.
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("berth: "));
        Assert.False(File.Exists(victim), "a file was created through the link");
    }
}
