using System.Text;
using System.Text.Json.Nodes;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Xunit;

namespace Berth.Oci.Tests;

/// <summary>DESIGN.md: fields Berth does not model survive a read and a write.</summary>
public class RoundTripTests
{
    /// <summary>Unknown members at every depth: the root, objects, arrays of objects, maps of objects.</summary>
    public const string WithExtensions = """
        {
          "ociVersion": "1.2.0",
          "x-root": {"nested": [1, {"deep": true}], "n": null},
          "process": {
            "args": ["sh"], "cwd": "/", "x-process": "p",
            "capabilities": {"bounding": ["CAP_KILL"], "x-caps": 1},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 10, "x-rlimit": [true]}],
            "user": {"uid": 0, "gid": 0, "x-user": {}}
          },
          "root": {"path": "rootfs", "x-root-path": 1.5},
          "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "x-mount": "m"}],
          "hooks": {"prestart": [{"path": "/bin/true", "x-hook": 2}], "x-hooks": []},
          "annotations": {"org.example.a": "1", "com.vendor/b": "2"},
          "linux": {
            "x-linux": {"a": "b"},
            "namespaces": [{"type": "pid", "x-ns": 1}],
            "resources": {
              "x-resources": {"future": 1},
              "memory": {"limit": 1048576, "x-memory": -1},
              "cpu": {"shares": 512, "x-cpu": "c"},
              "pids": {"limit": 10, "x-pids": 3},
              "blockIO": {"weight": 0, "x-blkio": 1,
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 100, "x-td": 1}],
                "weightDevice": [{"major": 8, "minor": 0, "weight": 10, "x-wd": 2}]},
              "hugepageLimits": [{"pageSize": "2MB", "limit": 0, "x-huge": 1}],
              "rdma": {"mlx5_0": {"hcaHandles": 1, "x-rdma": 1}},
              "unified": {"memory.high": "1G"},
              "devices": [{"allow": false, "access": "rwm", "x-dev": 1}]
            },
            "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "x-seccomp": 1,
              "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "x-sys": 1,
                "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "x-arg": 1}]}]},
            "vendorExtension": {"com.example": {"k": [1, 2, 3]}}
          }
        }
        """;

    [Fact]
    public void A_config_with_unknown_fields_at_every_depth_round_trips_losslessly()
    {
        var spec = SpecReader.Parse(Encoding.UTF8.GetBytes(WithExtensions));
        var written = JsonOut.Document(spec);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(WithExtensions), JsonNode.Parse(written)),
            $"round trip changed the document:\n{Encoding.UTF8.GetString(written)}");
        // And what is modelled is still read as before.
        Assert.Equal(512UL, spec.Linux!.Resources!.Cpu!.Shares);
        Assert.Equal("p", (string)JsonNode.Parse(spec.Process!.Unknown!.Single().Utf8Value)!);
    }

    [Fact]
    public void A_change_to_a_modelled_field_keeps_the_unknown_ones_around_it()
    {
        var spec = SpecReader.Parse(Encoding.UTF8.GetBytes(WithExtensions));
        spec.Linux!.Resources!.Memory!.Limit = 2097152;
        var after = JsonNode.Parse(JsonOut.Document(spec))!;
        var expected = JsonNode.Parse(WithExtensions)!;
        expected["linux"]!["resources"]!["memory"]!["limit"] = 2097152;
        Assert.True(JsonNode.DeepEquals(expected, after), after.ToJsonString());
    }
}

public class RoundTripEdgeTests
{
    [Theory]
    [InlineData("""{"x-a":"\ud800"}""")]
    [InlineData("""{"x-a":{"b":"\udc00x"}}""")]
    public void An_unknown_value_with_a_broken_escape_is_written_back_as_it_was(string json)
    {
        var spec = SpecReader.Parse(Encoding.UTF8.GetBytes(json));
        // Kept as the bytes read: nothing to unescape, nothing to break.
        Assert.Equal(json, Encoding.UTF8.GetString(JsonOut.Document(spec)));
    }

    [Fact]
    public void An_unknown_name_with_a_broken_escape_is_refused_naming_where()
    {
        var e = Assert.Throws<SpecException>(() => SpecReader.Parse(Encoding.UTF8.GetBytes("""{"process":{"\ud800":1}}""")));
        Assert.Equal("process", e.Field);
    }
}

public class ImageRoundTripTests
{
    [Fact]
    public void An_index_with_vendor_fields_round_trips_losslessly()
    {
        const string json = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","x-index":{"a":1},
             "manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1,
               "platform":{"os":"linux","architecture":"amd64","x-platform":true},"x-desc":[1]}],
             "annotations":{"org.opencontainers.image.ref.name":"v1"}}
            """;
        var index = JsonIn.Parse(Encoding.UTF8.GetBytes(json), "index.json", Berth.Oci.Image.ImageIndex.Read);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(JsonOut.Document(index))), Encoding.UTF8.GetString(JsonOut.Document(index)));
    }
}
