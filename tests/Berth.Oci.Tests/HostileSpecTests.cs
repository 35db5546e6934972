using System.Text;
using Berth.Oci.Runtime;
using Xunit;

namespace Berth.Oci.Tests;

/// <summary>
/// config.json as an attacker writes it: bytes that are not UTF-8, strings the kernel would cut
/// at a NUL, ids the kernel reads as "no change", numbers a field cannot hold. Each is refused
/// with the field named, before anything could act on it.
/// </summary>
public class HostileSpecTests
{
    const string Process = """ "process": {"args": ["sh"], "cwd": "/"} """;

    static string Config(string extra = "", string process = Process) =>
        $$"""{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, {{process}} {{(extra.Length > 0 ? "," + extra : "")}} }""";

    static SpecException Refused(string json) => Refused(Encoding.UTF8.GetBytes(json));

    static SpecException Refused(byte[] json) => Assert.Throws<SpecException>(() => SpecValidator.Validate(SpecReader.Parse(json)));

    static void Accepted(string json) => SpecValidator.Validate(SpecReader.Parse(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData(new byte[] { 0xff })]             // never valid
    [InlineData(new byte[] { 0xc3 })]             // a lead byte without its continuation
    [InlineData(new byte[] { 0xc0, 0xaf })]       // overlong "/"
    [InlineData(new byte[] { 0xed, 0xa0, 0x80 })] // a UTF-16 surrogate encoded as UTF-8
    [InlineData(new byte[] { 0xf4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    public void Invalid_utf8_anywhere_is_refused_naming_the_file_and_the_byte(byte[] bad)
    {
        foreach (var where in new[] { "args", "env", "annotation key", "annotation value" })
        {
            var text = where switch
            {
                "args" => Config(process: """ "process": {"args": ["s@h"], "cwd": "/"} """),
                "env" => Config(process: """ "process": {"args": ["sh"], "env": ["A=@"], "cwd": "/"} """),
                "annotation key" => Config("""  "annotations": {"@": "v"} """),
                _ => Config(""" "annotations": {"k": "@"} """),
            };
            var bytes = Encoding.UTF8.GetBytes(text);
            int at = Array.IndexOf(bytes, (byte)'@');
            var json = bytes[..at].Concat(bad).Concat(bytes[(at + 1)..]).ToArray();
            var e = Refused(json);
            Assert.Equal("config.json", e.Field);
            Assert.Contains($"invalid UTF-8 at byte {at}", e.Message);
        }
    }

    [Theory]
    [InlineData("""{"ociVersion": "\ud800"}""", "ociVersion")]
    [InlineData("""{"annotations": {"\udc00": "v"}}""", "annotations")]
    [InlineData("""{"process": {"args": ["a\ud83d"]}}""", "process.args[0]")]
    public void A_half_surrogate_escape_is_refused_naming_the_field(string json, string field)
    {
        var e = Assert.Throws<SpecException>(() => SpecReader.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.StartsWith(field, e.Field);
        Assert.Contains("not valid Unicode", e.Message);
    }

    [Theory]
    [InlineData(""" "mounts": [{"destination": "/mnt\u0000/x", "type": "tmpfs", "source": "tmpfs"}] """, "mounts[0].destination")]
    [InlineData(""" "mounts": [{"destination": "/mnt", "type": "bind", "source": "/etc\u0000x"}] """, "mounts[0].source")]
    [InlineData(""" "mounts": [{"destination": "/mnt", "type": "tmpfs", "options": ["size=1m\u0000,ro"]}] """, "mounts[0].options[0]")]
    [InlineData(""" "hostname": "a\u0000b" """, "hostname")]
    [InlineData(""" "linux": {"maskedPaths": ["/proc/kcore\u0000"]} """, "linux.maskedPaths[0]")]
    [InlineData(""" "linux": {"sysctl": {"net.ipv4.ip_forward": "1\u0000"}} """, "linux.sysctl.net.ipv4.ip_forward")]
    [InlineData(""" "annotations": {"k\u0000": "v"} """, "annotations (a property name)")]
    public void A_nul_in_any_string_is_refused_naming_the_field(string extra, string field)
    {
        var e = Assert.Throws<SpecException>(() => SpecReader.Parse(Encoding.UTF8.GetBytes(Config(extra))));
        Assert.Equal(field, e.Field);
        Assert.Contains("NUL", e.Message);
    }

    [Fact]
    public void A_nul_in_process_args_and_env_is_refused_too()
    {
        Assert.Equal("process.args[1]", Assert.Throws<SpecException>(() =>
            SpecReader.Parse(Encoding.UTF8.GetBytes(Config(process: """ "process": {"args": ["sh", "-c\u0000rm"], "cwd": "/"} """)))).Field);
        Assert.Equal("process.env[0]", Assert.Throws<SpecException>(() =>
            SpecReader.Parse(Encoding.UTF8.GetBytes(Config(process: """ "process": {"args": ["sh"], "env": ["A=\u0000"], "cwd": "/"} """)))).Field);
    }

    [Theory]
    [InlineData(""" "user": {"uid": 4294967295, "gid": 0} """, "process.user.uid")]
    [InlineData(""" "user": {"uid": 0, "gid": 4294967295} """, "process.user.gid")]
    [InlineData(""" "user": {"uid": 0, "gid": 0, "additionalGids": [10, 4294967295]} """, "process.user.additionalGids[1]")]
    public void The_kernels_minus_one_is_refused_in_every_process_id_field(string user, string field)
    {
        var e = Refused(Config(process: $$""" "process": {"args": ["sh"], "cwd": "/", {{user}} } """));
        Assert.Equal(field, e.Field);
        Assert.Contains("4294967295 is the kernel's -1", e.Message);
    }

    [Fact]
    public void The_largest_real_id_is_accepted()
    {
        Accepted(Config(process: """ "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 4294967294, "gid": 4294967294, "additionalGids": [4294967294]}} """));
    }

    const string UserNs = """ "namespaces": [{"type": "mount"}, {"type": "user"}] """;

    static string Maps(string uid, string gid = """[{"containerID": 0, "hostID": 100000, "size": 65536}]""") =>
        $$""" "linux": { {{UserNs}}, "uidMappings": {{uid}}, "gidMappings": {{gid}} } """;

    [Theory]
    [InlineData("""[{"containerID": 0, "hostID": 100000, "size": 4294967295}]""", "linux.uidMappings[0]", "reach past")]
    [InlineData("""[{"containerID": 1, "hostID": 1, "size": 4294967295}]""", "linux.uidMappings[0]", "reach past")]
    [InlineData("""[{"containerID": 0, "hostID": 4294967295, "size": 1}]""", "linux.uidMappings[0]", "host ids")]
    [InlineData("""[{"containerID": 4294967295, "hostID": 0, "size": 1}]""", "linux.uidMappings[0]", "container ids")]
    [InlineData("""[{"containerID": 0, "hostID": 100000, "size": 10}, {"containerID": 5, "hostID": 300000, "size": 10}]""", "linux.uidMappings[1]", "container ids overlap")]
    [InlineData("""[{"containerID": 0, "hostID": 100000, "size": 10}, {"containerID": 50, "hostID": 100005, "size": 10}]""", "linux.uidMappings[1]", "host ids overlap")]
    [InlineData("""[{"hostID": 100000, "size": 10}]""", "linux.uidMappings[0].containerID", "required")]
    [InlineData("""[{"containerID": 0, "size": 10}]""", "linux.uidMappings[0].hostID", "required")]
    [InlineData("""[{"containerID": 1, "hostID": 100000, "size": 10}]""", "linux.uidMappings", "container uid 0")]
    public void Id_mappings_the_kernel_would_refuse_are_refused_naming_the_range(string uidMaps, string field, string problem)
    {
        var e = Refused(Config(Maps(uidMaps)));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void More_id_ranges_than_the_kernel_takes_are_refused()
    {
        var ranges = string.Join(",", Enumerable.Range(0, 341).Select(i => $$"""{"containerID": {{i}}, "hostID": {{100000 + i}}, "size": 1}"""));
        Assert.Contains("340", Refused(Config(Maps($"[{ranges}]"))).Message);
    }

    [Theory]
    [InlineData(""" "user": {"uid": 70000, "gid": 0} """, "process.user.uid")]
    [InlineData(""" "user": {"uid": 0, "gid": 65536} """, "process.user.gid")]
    [InlineData(""" "user": {"uid": 0, "gid": 0, "additionalGids": [1, 65536]} """, "process.user.additionalGids[1]")]
    public void With_a_new_user_namespace_the_process_ids_must_be_mapped(string user, string field)
    {
        var e = Refused(Config(Maps("""[{"containerID": 0, "hostID": 100000, "size": 65536}]"""),
            process: $$""" "process": {"args": ["sh"], "cwd": "/", {{user}} } """));
        Assert.Equal(field, e.Field);
        Assert.Contains("is not mapped", e.Message);
    }

    [Theory]
    [InlineData(""" {"path": "/dev/../../x", "type": "c", "major": 1, "minor": 3} """, "linux.devices[0].path")]
    [InlineData(""" {"path": "/dev/./null", "type": "c", "major": 1, "minor": 3} """, "linux.devices[0].path")]
    [InlineData(""" {"path": "/dev//null", "type": "c", "major": 1, "minor": 3} """, "linux.devices[0].path")]
    [InlineData(""" {"path": "/dev/x/..", "type": "c", "major": 1, "minor": 3} """, "linux.devices[0].path")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": 4096, "minor": 3} """, "linux.devices[0].major")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": -1, "minor": 3} """, "linux.devices[0].major")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": 1, "minor": 1048576} """, "linux.devices[0].minor")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "fileMode": 65535} """, "linux.devices[0].fileMode")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "uid": 4294967295} """, "linux.devices[0].uid")]
    [InlineData(""" {"path": "/dev/x", "type": "c", "major": 1, "minor": 3, "gid": 4294967295} """, "linux.devices[0].gid")]
    public void A_device_outside_dev_or_beyond_what_dev_t_holds_is_refused(string device, string field)
    {
        Assert.Equal(field, Refused(Config($$""" "linux": {"devices": [{{device}}]} """)).Field);
    }

    [Theory]
    [InlineData(""" "consoleSize": {"height": 65536, "width": 80} """, "process.consoleSize.height")]
    [InlineData(""" "consoleSize": {"height": 24, "width": 70000} """, "process.consoleSize.width")]
    [InlineData(""" "scheduler": {"policy": "SCHED_FIFO", "priority": -1} """, "process.scheduler.priority")]
    [InlineData(""" "scheduler": {"policy": "SCHED_FIFO", "priority": 100} """, "process.scheduler.priority")]
    public void Numbers_a_field_cannot_hold_are_refused(string extra, string field)
    {
        Assert.Equal(field, Refused(Config(process: $$""" "process": {"args": ["sh"], "cwd": "/", {{extra}} } """)).Field);
    }

    [Theory]
    [InlineData(""" "monotonic": {"secs": 1, "nanosecs": 1000000000} """, "linux.timeOffsets.monotonic.nanosecs")]
    [InlineData(""" "boottime": {"secs": 9223372036854775807, "nanosecs": 0} """, "linux.timeOffsets.boottime.secs")]
    public void Time_offsets_beyond_the_kernels_bounds_are_refused(string offsets, string field)
    {
        var e = Refused(Config($$""" "linux": {"namespaces": [{"type": "mount"}, {"type": "time"}], "timeOffsets": { {{offsets}} } } """));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void Kernel_hostname_as_a_sysctl_is_refused_for_its_own_field_as_runc_does()
    {
        var e = Refused(Config(""" "linux": {"namespaces": [{"type": "mount"}, {"type": "uts"}], "sysctl": {"kernel.hostname": "box"}} """));
        Assert.Equal("linux.sysctl[\"kernel.hostname\"]", e.Field);
        Assert.Contains("hostname field", e.Message);
    }

    [Theory]
    [InlineData("net.ipv4.ip_forward", "network")]
    [InlineData("net.core.somaxconn", "network")]
    [InlineData("kernel.shmmax", "ipc")]
    [InlineData("kernel.msgmnb", "ipc")]
    [InlineData("kernel.sem", "ipc")]
    [InlineData("fs.mqueue.msg_max", "ipc")]
    [InlineData("kernel.hostname", "uts")]
    [InlineData("kernel.domainname", "uts")]
    [InlineData("kernel.pid_max", null)]
    [InlineData("vm.swappiness", null)]
    [InlineData("kernel.core_pattern", null)]
    [InlineData("fs.file-max", null)]
    public void Each_sysctl_family_belongs_to_its_namespace_type(string key, string? type)
    {
        Assert.Equal(type, SpecValidator.SysctlNamespace(key));
        if (type is null)
            Assert.Contains("not in a namespace", Refused(Config($$$""" "linux": {"namespaces": [{"type": "mount"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}], "sysctl": {"{{{key}}}": "1"} } """)).Message);
        else
            Assert.Contains($"needs the container's own {type} namespace", Refused(Config($$$""" "linux": {"namespaces": [{"type": "mount"}], "sysctl": {"{{{key}}}": "1"} } """)).Message);
    }
}
