using System.Diagnostics;
using Berth.Images;
using Berth.Serve.Metrics;
using Berth.Serve.Storage;
using Berth.Serve.Plugins;

namespace Berth.Serve.Jobs;

/// <summary>
/// The scan queue: jobs live in the store (so they survive a restart), a bounded pool of workers
/// claims them one at a time. Enqueue wakes a worker; workers also poll, so a job queued by another
/// service sharing the PostgreSQL database is picked up.
/// </summary>
public sealed class ScanService(IServeStore store, ImagePuller puller, BerthScanner berth, int workers, ServeMetrics metrics, Action<string> log)
{
    /// <summary>The scanner plugin jobs use: Berth's own unless the policy's plugins: section names another (servep's PluginSet sets it at start).</summary>
    public IScannerPlugin Scanner { get; set; } = berth;

    readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    readonly List<Task> _workers = new();
    int _running;

    public int Workers => workers;
    public int Running => Volatile.Read(ref _running);

    public async Task<ScanJob> EnqueueAsync(string image, string subject)
    {
        // Checked before queueing: a bad reference is the caller's 400, not a failed job.
        puller.Reference(image);
        var job = await store.EnqueueAsync(image, subject);
        _wake.Release();
        return job;
    }

    /// <summary>Re-queues what a crash left running, then starts the workers.</summary>
    public async Task StartAsync(CancellationToken stopping)
    {
        var requeued = await store.RequeueRunningAsync();
        if (requeued > 0) log($"berth-serve: re-queued {requeued} scan jobs left running by the last stop");
        for (int i = 0; i < workers; i++) _workers.Add(Task.Run(() => WorkAsync(stopping)));
    }

    public Task StoppedAsync() => Task.WhenAll(_workers);

    async Task WorkAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            ScanJob? job;
            try { job = await store.ClaimNextAsync(); }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                log($"berth-serve: claiming a scan job: {e.Message}");
                job = null;
            }
            if (job is null)
            {
                try { await _wake.WaitAsync(TimeSpan.FromSeconds(1), stopping); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            Interlocked.Increment(ref _running);
            try { await RunAsync(job, stopping); }
            finally { Interlocked.Decrement(ref _running); }
        }
    }

    async Task RunAsync(ScanJob job, CancellationToken stopping)
    {
        var clock = Stopwatch.StartNew();
        string outcome;
        try
        {
            // Blocking work (network, unpack, catalog) on this worker's thread-pool thread.
            var scanner = Scanner;
            var (digest, cached, version) = await Task.Run(async () =>
            {
                var (digest, name) = puller.Pull(job.Image);
                // The cache key is (digest, database version); only Berth's scanner knows its version before it scans.
                if (scanner is BerthScanner b && b.DatabaseVersion() is var known && await store.GetFindingsAsync(digest, known) is not null)
                    return (digest, true, known);
                var output = scanner.Scan(new ScanInput(name, Oci.Image.Digest.Parse(digest), null), stopping);
                await store.PutFindingsAsync(digest, output.DatabaseVersion, FindingsDocument.Write(job.Image, digest, scanner.Name, output));
                return (digest, false, output.DatabaseVersion);
            });
            await store.CompleteAsync(job.Id, digest, version, cached);
            outcome = cached ? "cached" : "done";
            await store.AppendAuditAsync(new AuditEntry(DateTimeOffset.UtcNow, job.Subject, "scan", "scan", job.Image, digest, outcome,
                $"job {job.Id}, database {version}{(cached ? ", served from storage" : "")}"));
        }
        catch (Exception e)
        {
            var message = e is ServeException or ImageException or Images.Registry.RegistryException or Supply.SupplyException or Linux.LinuxException or Oci.SpecException or PluginException
                ? e.Message.Replace('\n', ' ') : $"{e.GetType().Name}: {e.Message.Replace('\n', ' ')}";
            outcome = "failed";
            log($"berth-serve: scan {job.Id} of {job.Image}: {message}");
            try
            {
                await store.FailAsync(job.Id, message);
                await store.AppendAuditAsync(new AuditEntry(DateTimeOffset.UtcNow, job.Subject, "scan", "scan", job.Image, "", "failed", $"job {job.Id}: {message}"));
            }
            catch (Exception e2) { log($"berth-serve: recording the failure of scan {job.Id}: {e2.Message}"); }
        }
        metrics.Scans.Inc(outcome);
        metrics.ScanDuration.Observe(clock.Elapsed.TotalSeconds);
    }
}
