using System.Text;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Xunit;

namespace Berth.Oci.Tests;

public class SpecReaderTests
{
    const string Minimal = """
        {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
         "process": {"args": ["sh"], "cwd": "/"}}
        """;

    static Spec Parse(string json) => SpecReader.Parse(Encoding.UTF8.GetBytes(json));

    static SpecException Fails(string json) => Assert.Throws<SpecException>(() =>
    {
        var spec = Parse(json);
        SpecValidator.Validate(spec);
    });

    [Fact]
    public void A_minimal_config_parses_and_validates()
    {
        var spec = Parse(Minimal);
        SpecValidator.Validate(spec);
        Assert.Equal(new[] { "sh" }, spec.Process!.Args);
    }

    [Fact]
    public void Unknown_properties_are_ignored_as_the_spec_requires()
    {
        var spec = Parse("""{"ociVersion": "1.0.2", "futureField": {"x": [1, 2]}, "root": {"path": "r", "shiny": true}}""");
        Assert.Equal("r", spec.Root!.Path);
    }

    [Theory]
    [InlineData("""{"ociVersion": 1}""", "ociVersion", "expected a string, found a number")]
    [InlineData("""{"process": {"args": "sh"}}""", "process.args", "expected an array")]
    [InlineData("""{"process": {"args": ["sh", 3]}}""", "process.args[1]", "expected a string")]
    [InlineData("""{"process": {"user": {"uid": -1}}}""", "process.user.uid", "non-negative")]
    [InlineData("""{"process": {"user": {"uid": 4294967296}}}""", "process.user.uid", "out of range")]
    [InlineData("""{"root": {"readonly": "yes"}}""", "root.readonly", "expected a boolean")]
    [InlineData("""{"linux": {"namespaces": [{"type": "pid"}, 7]}}""", "linux.namespaces[1]", "expected an object")]
    [InlineData("""{"annotations": {"a": 1}}""", "annotations.a", "expected a string")]
    [InlineData("""{"mounts": {}}""", "mounts", "expected an array")]
    public void A_wrong_type_names_the_field(string json, string field, string problem)
    {
        var e = Assert.Throws<SpecException>(() => Parse(json));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void Malformed_json_says_where()
    {
        var e = Assert.Throws<SpecException>(() => Parse("{\"ociVersion\": \"1.0\",\n  \"root\": }"));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void A_root_that_is_not_an_object_is_rejected() =>
        Assert.Contains("expected an object", Assert.Throws<SpecException>(() => Parse("[1]")).Message);

    [Theory]
    [InlineData("""{"root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}}""", "ociVersion")]
    [InlineData("""{"ociVersion": "2.0.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}}""", "ociVersion")]
    [InlineData("""{"ociVersion": "1.0.2", "process": {"args": ["sh"], "cwd": "/"}}""", "root")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {}, "process": {"args": ["sh"], "cwd": "/"}}""", "root.path")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}}""", "process")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": [], "cwd": "/"}}""", "process.args")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "tmp"}}""", "process.cwd")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/", "env": ["NOEQUALS"]}}""", "process.env[0]")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]}}""", "process.rlimits[0].type")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 2}]}}""", "process.rlimits[0]")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "mounts": [{"type": "tmpfs"}]}""", "mounts[0].destination")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": [{"type": "bogus"}]}}""", "linux.namespaces[0].type")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}}""", "linux.namespaces[1].type")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "hostname": "h"}""", "hostname")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {"namespaces": [{"type": "user"}]}}""", "linux.uidMappings")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {"timeOffsets": {"monotonic": {"secs": 1}}}}""", "linux.timeOffsets")]
    [InlineData("""{"ociVersion": "1.0.2", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {"rootfsPropagation": "sideways"}}""", "linux.rootfsPropagation")]
    public void A_broken_rule_names_the_field(string json, string field) => Assert.Equal(field, Fails(json).Field);

    [Fact]
    public void The_default_spec_round_trips_through_json()
    {
        var bytes = JsonOut.Document(DefaultSpec.Create(), indent: "\t");
        var again = SpecReader.Parse(bytes);
        SpecValidator.Validate(again);
        Assert.Equal(bytes, JsonOut.Document(again, indent: "\t"));
    }

    [Fact]
    public void Rootless_spec_maps_the_caller_and_drops_the_network_namespace()
    {
        var spec = DefaultSpec.ToRootless(DefaultSpec.Create(), 1000, 1001);
        Assert.Contains(spec.Linux!.Namespaces!, n => n.Type == "user");
        Assert.DoesNotContain(spec.Linux.Namespaces!, n => n.Type == "network");
        Assert.Equal(1000u, spec.Linux.UidMappings![0].HostId);
        Assert.Equal(1001u, spec.Linux.GidMappings![0].HostId);
        Assert.Null(spec.Linux.Resources);
        Assert.DoesNotContain(spec.Mounts!.SelectMany(m => m.Options ?? new()), o => o.StartsWith("gid="));
        SpecValidator.Validate(spec);
    }
}
