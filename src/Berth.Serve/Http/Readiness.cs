using System.Collections.Concurrent;

namespace Berth.Serve.Http;

/// <summary>/readyz: each component (storage, workers, servep's policy) says whether it is ready and why not.</summary>
public sealed class Readiness
{
    readonly ConcurrentDictionary<string, (bool Ready, string Detail)> _components = new(StringComparer.Ordinal);

    public void Set(string component, bool ready, string detail) => _components[component] = (ready, detail);

    public bool Ready => _components.Values.All(c => c.Ready);

    public IReadOnlyList<(string Name, bool Ready, string Detail)> Components =>
        _components.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value.Ready, kv.Value.Detail)).ToList();
}
