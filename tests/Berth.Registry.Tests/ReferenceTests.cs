using Berth.Images.Registry;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>distribution/reference's grammar and normalisation, as docker, podman and skopeo share them.</summary>
public sealed class ReferenceTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox", "docker.io", "library/busybox", null, null)]
    [InlineData("busybox:1.36", "docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", null)]
    [InlineData("docker://alpine", "docker.io/library/alpine", "docker.io", "library/alpine", null, null)]
    [InlineData("user/app", "docker.io/user/app", "docker.io", "user/app", null, null)]
    [InlineData("index.docker.io/library/nginx:latest", "docker.io/library/nginx:latest", "docker.io", "library/nginx", "latest", null)]
    [InlineData("docker.io/nginx", "docker.io/library/nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("localhost/app", "localhost/app", "localhost", "app", null, null)]
    [InlineData("localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1", "localhost:5000", "a/b/c", "v1", null)]
    [InlineData("127.0.0.1:5000/app", "127.0.0.1:5000/app", "127.0.0.1:5000", "app", null, null)]
    [InlineData("quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io/org/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "quay.io", "org/app", null, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("Registry/app", "Registry/app", "Registry", "app", null, null)]
    [InlineData("[::1]:5000/app:t", "[::1]:5000/app:t", "[::1]:5000", "app", "t", null)]
    [InlineData("a.b/x__y.z-w---v", "a.b/x__y.z-w---v", "a.b", "x__y.z-w---v", null, null)]
    public void References_are_parsed_and_normalised(string text, string full, string registry, string repository, string? tag, string? digest)
    {
        var r = Reference.Parse(text);
        Assert.Equal(full, r.ToString());
        Assert.Equal(registry, r.Registry);
        Assert.Equal(repository, r.Repository);
        Assert.Equal(tag, r.Tag);
        Assert.Equal(digest, r.Digest);
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER")]
    [InlineData("docker.io/Library/x")]
    [InlineData("app:")]
    [InlineData("app:-bad")]
    [InlineData("app@sha256:short")]
    [InlineData("a//b")]
    [InlineData("a/b_")]
    [InlineData("host:port/app")]
    [InlineData("-host.io/app")]
    [InlineData("a/b:" + "t12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678")]
    public void Invalid_references_are_refused_naming_the_input(string text)
    {
        var e = Assert.Throws<RegistryException>(() => Reference.Parse(text));
        Assert.StartsWith($"invalid reference \"{text}\"", e.Message);
    }

    [Fact]
    public void Identifier_familiar_form_and_defaults()
    {
        var r = Reference.Parse("busybox");
        Assert.Equal("latest", r.Identifier);
        Assert.Equal("busybox", r.Familiar());
        Assert.Equal("docker.io/library/busybox:latest", r.WithDefaultTag().ToString());
        var both = Reference.Parse("busybox:1@sha256:" + new string('a', 64));
        Assert.Equal("sha256:" + new string('a', 64), both.Identifier);
        Assert.Equal("quay.io/a/b:v2", Reference.Parse("quay.io/a/b:v1").WithTag("v2").ToString());
        Assert.Equal("docker.io/user/app:1", Reference.Parse("user/app:1").ToString());
        Assert.Equal("user/app:1", Reference.Parse("user/app:1").Familiar());
    }

    [Theory]
    [InlineData("busybox", true)]
    [InlineData("library/busybox:1", true)]
    [InlineData("docker.io/busybox", false)]
    [InlineData("localhost/app", false)]
    [InlineData("host:5000/app", false)]
    public void Short_names_are_those_without_a_registry(string name, bool isShort) => Assert.Equal(isShort, Reference.IsShortName(name));
}
