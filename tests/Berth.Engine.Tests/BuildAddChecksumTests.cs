using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>`ADD --checksum=sha256:…`: the download is checked before anything lands.</summary>
public sealed class BuildAddChecksumTests : IDisposable
{
    readonly EngineSandbox _e = new();
    readonly string _ctx;
    static readonly byte[] Body = "downloaded content\n"u8.ToArray();

    public BuildAddChecksumTests()
    {
        _ctx = Path.Combine(_e.Dir, "ctx");
        Directory.CreateDirectory(_ctx);
    }

    public void Dispose() => _e.Dispose();

    [Fact]
    public void ADD_with_the_right_checksum_lands_and_a_wrong_one_fails_naming_both_digests_and_builds_nothing()
    {
        var server = new LoopbackFileServer(Body);
        int port = server.Port;
        try
        {
            var right = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Body));
            var wrong = "sha256:" + new string('0', 64);
            File.WriteAllText(Path.Combine(_ctx, "Containerfile"), $"FROM test/busybox\nADD --checksum={right} http://127.0.0.1:{port}/dl.txt /dl.txt\n");
            _e.Run("build", "-t", "test/sum-ok", _ctx).Ok();
            Assert.Equal("downloaded content\n", _e.Run("run", "--rm", "test/sum-ok", "cat", "/dl.txt").Ok().Stdout);

            var images = _e.Run("image", "ls").Ok().Stdout;
            File.WriteAllText(Path.Combine(_ctx, "Containerfile"), $"FROM test/busybox\nADD --checksum={wrong} http://127.0.0.1:{port}/dl.txt /dl.txt\n");
            var r = _e.Run("build", "-t", "test/sum-bad", "--no-cache", _ctx);
            Assert.NotEqual(0, r.ExitCode);
            Assert.StartsWith("berth: ", r.Stderr);
            Assert.Contains($"checksum mismatch: expected {wrong}, got {right}", r.Stderr);
            Assert.Equal(images, _e.Run("image", "ls").Ok().Stdout);
            Assert.Empty(_e.Mounts());
        }
        finally
        {
            server.Dispose();
        }
    }
}
