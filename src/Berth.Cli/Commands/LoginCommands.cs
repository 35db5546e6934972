using System.Text;
using Berth.Images;
using Berth.Images.Registry;
using Berth.Linux;

namespace Berth.Cli.Commands;

/// <summary>
/// `berth login HOST` and `berth logout HOST|--all`, podman's: the credentials are tried against
/// the registry first, then written to containers' auth.json ($REGISTRY_AUTH_FILE,
/// $XDG_RUNTIME_DIR/containers/auth.json, or --authfile), which skopeo and podman read.
/// </summary>
public static class LoginCommands
{
    static readonly Flag[] LoginFlags =
    {
        new("username", 'u', true), new("password", 'p', true), new("password-stdin"), new("authfile", null, true),
        new("tls-verify"), new("cert-dir", null, true), new("registries-conf", null, true), new("get-login"), new("debug"),
    };

    static readonly Flag[] LogoutFlags = { new("all", 'a'), new("authfile", null, true) };

    public static int Login(IReadOnlyList<string> args) => Named("login", () =>
    {
        var cl = CommandLine.Parse(args, LoginFlags, stopAtPositional: false);
        if (cl.Positional.Count != 1) throw new UsageException("login: one registry is required (HOST[:PORT])");
        var key = cl.Positional[0];
        using var settings = RegistryCommands.Settings(cl, null);
        var files = settings.AuthFiles;
        if (cl.Has("get-login"))
        {
            var existing = files.Get(RegistryLogin.NormalizeHost(key), "") ?? throw new RegistryException($"not logged in to {RegistryLogin.NormalizeHost(key)}");
            Output.Write(existing.Username + "\n");
            return 0;
        }
        if (cl.Has("password-stdin") && cl.Value("password") is not null) throw new UsageException("login: --password and --password-stdin: one or the other");
        var user = cl.Value("username") ?? Prompt("Username: ", echo: true)
            ?? throw new UsageException("login: a user name is required (-u USER; stdin is not a terminal to ask on)");
        string? password = cl.Value("password");
        if (cl.Has("password-stdin")) password = ReadStdin().TrimEnd('\n', '\r');
        password ??= Prompt("Password: ", echo: false) ?? throw new UsageException("login: a password is required (-p PASSWORD or --password-stdin)");
        if (user.Length == 0) throw new UsageException("login: the user name is empty");
        RegistryLogin.LoginAsync(key, new RegistryCredentials(user, password), files, settings.Options).GetAwaiter().GetResult();
        Output.Write("Login Succeeded!\n");
        return 0;
    });

    public static int Logout(IReadOnlyList<string> args) => Named("logout", () =>
    {
        var cl = CommandLine.Parse(args, LogoutFlags, stopAtPositional: false);
        var files = AuthFiles.Default(RegistryEnvironment.FromProcess(), cl.Value("authfile"));
        if (cl.Has("all"))
        {
            if (cl.Positional.Count > 0) throw new UsageException("logout: --all and a registry: one or the other");
            files.RemoveAll();
            Output.Write("Removed login credentials for all registries\n");
            return 0;
        }
        if (cl.Positional.Count != 1) throw new UsageException("logout: one registry is required (HOST[:PORT], or --all)");
        var key = cl.Positional[0];
        if (!RegistryLogin.Logout(key, files)) throw new RegistryException($"not logged in to {RegistryLogin.NormalizeHost(key)}");
        Output.Write($"Removed login credentials for {RegistryLogin.NormalizeHost(key)}\n");
        return 0;
    });

    /// <summary>One line: "berth: login: 127.0.0.1:5000: logging in: invalid username/password".</summary>
    static int Named(string command, Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (e is RegistryException or IOException or UnauthorizedAccessException or LinuxException)
        {
            throw new ImageException(Quote.Line($"{command}: {e.Message}"), e);
        }
    }

    static string ReadStdin()
    {
        using var stdin = new SafeFd(0, ownsHandle: false);
        return Encoding.UTF8.GetString(Files.ReadToEnd(stdin));
    }

    /// <summary>Asks on the terminal (without echo for a password); null when stdin is not one.</summary>
    internal static string? Prompt(string question, bool echo)
    {
        if (!Terminal.IsTerminal(0)) return null;
        using (var stderr = new SafeFd(2, ownsHandle: false)) Files.WriteAll(stderr, Encoding.UTF8.GetBytes(question), "stderr");
        byte[]? saved = echo ? null : Terminal.MakeRaw(0);
        try
        {
            var line = new List<byte>();
            var one = new byte[1];
            using var stdin = new SafeFd(0, ownsHandle: false);
            while (Files.Read(stdin, one) == 1 && one[0] is not ((byte)'\n' or (byte)'\r'))
            {
                if (one[0] == 3) throw new UsageException("login: interrupted");
                line.Add(one[0]);
            }
            return Encoding.UTF8.GetString(line.ToArray());
        }
        finally
        {
            if (saved is not null)
            {
                Terminal.Restore(0, saved);
                Runtime.Log.Stderr("");
            }
        }
    }
}
