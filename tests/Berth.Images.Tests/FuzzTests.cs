using System.Formats.Tar;
using System.Text;
using System.Text.Json.Nodes;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Xunit;
using static Berth.Images.Tests.RawTar;

namespace Berth.Images.Tests;

/// <summary>
/// Deterministic fuzzing (fixed seeds, so a failure replays): thousands of mutations of tar
/// headers, PAX records, typeflags, sizes and of manifests, indexes and configs. Each must
/// unpack or fail with one ImageException of one line; none may hang, crash with another
/// exception type, or (through the CLI) print a stack trace or leave anything behind.
/// </summary>
public class FuzzTests
{
    const int TarMutations = 3000, DocumentMutations = 3000, CliSamples = 120;

    /// <summary>Layers that reach every part of the reader: each entry type, PAX, GNU long names, every sparse format, base-256 numbers, whiteouts.</summary>
    static List<byte[]> TarCorpus()
    {
        var corpus = new List<byte[]>
        {
            TestImages.Tar(new[]
            {
                Entry.Dir("etc"), Entry.File("etc/passwd", "root:x:0:0::/:/bin/sh\n"), Entry.Symlink("link", "/etc/passwd"), Entry.Hardlink("hard", "etc/passwd"),
                new Entry("fifo", TarEntryType.Fifo), new Entry("null", TarEntryType.CharacterDevice, Mode: 0x1b6, Major: 1, Minor: 3),
                new Entry(string.Join('/', Enumerable.Repeat("long-name", 20)), Content: "deep", Pax: new() { ["SCHILY.xattr.user.a"] = "b" }),
            }),
            TestImages.Tar(new[] { new Entry("etc/.wh.passwd"), new Entry("d/.wh..wh..opq"), Entry.File("d/new", "n"), Entry.Hardlink("h", "lower/f") }),
            new RawTar()
                .Pax(("SCHILY.xattr.security.capability", new byte[] { 1, 0, 0, 2, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }), ("mtime", Text("1234567890.123456789")), ("uid", Text("1000")))
                .File("cap", "x", mode: 0x1ed)
                .Header("././@LongLink", 'L', 120, gnu: true).Data(Encoding.ASCII.GetBytes(new string('n', 119) + "\0"))
                .Header("short", '0', 3, gnu: true).Data("abc"u8)
                .Header("b256", tweak: h => { Base256(h, 108, 8, new byte[] { 0x10, 0, 0 }); Base256(h, 124, 12, new byte[] { 4 }); }).Data("four"u8)
                .Bytes(),
            new RawTar().Pax(("GNU.sparse.map", Text("0,5,100,5")), ("GNU.sparse.realsize", Text("200")), ("GNU.sparse.numblocks", Text("2"))).File("s01", new byte[10]).Bytes(),
            Sparse1x0(),
            new RawTar().Header("s-old", 'S', 10, gnu: true, tweak: h => { Octal(h, 386, 12, 0); Octal(h, 398, 12, 5); Octal(h, 410, 12, 50); Octal(h, 422, 12, 5); Octal(h, 483, 12, 60); }).Data(new byte[10]).Bytes(),
        };
        return corpus;
    }

    static byte[] Sparse1x0()
    {
        var data = new byte[512 + 8];
        Encoding.ASCII.GetBytes("2\n0\n4\n20\n4\n").CopyTo(data, 0);
        return new RawTar().Pax(("GNU.sparse.major", Text("1")), ("GNU.sparse.minor", Text("0")), ("GNU.sparse.name", Text("s10")), ("GNU.sparse.realsize", Text("30")))
            .File("GNUSparseFile.0/s10", data).Bytes();
    }

    static readonly string[] Keys =
    {
        "path", "linkpath", "size", "uid", "gid", "mtime", "atime", "GNU.sparse.map", "GNU.sparse.major", "GNU.sparse.minor", "GNU.sparse.name",
        "GNU.sparse.realsize", "GNU.sparse.size", "GNU.sparse.numblocks", "GNU.sparse.offset", "GNU.sparse.numbytes", "SCHILY.xattr.user.x",
        "SCHILY.xattr.security.capability", "SCHILY.xattr.user.overlay.opaque", "SCHILY.xattr.trusted.overlay.opaque", "hdrcharset",
    };

