using System.Net.Sockets;
using Xunit;

namespace Berth.Engine.Tests;

/// <summary>
/// A fact that needs Debian's mirror (the one /etc/apt/sources.list.d names): skipped, with the
/// reason, only when the mirror cannot be reached from this machine.
/// </summary>
public sealed class DebianMirrorFactAttribute : FactAttribute
{
    public const string Mirror = "deb.debian.org";

    public DebianMirrorFactAttribute()
    {
        try
        {
            using var tcp = new TcpClient();
            if (!tcp.ConnectAsync(Mirror, 80).Wait(TimeSpan.FromSeconds(5))) Skip = $"{Mirror}:80 does not answer: no Debian base (debootstrap) and no apt-get";
        }
        catch (Exception e) when (e is SocketException or AggregateException)
        {
            Skip = $"{Mirror}:80 is unreachable ({e.GetBaseException().Message}): no Debian base (debootstrap) and no apt-get";
        }
    }
}

/// <summary>
/// A Debian stage: a `debootstrap --variant=minbase bookworm` rootfs (about 2 minutes here; set
/// BERTH_TEST_DEBIAN_TAR to a tarball of one made before to skip that) imported as the base, and
/// the suite's one apt-get RUN, on the host network as buildah's default.
/// </summary>
public sealed class BuildDebianTests : IDisposable
{
    readonly EngineSandbox _e = new();

    public void Dispose() => _e.Dispose();

    string DebianTar()
    {
        if (Environment.GetEnvironmentVariable("BERTH_TEST_DEBIAN_TAR") is { Length: > 0 } given && File.Exists(given)) return given;
        var root = Path.Combine(_e.Dir, "debian");
        Commands.Exec("debootstrap", "--variant=minbase", "bookworm", root, $"http://{DebianMirrorFactAttribute.Mirror}/debian").Ok();
        var tar = Path.Combine(_e.Dir, "debian.tar");
        Commands.Exec("tar", "--numeric-owner", "--xattrs", "-C", root, "-cf", tar, ".").Ok();
        Commands.Exec("rm", "-rf", root).Ok();
        return tar;
    }

    [DebianMirrorFact]
    public void Apt_get_installs_a_package_in_a_debian_stage_and_the_built_image_runs_it()
    {
        _e.Run("image", "import", DebianTar(), "localhost/test/debian:bookworm").Ok();
        var ctx = Path.Combine(_e.Dir, "ctx");
        Directory.CreateDirectory(ctx);
        File.WriteAllText(Path.Combine(ctx, "Containerfile"), """
            FROM localhost/test/debian:bookworm
            ENV DEBIAN_FRONTEND=noninteractive
            RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends hello && rm -rf /var/lib/apt/lists/*
            CMD ["hello"]
            """);
        _e.Run("build", "-t", "localhost/test/hello", ctx).Ok();
        Assert.Equal("Hello, world!\n", _e.Run("run", "--rm", "localhost/test/hello").Ok().Stdout);
        // dpkg recorded the package in the image's own database.
        Assert.Contains("ii  hello", _e.Run("run", "--rm", "localhost/test/hello", "dpkg", "-l", "hello").Ok().Stdout);
    }
}
