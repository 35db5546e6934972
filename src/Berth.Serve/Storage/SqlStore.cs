using System.Data.Common;
using System.Text;
using System.Text.Json;

namespace Berth.Serve.Storage;

/// <summary>
/// The store over ADO.NET: the same SQL for SQLite and PostgreSQL, the dialects differing in how a
/// connection is had (<see cref="OpenAsync"/>), two type words and the queue claim's row lock.
/// </summary>
public abstract class SqlStore : IServeStore
{
    protected readonly FindingsCipher Cipher;
    public abstract string Kind { get; }
    public int SchemaVersion { get; private set; }

    protected SqlStore(FindingsCipher cipher) => Cipher = cipher;

    /// <summary>A connection to use and give back (Dispose returns it; the SQLite store serialises through it).</summary>
    protected abstract Task<Lease> OpenAsync();
    protected abstract string IdType { get; }
    protected abstract string BlobType { get; }
    /// <summary>PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two workers (or two services) never claim one job.</summary>
    protected abstract string ClaimLock { get; }
    protected abstract string MigrationLock { get; }

    protected sealed class Lease(DbConnection connection, Action release) : IDisposable
    {
        public DbConnection Connection { get; } = connection;
        public void Dispose() => release();
    }

    static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    static DateTimeOffset At(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    protected static DbCommand Command(DbConnection c, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    /// <summary>Brings the schema to <see cref="Migrations.Latest"/>; a database newer than this binary is refused.</summary>
    public async Task MigrateAsync()
    {
        using var lease = await OpenAsync();
        var c = lease.Connection;
        await using (var create = Command(c, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)"))
            await create.ExecuteNonQueryAsync();
        foreach (var (version, sql) in Migrations.Steps)
        {
            await using var tx = await c.BeginTransactionAsync();
            if (MigrationLock.Length > 0)
                await using (var l = Command(c, MigrationLock)) { l.Transaction = tx; await l.ExecuteNonQueryAsync(); }
            await using (var q = Command(c, "SELECT COUNT(*) FROM schema_version WHERE version = @v", ("@v", version)))
            {
                q.Transaction = tx;
                if (Convert.ToInt64(await q.ExecuteScalarAsync()) > 0) { await tx.CommitAsync(); continue; }
            }
            foreach (var s in sql)
                await using (var step = Command(c, s.Replace("{id}", IdType).Replace("{blob}", BlobType))) { step.Transaction = tx; await step.ExecuteNonQueryAsync(); }
            await using (var mark = Command(c, "INSERT INTO schema_version (version, applied) VALUES (@v, @t)", ("@v", version), ("@t", Now()))) { mark.Transaction = tx; await mark.ExecuteNonQueryAsync(); }
            await tx.CommitAsync();
        }
        await using var max = Command(c, "SELECT MAX(version) FROM schema_version");
        SchemaVersion = Convert.ToInt32(await max.ExecuteScalarAsync());
        if (SchemaVersion > Migrations.Latest)
            throw new ServeException(0, $"database schema version {SchemaVersion} is newer than this berth-serve's ({Migrations.Latest})");
    }

    async Task<int> ExecAsync(string sql, params (string, object?)[] args)
    {
        using var lease = await OpenAsync();
        await using var cmd = Command(lease.Connection, sql, args);
        return await cmd.ExecuteNonQueryAsync();
    }

    async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, params (string, object?)[] args)
    {
        using var lease = await OpenAsync();
        await using var cmd = Command(lease.Connection, sql, args);
        await using var r = await cmd.ExecuteReaderAsync();
        var list = new List<T>();
        while (await r.ReadAsync()) list.Add(read(r));
        return list;
    }

    static string? Str(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    static long? Long(DbDataReader r, int i) => r.IsDBNull(i) ? null : Convert.ToInt64(r.GetValue(i));
    static byte[]? Bytes(DbDataReader r, int i) => r.IsDBNull(i) ? null : (byte[])r.GetValue(i);

    const string JobColumns = "id, image, status, digest, db_version, error, attempts, subject, created, started, finished, cached";

    static ScanJob ReadJob(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), Str(r, 3), Str(r, 4), Str(r, 5), (int)Long(r, 6)!.Value,
        r.GetString(7), At(Long(r, 8)!.Value), Long(r, 9) is { } s ? At(s) : null, Long(r, 10) is { } f ? At(f) : null, Long(r, 11) == 1);

    public async Task<ScanJob> EnqueueAsync(string image, string subject)
    {
        var id = Ids.New();
        await ExecAsync("INSERT INTO jobs (id, image, status, attempts, subject, created, cached) VALUES (@id, @image, 'queued', 0, @subject, @now, 0)",
            ("@id", id), ("@image", image), ("@subject", subject), ("@now", Now()));
        return (await GetJobAsync(id))!;
    }

    public async Task<ScanJob?> GetJobAsync(string id) =>
        (await QueryAsync($"SELECT {JobColumns} FROM jobs WHERE id = @id", ReadJob, ("@id", id))).FirstOrDefault();

    public async Task<ScanJob?> ClaimNextAsync() =>
        (await QueryAsync($"UPDATE jobs SET status = 'running', attempts = attempts + 1, started = @now, error = NULL " +
            $"WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1 {ClaimLock}) AND status = 'queued' RETURNING {JobColumns}",
            ReadJob, ("@now", Now()))).FirstOrDefault();

    public Task CompleteAsync(string id, string digest, string dbVersion, bool cached) =>
        ExecAsync("UPDATE jobs SET status = 'done', digest = @d, db_version = @v, finished = @now, cached = @c WHERE id = @id",
            ("@d", digest), ("@v", dbVersion), ("@now", Now()), ("@c", cached ? 1 : 0), ("@id", id));

    public Task FailAsync(string id, string error) =>
        ExecAsync("UPDATE jobs SET status = 'failed', error = @e, finished = @now WHERE id = @id", ("@e", error), ("@now", Now()), ("@id", id));

    /// <summary>A job that was running three times when the service died is failed rather than retried forever (it may be what kills it).</summary>
    public async Task<int> RequeueRunningAsync()
    {
        await ExecAsync("UPDATE jobs SET status = 'failed', error = 'interrupted 3 times (the service stopped while it ran)', finished = @now WHERE status = 'running' AND attempts >= 3",
            ("@now", Now()));
        return await ExecAsync("UPDATE jobs SET status = 'queued', started = NULL WHERE status = 'running'");
    }

    public async Task<int> QueueDepthAsync() =>
        (int)(await QueryAsync("SELECT COUNT(*) FROM jobs WHERE status = 'queued'", r => Convert.ToInt64(r.GetValue(0))))[0];

    public async Task<ScanJob?> LatestDoneJobAsync(string digest) =>
        (await QueryAsync($"SELECT {JobColumns} FROM jobs WHERE digest = @d AND status = 'done' ORDER BY seq DESC LIMIT 1", ReadJob, ("@d", digest))).FirstOrDefault();

    public async Task<IReadOnlyList<ScanJob>> JobsForAsync(string imageOrDigest) =>
        await QueryAsync($"SELECT {JobColumns} FROM jobs WHERE image = @x OR digest = @x ORDER BY seq", ReadJob, ("@x", imageOrDigest));

    public async Task PutFindingsAsync(string digest, string dbVersion, byte[] findings)
    {
        var data = Cipher.Seal(findings, digest, dbVersion);
        // Two workers scanning one digest at once write the same findings: the second is a no-op.
        await ExecAsync("INSERT INTO findings (digest, db_version, data, created) VALUES (@d, @v, @data, @now) ON CONFLICT (digest, db_version) DO NOTHING",
            ("@d", digest), ("@v", dbVersion), ("@data", data), ("@now", Now()));
    }

    public async Task<byte[]?> GetFindingsAsync(string digest, string dbVersion)
    {
        var rows = await QueryAsync("SELECT data FROM findings WHERE digest = @d AND db_version = @v", r => Bytes(r, 0)!, ("@d", digest), ("@v", dbVersion));
        return rows.Count == 0 ? null : Cipher.Open(rows[0], digest, dbVersion);
    }

    public async Task<(string DbVersion, byte[] Findings)?> LatestFindingsAsync(string digest)
    {
        var rows = await QueryAsync("SELECT db_version, data FROM findings WHERE digest = @d ORDER BY created DESC LIMIT 1", r => (r.GetString(0), Bytes(r, 1)!), ("@d", digest));
        return rows.Count == 0 ? null : (rows[0].Item1, Cipher.Open(rows[0].Item2, digest, rows[0].Item1));
    }

    static string JsonArray(IReadOnlyList<string> items)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartArray();
            foreach (var i in items) w.WriteStringValue(i);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    static List<string> ParseArray(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
    }

    const string DecisionColumns = "id, image, digest, action, target, outcome, reasons, policy_hash, subject, at";

    static Decision ReadDecision(DbDataReader r) => new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        ParseArray(r.GetString(6)), r.GetString(7), r.GetString(8), At(Long(r, 9)!.Value));

    public Task AddDecisionAsync(Decision d) =>
        ExecAsync($"INSERT INTO decisions ({DecisionColumns}) VALUES (@id, @image, @digest, @action, @target, @outcome, @reasons, @ph, @subject, @at)",
            ("@id", d.Id), ("@image", d.Image), ("@digest", d.Digest), ("@action", d.Action), ("@target", d.Target), ("@outcome", d.Outcome),
            ("@reasons", JsonArray(d.Reasons)), ("@ph", d.PolicyHash), ("@subject", d.Subject), ("@at", d.At.ToUnixTimeMilliseconds()));

    public async Task<IReadOnlyList<Decision>> DecisionsAsync(string imageOrDigest) =>
        await QueryAsync($"SELECT {DecisionColumns} FROM decisions WHERE image = @x OR digest = @x ORDER BY seq", ReadDecision, ("@x", imageOrDigest));

    public async Task<Decision?> FindDecisionAsync(string digest, string target, string policyHash) =>
        (await QueryAsync($"SELECT {DecisionColumns} FROM decisions WHERE digest = @d AND target = @t AND policy_hash = @p ORDER BY seq DESC LIMIT 1", ReadDecision,
            ("@d", digest), ("@t", target), ("@p", policyHash))).FirstOrDefault();

    public Task AddVexAsync(VexRecord v) =>
        ExecAsync("INSERT INTO vex (id, image, digest, statement, signature, subject, at) VALUES (@id, @image, @digest, @st, @sig, @subject, @at)",
            ("@id", v.Id), ("@image", v.Image), ("@digest", v.Digest), ("@st", v.Statement), ("@sig", v.Signature), ("@subject", v.Subject), ("@at", v.At.ToUnixTimeMilliseconds()));

    public async Task<IReadOnlyList<VexRecord>> VexAsync(string digest) =>
        await QueryAsync("SELECT id, image, digest, statement, signature, subject, at FROM vex WHERE digest = @d ORDER BY seq",
            r => new VexRecord(r.GetString(0), r.GetString(1), r.GetString(2), Bytes(r, 3)!, Bytes(r, 4), r.GetString(5), At(Long(r, 6)!.Value)), ("@d", digest));

    public Task AppendAuditAsync(AuditEntry e) =>
        ExecAsync("INSERT INTO audit (at, subject, role, action, image, digest, outcome, detail) VALUES (@at, @s, @r, @a, @i, @d, @o, @detail)",
            ("@at", e.At.ToUnixTimeMilliseconds()), ("@s", e.Subject), ("@r", e.Role), ("@a", e.Action), ("@i", e.Image), ("@d", e.Digest), ("@o", e.Outcome), ("@detail", e.Detail));

    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(string imageOrDigest) =>
        await QueryAsync("SELECT at, subject, role, action, image, digest, outcome, detail FROM audit WHERE image = @x OR digest = @x ORDER BY seq",
            r => new AuditEntry(At(Long(r, 0)!.Value), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7)), ("@x", imageOrDigest));

    public abstract ValueTask DisposeAsync();
}