    static readonly string[] Values =
    {
        "0", "1", "-1", "4294967295", "4294967294", "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        "4611686018427387904", "1e300", "1.5", "-1.5", ".", "", "0,1,2,3", "0,10,5,10", "9223372036854775807,1", "../../etc", "/abs", "a/../b",
        ".wh..wh..opq", "x\u00ff", "BINARY", "99999999999999999999999999", " 1", "1 ",
    };

    static List<int> HeaderOffsets(byte[] tar)
    {
        var offsets = new List<int>();
        for (int at = 0; at + 512 <= tar.Length; at += 512)
            if (tar.AsSpan(at + 257, 5).SequenceEqual("ustar"u8)) offsets.Add(at);
        return offsets;
    }

    /// <summary>One to three mutations of a header's fields, its PAX records, its typeflag, its size, or of the archive's blocks.</summary>
    static byte[] Mutate(byte[] original, Random r)
    {
        var tar = (byte[])original.Clone();
        for (int round = 0, rounds = 1 + r.Next(3); round < rounds; round++)
        {
            var headers = HeaderOffsets(tar);
            if (headers.Count == 0) break;
            int h = headers[r.Next(headers.Count)];
            switch (r.Next(9))
            {
                case 0: // random bytes in a header
                    for (int i = 0, n = 1 + r.Next(8); i < n; i++) tar[h + r.Next(512)] = (byte)r.Next(256);
                    break;
                case 1: // a numeric field set to something odd
                {
                    var (at, length) = new[] { (100, 8), (108, 8), (116, 8), (124, 12), (136, 12), (329, 8), (337, 8), (483, 12), (386, 12), (398, 12) }[r.Next(10)];
                    var field = tar.AsSpan(h + at, length);
                    switch (r.Next(5))
                    {
                        case 0: field.Fill((byte)'7'); break;
                        case 1: field.Fill(0xff); break;
                        case 2: for (int i = 0; i < length; i++) field[i] = (byte)r.Next(256); field[0] |= 0x80; break;
                        case 3: for (int i = 0; i < length; i++) field[i] = (byte)"0123456789 \0-+x"[r.Next(15)]; break;
                        default: Encoding.ASCII.GetBytes(Convert.ToString(r.NextInt64(0, 1L << 33), 8).PadLeft(length - 1, '0')[..(length - 1)]).CopyTo(field); break;
                    }
                    break;
                }
                case 2: // typeflag
                    tar[h + 156] = (byte)"0123456789xgLKSDMVN\0A"[r.Next(21)];
                    break;
                case 3: // a PAX header before this one
                {
                    var records = Enumerable.Range(0, 1 + r.Next(3)).Select(_ => (Keys[r.Next(Keys.Length)], Text(Values[r.Next(Values.Length)]))).ToArray();
                    var pax = new RawTar().Pax(records).Bytes(end: false);
                    tar = tar[..h].Concat(pax).Concat(tar[h..]).ToArray();
                    break;
                }
                case 4: // a PAX record's bytes (when this is a PAX header, its data follows it)
                    if (tar[h + 156] == 'x' && h + 512 < tar.Length)
                        for (int i = 0, n = 1 + r.Next(4); i < n; i++) tar[h + 512 + r.Next(Math.Min(512, tar.Length - h - 512))] = (byte)"0123456789 =\n\0\xff"[r.Next(15)];
                    break;
                case 5: // cut short
                    tar = tar[..r.Next(tar.Length)];
                    break;
                case 6: // a block duplicated or dropped
                {
                    int block = r.Next(tar.Length / 512) * 512;
                    tar = r.Next(2) == 0 ? tar[..block].Concat(tar[block..Math.Min(block + 512, tar.Length)]).Concat(tar[block..]).ToArray() : tar[..block].Concat(tar[Math.Min(block + 512, tar.Length)..]).ToArray();
                    break;
                }
                case 7: // the name
                {
                    var names = new[] { "..", "../x", "/", "./", ".wh..", ".wh.", "a\0b", "x/../../y", "\xff\xfe", "lower/f", "etc/passwd", "d/.wh..wh..opq" };
                    Put(tar, h, 100, Encoding.Latin1.GetBytes(names[r.Next(names.Length)]));
                    break;
                }
                default: // the size, small or large, whatever the data
                    Octal(tar, h + 124, 12, r.Next(3) switch { 0 => r.Next(2048), 1 => r.NextInt64(0, 1L << 32), _ => 0 });
                    break;
            }
            if (r.Next(10) != 0 && h + 512 <= tar.Length && tar.AsSpan(h + 257, 5).SequenceEqual("ustar"u8))
            {
                var block = tar[h..(h + 512)];
                Checksum(block);
                block.CopyTo(tar, h);
            }
        }
        return tar;
    }

