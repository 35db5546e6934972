using Berth.Engine.Network;
using Xunit;

namespace Berth.Engine.Tests.Network;

public class PortMappingTests
{
    [Theory]
    [InlineData("8080:80", "", 8080, 80, "tcp")]
    [InlineData("127.0.0.1:8080:80/udp", "127.0.0.1", 8080, 80, "udp")]
    [InlineData("127.0.0.1::80", "127.0.0.1", 0, 80, "tcp")]
    [InlineData("80", "", 0, 80, "tcp")]
    [InlineData("80/TCP", "", 0, 80, "tcp")]
    [InlineData("[::1]:8080:80", "::1", 8080, 80, "tcp")]
    public void Docker_p_values_parse(string value, string ip, int host, int ctr, string protocol) =>
        Assert.Equal(new PortMapping(ip, host, ctr, protocol), Assert.Single(PortMapping.Parse(value)));

    [Fact]
    public void A_range_maps_port_by_port()
    {
        Assert.Equal(new[] { new PortMapping("", 8000, 80, "tcp"), new PortMapping("", 8001, 81, "tcp") }, PortMapping.Parse("8000-8001:80-81"));
        Assert.Equal(new[] { new PortMapping("", 0, 80, "udp"), new PortMapping("", 0, 81, "udp") }, PortMapping.Parse("80-81/udp"));
    }

    [Theory]
    [InlineData("", "container port \"\" is not a number")]
    [InlineData("http", "container port \"http\" is not a number")]
    [InlineData("8080:0", "container port 0 is not in 1-65535")]
    [InlineData("70000:80", "host port 70000 is not in 1-65535")]
    [InlineData("80/icmp", "unknown protocol \"icmp\"")]
    [InlineData("1.2.3:80:80", "\"1.2.3\" is not an IP address")]
    [InlineData("8000-8002:80-81", "differ in length")]
    [InlineData("90-80", "ends before it starts")]
    [InlineData("a:b:c:d", "too many colons")]
    public void Bad_values_are_one_line_naming_the_flag_value(string value, string why)
    {
        var e = Assert.Throws<NetworkException>(() => PortMapping.Parse(value));
        Assert.StartsWith($"-p \"{value}\": ", e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Hosts_and_resolv_conf_render_as_containers_expect()
    {
        var hosts = HostsFiles.RenderHosts(new[] { new HostsFiles.Entry("10.1.0.2", new[] { "h", "c1", "web" }) }, new[] { "db:10.9.9.9" },
            new[] { new HostsFiles.Entry("10.1.0.3", new[] { "peer", "web" }) });
        Assert.StartsWith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", hosts);
        Assert.Contains("10.1.0.2\th c1 web\n", hosts);
        Assert.Contains("10.9.9.9\tdb\n", hosts);
        Assert.Contains("10.1.0.3\tpeer\n", hosts);
        // Loopback nameservers cannot answer from a netns; search and options stay.
        Assert.Equal("search example\nnameserver 10.0.0.53\n", HostsFiles.RenderResolvConf("nameserver 127.0.0.53\nsearch example\nnameserver 10.0.0.53\n", Array.Empty<string>()));
        Assert.Equal("nameserver 127.0.0.53\n", HostsFiles.RenderResolvConf("nameserver 127.0.0.53\n", Array.Empty<string>()));
        Assert.Equal("search example\nnameserver 10.2.2.2\n", HostsFiles.RenderResolvConf("nameserver 10.0.0.53\nsearch example\n", new[] { "10.2.2.2" }));
    }
}
