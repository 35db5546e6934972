using Berth.Images.Registry;
using Xunit;

namespace Berth.Registry.Tests;

/// <summary>auth.json and docker config.json lookup, credential helpers, WWW-Authenticate parsing.</summary>
public sealed class AuthTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("berth-auth-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));

    RegistryEnvironment Env(string? authFile = null) =>
        new(Path.Combine(_dir, "home"), Path.Combine(_dir, "run"), null, authFile, null, null, 1000);

    [Fact]
    public void The_chain_is_REGISTRY_AUTH_FILE_or_the_runtime_dir_then_the_config_home_then_docker()
    {
        Assert.Equal([Path.Combine(_dir, "run", "containers", "auth.json"), Path.Combine(_dir, "home", ".config", "containers", "auth.json"), Path.Combine(_dir, "home", ".docker", "config.json")],
            AuthFiles.Default(Env()).Paths);
        Assert.Equal("/x/auth.json", AuthFiles.Default(Env("/x/auth.json")).Primary);
        Assert.Equal("/run/containers/1000/auth.json", AuthFiles.DefaultPrimary(Env() with { XdgRuntimeDir = null }));
    }

    [Fact]
    public void The_most_specific_key_wins_and_docker_config_is_read_last()
    {
        var env = Env();
        var primary = AuthFiles.Default(env).Primary;
        Directory.CreateDirectory(Path.GetDirectoryName(primary)!);
        File.WriteAllText(primary, "{\"auths\":{\"quay.io\":{\"auth\":\"" + B64("all:one") + "\"},\"quay.io/team\":{\"auth\":\"" + B64("team:two") + "\"},\"https://index.docker.io/v1/\":{\"auth\":\"" + B64("hub:three") + "\"}}}");
        var docker = Path.Combine(env.Home!, ".docker", "config.json");
        Directory.CreateDirectory(Path.GetDirectoryName(docker)!);
        File.WriteAllText(docker, "{\"auths\":{\"ghcr.io\":{\"auth\":\"" + B64("gh:pass:with:colons") + "\"}}}");
        var files = AuthFiles.Default(env);
        Assert.Equal(new RegistryCredentials("all", "one"), files.Get("quay.io", "other/app"));
        Assert.Equal(new RegistryCredentials("team", "two"), files.Get("quay.io", "team/app"));
        Assert.Equal(new RegistryCredentials("hub", "three"), files.Get("docker.io", "library/busybox"));
        Assert.Equal(new RegistryCredentials("gh", "pass:with:colons"), files.Get("ghcr.io", "x/y"));
        Assert.Null(files.Get("example.com", "x"));
    }

    [Fact]
    public void Store_keeps_the_rest_of_the_file_and_remove_takes_one_key()
    {
        var files = AuthFiles.Default(Env());
        Directory.CreateDirectory(Path.GetDirectoryName(files.Primary)!);
        File.WriteAllText(files.Primary, """{"auths":{"a.io":{"auth":"YTpi"}},"credHelpers":{"helped.io":"none"},"custom":{"keep":true}}""");
        files.Store("b.io", new RegistryCredentials("u", "p"));
        var text = File.ReadAllText(files.Primary);
        Assert.Contains("\"a.io\"", text);
        Assert.Contains("\"b.io\"", text);
        Assert.Contains("\"custom\"", text);
        Assert.Contains("\"helped.io\"", text);
        Assert.Equal(new RegistryCredentials("u", "p"), files.Get("b.io", "x"));
        Assert.True(files.Remove("a.io"));
        Assert.Null(files.Get("a.io", "x"));
        Assert.NotNull(files.Get("b.io", "x"));
    }

    [Fact]
    public void A_credential_helper_is_asked_with_the_server_on_stdin()
    {
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        var log = Path.Combine(_dir, "helper.log");
        var helper = Path.Combine(bin, "docker-credential-berthtest");
        File.WriteAllText(helper, $$"""
            #!/bin/sh
            read server
            echo "$1 $server" >> {{log}}
            case "$server" in
              helped.io) echo '{"ServerURL":"helped.io","Username":"hu","Secret":"hs"}' ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """);
        File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var env = Env();
        var primary = AuthFiles.Default(env).Primary;
        Directory.CreateDirectory(Path.GetDirectoryName(primary)!);
        File.WriteAllText(primary, """{"auths":{},"credHelpers":{"helped.io":"berthtest"},"credsStore":"berthtest"}""");
        var path = Environment.GetEnvironmentVariable("PATH");
        // PATH is the helper protocol's lookup; this test's directory goes first, nothing else changes.
        Environment.SetEnvironmentVariable("PATH", bin + ":" + path);
        try
        {
            var files = AuthFiles.Default(env);
            Assert.Equal(new RegistryCredentials("hu", "hs"), files.Get("helped.io", "x"));
            Assert.Null(files.Get("other.io", "x")); // credsStore asked, "not found" is no credentials
            Assert.Equal(["get helped.io", "get other.io"], File.ReadAllLines(log));
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }

    [Fact]
    public void A_missing_helper_is_a_clear_error()
    {
        var e = Assert.Throws<RegistryException>(() => CredentialHelper.Get("berth-no-such-helper", "x.io"));
        Assert.Contains("docker-credential-berth-no-such-helper", e.Message);
    }

    [Fact]
    public void WWW_Authenticate_challenges_are_parsed_with_quoted_commas()
    {
        var c = AuthChallenge.ParseAll("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:samalba/my-app:pull,push\"");
        var b = Assert.Single(c);
        Assert.True(b.IsBearer);
        Assert.Equal("https://auth.docker.io/token", b.Realm);
        Assert.Equal("registry.docker.io", b.Service);
        Assert.Equal("repository:samalba/my-app:pull,push", b.Scope);
        var two = AuthChallenge.ParseAll("Basic realm=\"x\", Bearer realm=\"y\",service=z");
        Assert.Equal(["Basic", "Bearer"], two.Select(x => x.Scheme));
        Assert.Equal("z", two[1].Service);
    }

    [Fact]
    public void Credentials_never_print_their_secret() =>
        Assert.DoesNotContain("hunter2", new RegistryCredentials("u", "hunter2").ToString());
}
