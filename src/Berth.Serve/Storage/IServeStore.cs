namespace Berth.Serve.Storage;

/// <summary>A scan job: queued → running → done | failed; a job running when the service stopped is queued again at start.</summary>
public sealed record ScanJob(string Id, string Image, string Status, string? Digest, string? DbVersion, string? Error, int Attempts,
    string Subject, DateTimeOffset Created, DateTimeOffset? Started, DateTimeOffset? Finished, bool Cached);

public sealed record Decision(string Id, string Image, string Digest, string Action, string Target, string Outcome,
    IReadOnlyList<string> Reasons, string PolicyHash, string Subject, DateTimeOffset At);

public sealed record VexRecord(string Id, string Image, string Digest, byte[] Statement, byte[]? Signature, string Subject, DateTimeOffset At);

public sealed record AuditEntry(DateTimeOffset At, string Subject, string Role, string Action, string Image, string Digest, string Outcome, string Detail);

/// <summary>
/// Everything the service keeps: jobs, findings (encrypted at rest by the store), decisions, VEX
/// statements and the audit log. One interface, two databases (SQLite, PostgreSQL); thread-safe.
/// </summary>
public interface IServeStore : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres", and the schema version migrations brought it to.</summary>
    string Kind { get; }
    int SchemaVersion { get; }

    Task<ScanJob> EnqueueAsync(string image, string subject);
    Task<ScanJob?> GetJobAsync(string id);
    /// <summary>The oldest queued job, now running (attempts + 1); null when the queue is empty. Atomic across workers and processes.</summary>
    Task<ScanJob?> ClaimNextAsync();
    Task CompleteAsync(string id, string digest, string dbVersion, bool cached);
    Task FailAsync(string id, string error);
    /// <summary>Start-up recovery: jobs left running by a crash go back to the queue; returns how many.</summary>
    Task<int> RequeueRunningAsync();
    Task<int> QueueDepthAsync();
    Task<ScanJob?> LatestDoneJobAsync(string digest);
    Task<IReadOnlyList<ScanJob>> JobsForAsync(string imageOrDigest);

    Task PutFindingsAsync(string digest, string dbVersion, byte[] findings);
    Task<byte[]?> GetFindingsAsync(string digest, string dbVersion);
    Task<(string DbVersion, byte[] Findings)?> LatestFindingsAsync(string digest);

    Task AddDecisionAsync(Decision d);
    Task<IReadOnlyList<Decision>> DecisionsAsync(string imageOrDigest);
    Task<Decision?> FindDecisionAsync(string digest, string target, string policyHash);

    Task AddVexAsync(VexRecord v);
    Task<IReadOnlyList<VexRecord>> VexAsync(string digest);

    Task AppendAuditAsync(AuditEntry e);
    Task<IReadOnlyList<AuditEntry>> AuditAsync(string imageOrDigest);
}

public static class Ids
{
    public static string New() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
}
