using System.Diagnostics;

namespace Berth.Serve.Tests.Fixtures;

/// <summary>
/// Debian's PostgreSQL server with a data dir of its own (initdb, trust auth), listening only on a
/// unix socket in a temp dir, run as the `postgres` user (the server refuses root) through setpriv,
/// which execs, so the pid is the postmaster's; stopped by that pid (SIGINT: fast shutdown) and removed.
/// </summary>
public sealed class Postgres : IDisposable
{
    public const string Bin = "/usr/lib/postgresql/15/bin";
    public string Dir { get; } = Directory.CreateTempSubdirectory("berth-pg-").FullName;
    public string DataDir => Path.Combine(Dir, "data");
    public string SocketDir => Path.Combine(Dir, "sock");
    public int Port { get; } = 5432 + Random.Shared.Next(1000, 20000);
    /// <summary>A URL for --database: the socket directory as libpq's ?host=.</summary>
    public string Url => $"postgres://postgres@localhost:{Port}/postgres?host={SocketDir}";
    readonly Process? _server;

    public Postgres()
    {
        try
        {
            Directory.CreateDirectory(DataDir);
            Directory.CreateDirectory(SocketDir);
            Run("chown", "-R", "postgres:postgres", Dir);
            Run("setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--", Path.Combine(Bin, "initdb"), "-D", DataDir, "--auth=trust", "-U", "postgres", "--no-sync");
            var psi = new ProcessStartInfo("setpriv") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "--reuid=postgres", "--regid=postgres", "--clear-groups", "--", Path.Combine(Bin, "postgres"), "-D", DataDir, "-k", SocketDir, "-p", Port.ToString(),
                         "-c", "listen_addresses=", "-c", "fsync=off" })
                psi.ArgumentList.Add(a);
            _server = Process.Start(psi)!;
            _server.BeginErrorReadLine();
            _server.BeginOutputReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Run(Path.Combine(Bin, "pg_isready"), false, "-h", SocketDir, "-p", Port.ToString()) != 0)
            {
                if (_server.HasExited) throw new InvalidOperationException($"postgres exited {_server.ExitCode}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("postgres not ready in 60 s");
                Thread.Sleep(100);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>psql -At -c SQL: the rows as text.</summary>
    public string Query(string sql)
    {
        var psi = new ProcessStartInfo(Path.Combine(Bin, "psql")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-h", SocketDir, "-p", Port.ToString(), "-U", "postgres", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"psql: {err.Result}");
        return output;
    }

    static void Run(string file, params string[] args)
    {
        if (Run(file, true, args) != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed");
    }

    static int Run(string file, bool show, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && show) Console.Error.WriteLine(err.Result);
        return p.ExitCode;
    }

    public void Dispose()
    {
        if (_server is { HasExited: false })
        {
            Posix.Kill(_server.Id, 2);
            if (!_server.WaitForExit(30_000)) { _server.Kill(); _server.WaitForExit(); }
        }
        _server?.Dispose();
        try { Directory.Delete(Dir, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