    /// <summary>Runs <paramref name="body"/> on its own thread: a hang fails the test (naming the case) instead of stalling the run.</summary>
    static void Bounded(string what, Action<Action<string>> body)
    {
        var current = "";
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try { body(c => Volatile.Write(ref current, c)); }
            catch (Exception e) { failure = e; }
        }) { IsBackground = true };
        worker.Start();
        Assert.True(worker.Join(TimeSpan.FromMinutes(5)), $"{what}: case {Volatile.Read(ref current)} did not finish (a hang)");
        if (failure is not null) throw new Xunit.Sdk.XunitException($"{what}: case {current}: {failure}");
    }

    static void OneLine(string message, string prefix, string where)
    {
        Assert.False(string.IsNullOrWhiteSpace(message), $"{where}: an empty message");
        Assert.DoesNotContain('\n', message);
        Assert.StartsWith(prefix, message);
    }

    [Fact]
    public void Mutated_layers_unpack_or_fail_with_one_clear_line_in_both_modes()
    {
        using var s = new Scratch();
        var corpus = TarCorpus();
        // A lower snapshot for overlay mode, so that hard links can go looking below.
        using (var lower = new LayerUnpacker(s.P("lower"), WhiteoutMode.Overlay))
            lower.Unpack(new MemoryStream(TestImages.Tar(new[] { Entry.Dir("lower"), Entry.File("lower/f", "lower"), Entry.Dir("d"), Entry.File("d/old", "o") })), "lower layer");
        int unpacked = 0, refused = 0;
        Bounded("tar mutations", at =>
        {
            var random = new Random(20261201);
            for (int i = 0; i < TarMutations; i++)
            {
                var mutant = Mutate(corpus[random.Next(corpus.Count)], random);
                var mode = i % 2 == 0 ? WhiteoutMode.Apply : WhiteoutMode.Overlay;
                at($"{i} ({mode}, {Convert.ToBase64String(mutant.Length > 4096 ? mutant[..4096] : mutant)})");
                var root = s.P($"root-{i}");
                try
                {
                    using var u = new LayerUnpacker(root, mode, mode == WhiteoutMode.Overlay ? new[] { s.P("lower") } : null);
                    u.Unpack(new MemoryStream(mutant), "fuzz layer");
                    unpacked++;
                }
                catch (ImageException e)
                {
                    OneLine(e.Message, "fuzz layer: ", $"case {i}");
                    refused++;
                }
                finally
                {
                    FileTree.Remove(root);
                }
            }
        });
        // Both outcomes were reached: the mutations neither all broke the archive nor all missed it.
        Assert.True(unpacked > TarMutations / 20 && refused > TarMutations / 20, $"{unpacked} unpacked, {refused} refused");
    }

    static List<(string Kind, byte[] Json)> DocumentCorpus()
    {
        var layer = new Descriptor { MediaType = MediaTypes.LayerGzip, Digest = "sha256:" + new string('a', 64), Size = 123, Annotations = new() { ["k"] = "v" } };
        var manifest = new Manifest
        {
            SchemaVersion = 2, MediaType = MediaTypes.Manifest, Layers = new() { layer, layer },
            Config = new Descriptor { MediaType = MediaTypes.Config, Digest = "sha256:" + new string('b', 64), Size = 456 }, Annotations = new() { ["a"] = "b" },
        };
        var index = new ImageIndex
        {
            SchemaVersion = 2, MediaType = MediaTypes.Index,
            Manifests = new() { new Descriptor { MediaType = MediaTypes.Manifest, Digest = "sha256:" + new string('c', 64), Size = 789, Platform = new Platform { Os = "linux", Architecture = "amd64", Variant = "v8" } } },
        };
        var config = new ImageConfig
        {
            Architecture = "amd64", Os = "linux", Created = "2020-01-01T00:00:00Z",
            Config = new ContainerConfig { User = "1000:1000", Env = new() { "A=b" }, Entrypoint = new() { "sh" }, Cmd = new() { "-c", "x" }, WorkingDir = "/", Labels = new() { ["l"] = "v" }, ExposedPorts = new() { "80/tcp" } },
            Rootfs = new RootfsDiffs { Type = "layers", DiffIds = new() { "sha256:" + new string('d', 64) } },
            History = new() { new History { CreatedBy = "x", EmptyLayer = false } },
        };
        return new() { ("manifest", JsonOut.Document(manifest)), ("index", JsonOut.Document(index)), ("config", JsonOut.Document(config)), ("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"u8.ToArray()) };
    }

    static readonly string[] JsonTokens =
    {
        "1e400", "-1", "18446744073709551616", "9223372036854775808", "1.5", "null", "true", "[]", "{}", "\"\\ud800\"", "\"\\udc00\\ud800\"",
        "\"\\u0000\"", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]", "\"sha256:zz\"", "2", "\"\"",
    };

    static byte[] MutateJson(byte[] original, Random r)
    {
        var json = original.ToList();
        for (int round = 0, rounds = 1 + r.Next(3); round < rounds && json.Count > 0; round++)
        {
            int at = r.Next(json.Count);
            switch (r.Next(6))
            {
                case 0: json[at] = (byte)r.Next(256); break;
                case 1: json.Insert(at, (byte)r.Next(0x80, 0x100)); break;
                case 2: json.RemoveRange(at, Math.Min(r.Next(1, 20), json.Count - at)); break;
                case 3:
                {
                    // A value (after a ':' or '[' or ',') replaced by an odd token.
                    int colon = json.FindIndex(at, b => b is (byte)':' or (byte)'[' or (byte)',');
                    if (colon < 0) break;
                    int end = json.FindIndex(colon + 1, b => b is (byte)',' or (byte)'}' or (byte)']');
                    if (end < 0) break;
                    json.RemoveRange(colon + 1, end - colon - 1);
                    json.InsertRange(colon + 1, Encoding.ASCII.GetBytes(JsonTokens[r.Next(JsonTokens.Length)]));
                    break;
                }
                case 4: json.RemoveRange(at, json.Count - at); break;
                default: json.InsertRange(at, json.GetRange(at, Math.Min(r.Next(1, 40), json.Count - at))); break;
            }
        }
        return json.ToArray();
    }

    [Fact]
    public void Mutated_documents_parse_or_fail_with_one_clear_line()
    {
        var corpus = DocumentCorpus();
        int parsed = 0, refused = 0;
        Bounded("document mutations", at =>
        {
            var random = new Random(1207);
            for (int i = 0; i < DocumentMutations; i++)
            {
                var (kind, seed) = corpus[random.Next(corpus.Count)];
                var mutant = MutateJson(seed, random);
                at($"{i} ({kind}: {Convert.ToBase64String(mutant)})");
                try
                {
                    switch (kind)
                    {
                        case "manifest": Documents.ParseManifest(mutant, MediaTypes.Manifest, "manifest"); break;
                        case "index": Documents.ParseIndex(mutant, MediaTypes.Index, "index"); break;
                        case "config": Documents.ParseConfig(mutant, "config"); break;
                        default: Documents.ParseLayoutMarker(mutant, "oci-layout"); break;
                    }
                    parsed++;
                }
                catch (ImageException e)
                {
                    OneLine(e.Message, kind, $"case {i}");
                    refused++;
                }
            }
        });
        Assert.True(parsed > DocumentMutations / 50 && refused > DocumentMutations / 20, $"{parsed} parsed, {refused} refused");
    }

    static byte[] Zstd(Scratch s, byte[] tar)
    {
        File.WriteAllBytes(s.P("layer.tar"), tar);
        Scratch.Exec("zstd", "-q", "-f", s.P("layer.tar"), "-o", s.P("layer.tar.zst")).Ok();
        return File.ReadAllBytes(s.P("layer.tar.zst"));
    }

    /// <summary>A compressed stream with bytes changed past its header, or cut short.</summary>
    static byte[] BreakCompressed(byte[] data, Random r)
    {
        var broken = (byte[])data.Clone();
        if (r.Next(3) == 0) return broken[..r.Next(1, broken.Length)];
        for (int i = 0, n = 1 + r.Next(4); i < n; i++) broken[r.Next(Math.Min(10, broken.Length - 1), broken.Length)] ^= (byte)(1 + r.Next(255));
        return broken;
    }

    /// <summary>The real binary on a sample of mutants, alternating unpack modes: exit 0 or 1, one "berth: " line, no stack trace, nothing left in the store, the snapshots or the mount table.</summary>
    [Fact]
    public void The_cli_unpacks_or_refuses_mutated_images_with_one_line_and_leaves_nothing()
    {
        using var s = new Scratch();
        var tars = TarCorpus();
        var docs = DocumentCorpus();
        var random = new Random(4242);
        int unpacked = 0, refused = 0;
        for (int i = 0; i < CliSamples; i++)
        {
            var dir = s.P($"img-{i}");
            var layout = OciLayout.Create(dir);
            // Mutated tars, mutated documents, and (valid digests over) broken gzip or zstd streams.
            var kind = (i % 4) switch { 0 or 1 => "tar", 2 => "document", _ => "compressed" };
            bool zstd = kind == "compressed" && random.Next(2) == 0;
            var m = TestImages.Write(layout, "app", new[] { kind == "tar" ? Mutate(tars[random.Next(tars.Count)], random) : tars[random.Next(tars.Count)] },
                layerType: zstd ? MediaTypes.LayerZstd : MediaTypes.LayerGzip,
                compress: kind != "compressed" ? null : tar => BreakCompressed(zstd ? Zstd(s, tar) : TestImages.Gzip(tar), random));
            if (kind == "document")
            {
                // A mutated config or manifest, reached through valid digests.
                var manifest = JsonNode.Parse(layout.Blobs.ReadAll(m))!.AsObject();
                byte[] bytes;
                if (random.Next(2) == 0)
                {
                    var configDesc = Documents.ParseManifest(layout.Blobs.ReadAll(m), null, "m").Config!;
                    var config = layout.Blobs.Write(MutateJson(layout.Blobs.ReadAll(configDesc), random), MediaTypes.Config);
                    manifest["config"]!["digest"] = config.Digest;
                    manifest["config"]!["size"] = config.Size;
                    bytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
                }
                else bytes = MutateJson(Encoding.UTF8.GetBytes(manifest.ToJsonString()), random);
                layout.Tag("app", layout.Blobs.Write(bytes, MediaTypes.Manifest));
            }
            bool overlay = i % 2 == 1;
            var bundle = s.P($"b-{i}");
            var r = s.Image(overlay ? new[] { "unpack", "--overlay", $"oci:{dir}:app", bundle } : new[] { "unpack", $"oci:{dir}:app", bundle });
            var where = $"case {i} ({(overlay ? "overlay" : "plain")}): exit {r.ExitCode}, stderr {r.Stderr}";
            Assert.True(r.ExitCode is 0 or 1, where);
            Assert.DoesNotContain("   at ", r.Stderr);
            if (r.ExitCode == 0)
            {
                unpacked++;
                s.Image("umount", bundle).Ok();
            }
            else
            {
                refused++;
                OneLine(r.Stderr.TrimEnd('\n'), "berth: image unpack: ", where);
                Assert.False(Directory.Exists(bundle), $"{where}: the bundle was left behind");
            }
            Assert.DoesNotContain(Directory.GetFileSystemEntries(s.Store, ".*", SearchOption.AllDirectories), p => Path.GetFileName(p) != ".lock");
            var snapshots = Path.Combine(s.Dir, "store-snapshots");
            if (Directory.Exists(snapshots)) Assert.Empty(Directory.GetFileSystemEntries(snapshots, ".tmp-*"));
            Assert.DoesNotContain(MountInfo.Read(), mi => mi.MountPoint.StartsWith(s.Dir));
        }
        Assert.True(unpacked > 0 && refused > 0, $"{unpacked} unpacked, {refused} refused");
    }
}
