namespace Berth.Images.Registry;

/// <summary>
/// One <see cref="RegistryClient"/> per registry host for a command's lifetime, so connections,
/// tokens and the per-registry transfer bound are shared by everything the command does there;
/// and registries.conf's answer to where a reference is pulled from and pushed to.
/// </summary>
public sealed class RegistryPool(RegistryOptions options) : IDisposable
{
    readonly Dictionary<(string, bool), RegistryClient> _clients = new();

    public RegistryOptions Options => options;

    /// <param name="insecure">A registries.conf entry (a mirror's, say) marks this host insecure.</param>
    public RegistryClient For(string registry, bool insecure = false)
    {
        lock (_clients)
        {
            if (!_clients.TryGetValue((registry, insecure), out var client))
                _clients[(registry, insecure)] = client = new RegistryClient(registry, options, insecure);
            return client;
        }
    }

    /// <summary>The mirrors then the registry for a pull (registries.conf), each with its client.</summary>
    public IReadOnlyList<(PullSource Source, RegistryClient Client)> PullSources(Reference reference) =>
        options.Conf.PullSources(reference).Select(s => (s, For(s.Reference.Registry, s.Insecure))).ToList();

    /// <summary>
    /// Tries each pull source in turn (mirrors first) with <paramref name="action"/> and returns the
    /// first success; if all fail, the registry's own error (the last source) is thrown.
    /// </summary>
    public async Task<T> FromFirstSourceAsync<T>(Reference reference, Func<RegistryClient, Reference, Task<T>> action)
    {
        var sources = PullSources(reference);
        for (int i = 0; ; i++)
        {
            var (source, client) = sources[i];
            try
            {
                return await action(client, source.Reference).ConfigureAwait(false);
            }
            catch (RegistryException e) when (i < sources.Count - 1)
            {
                options.Log?.Invoke($"{source.Reference}: {e.Message}; trying the next source");
            }
        }
    }

    public void Dispose()
    {
        lock (_clients)
        {
            foreach (var c in _clients.Values) c.Dispose();
            _clients.Clear();
        }
    }
}
