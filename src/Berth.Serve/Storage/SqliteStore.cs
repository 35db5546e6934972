using Microsoft.Data.Sqlite;

namespace Berth.Serve.Storage;

/// <summary>
/// The embedded default: one SQLite file under --data (WAL journal), one connection used by one
/// caller at a time. The service's work is the scan, not the database: a lock costs nothing here.
/// </summary>
public sealed class SqliteStore : SqlStore
{
    readonly SqliteConnection _connection;
    readonly SemaphoreSlim _gate = new(1, 1);

    public override string Kind => "sqlite";
    protected override string IdType => "INTEGER PRIMARY KEY AUTOINCREMENT";
    protected override string BlobType => "BLOB";
    protected override string ClaimLock => "";
    protected override string MigrationLock => "";

    SqliteStore(SqliteConnection c, FindingsCipher cipher) : base(cipher) => _connection = c;

    public static async Task<SqliteStore> OpenAsync(string path, FindingsCipher cipher)
    {
        // Microsoft.Data.Sqlite finds its provider by reflection, which AOT trims: name it here.
        SQLitePCL.raw.SetProvider(new SQLitePCL.SQLite3Provider_sqlite3());
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        await c.OpenAsync();
        foreach (var pragma in new[] { "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON" })
            await using (var cmd = Command(c, pragma)) await cmd.ExecuteNonQueryAsync();
        var store = new SqliteStore(c, cipher);
        await store.MigrateAsync();
        return store;
    }

    protected override async Task<Lease> OpenAsync()
    {
        await _gate.WaitAsync();
        return new Lease(_connection, () => _gate.Release());
    }

    public override async ValueTask DisposeAsync() => await _connection.DisposeAsync();
}
