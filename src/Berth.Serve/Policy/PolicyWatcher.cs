namespace Berth.Serve.Policy;

/// <summary>
/// The policy in force and its file, reloaded without a restart. The file is polled (every
/// <see cref="Interval"/>, at most 2 s) rather than watched with inotify: an editor's save is often a
/// rename over the file, which an inotify watch on the old inode misses, and a key file the policy
/// names can change too — each poll loads the whole policy and swaps it in when its hash changed.
/// An invalid new policy keeps the old one: the reason goes to the log once per distinct content
/// and to readiness until a valid policy is back.
/// </summary>
public sealed class PolicyWatcher
{
    readonly string _path;
    readonly Func<string, ServePolicy> _load;
    readonly Action<string> _log;
    readonly Action<bool, string> _ready;
    ServePolicy _current;
    string? _lastError;

    public static readonly TimeSpan MaxInterval = TimeSpan.FromSeconds(2);

    public TimeSpan Interval { get; }

    /// <summary>Loads the policy once; a policy that does not load at start-up is the service's start-up error (thrown).</summary>
    public PolicyWatcher(string path, Action<string> log, Action<bool, string> ready, TimeSpan? interval = null, Func<string, ServePolicy>? load = null)
    {
        _path = path;
        _load = load ?? PolicyLoader.Load;
        _log = log;
        _ready = ready;
        Interval = interval is { } i && i < MaxInterval && i > TimeSpan.Zero ? i : MaxInterval;
        _current = _load(path);
        _ready(true, $"{path}: policy {_current.Hash}");
    }

    /// <summary>The policy a decision uses: read once per decision, so a reload never splits one.</summary>
    public ServePolicy Current => Volatile.Read(ref _current);

    /// <summary>Loads the file again; true when a new policy is in force. What the poll loop calls; tests call it directly.</summary>
    public bool CheckNow()
    {
        ServePolicy next;
        try
        {
            next = _load(_path);
        }
        catch (PolicyException e)
        {
            var why = $"{e.Message}; keeping policy {Current.Hash}";
            if (why != _lastError) _log($"policy: not reloaded: {why}");
            _lastError = why;
            _ready(false, why);
            return false;
        }
        bool recovered = _lastError is not null;
        _lastError = null;
        if (next.Hash == Current.Hash)
        {
            if (recovered) _ready(true, $"{_path}: policy {next.Hash}");
            return false;
        }
        Volatile.Write(ref _current, next);
        _log($"policy: reloaded {_path}: {next.Hash}");
        _ready(true, $"{_path}: policy {next.Hash}");
        return true;
    }

    /// <summary>Polls until <paramref name="stopping"/>.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false)) CheckNow();
        }
        catch (OperationCanceledException)
        {
        }
    }
}
