using Npgsql;

namespace Berth.Serve.Storage;

/// <summary>PostgreSQL through Npgsql's pooled data source; the queue claim takes its row with SKIP LOCKED, so several services can share one database.</summary>
public sealed class PostgresStore : SqlStore
{
    readonly NpgsqlDataSource _source;

    public override string Kind => "postgres";
    protected override string IdType => "BIGSERIAL PRIMARY KEY";
    protected override string BlobType => "BYTEA";
    protected override string ClaimLock => "FOR UPDATE SKIP LOCKED";
    protected override string MigrationLock => "LOCK TABLE schema_version IN EXCLUSIVE MODE";

    PostgresStore(NpgsqlDataSource source, FindingsCipher cipher) : base(cipher) => _source = source;

    public static async Task<PostgresStore> OpenAsync(string url, FindingsCipher cipher)
    {
        var source = new NpgsqlSlimDataSourceBuilder(ConnectionString(url)).Build();
        var store = new PostgresStore(source, cipher);
        try { await store.MigrateAsync(); }
        catch { await source.DisposeAsync(); throw; }
        return store;
    }

    /// <summary>postgres://user:password@host:port/db?host=/run/socketdir — libpq's URL form, a unix socket directory allowed as ?host=.</summary>
    public static string ConnectionString(string url)
    {
        if (!url.StartsWith("postgres://", StringComparison.Ordinal) && !url.StartsWith("postgresql://", StringComparison.Ordinal))
            throw new ServeException(0, $"--database: \"{url}\" is not a postgres:// URL");
        Uri uri;
        try { uri = new Uri(url); }
        catch (UriFormatException e) { throw new ServeException(0, $"--database: {e.Message}"); }
        var b = new NpgsqlConnectionStringBuilder();
        if (uri.Host.Length > 0) b.Host = uri.Host;
        if (uri.Port > 0) b.Port = uri.Port;
        var db = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (db.Length > 0) b.Database = db;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            b.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) b.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (kv[0])
            {
                case "host": b.Host = value; break;
                case "sslmode": b.SslMode = Enum.Parse<SslMode>(value.Replace("-", ""), ignoreCase: true); break;
                default: throw new ServeException(0, $"--database: unknown parameter \"{kv[0]}\" (host, sslmode)");
            }
        }
        return b.ConnectionString;
    }

    protected override async Task<Lease> OpenAsync()
    {
        var c = await _source.OpenConnectionAsync();
        return new Lease(c, c.Dispose);
    }

    public override async ValueTask DisposeAsync() => await _source.DisposeAsync();
}
