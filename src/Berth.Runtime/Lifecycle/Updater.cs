using Berth.Oci;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// `update`: new limits written to a live container's cgroups and merged into its stored
/// config, so later commands see them. Only the values given change (runc's rules: <see cref="ResourceUpdate"/>).
/// </summary>
public sealed class Updater
{
    readonly StateStore _store;

    public Updater(StateStore store) => _store = store;

    public void Update(string id, Resources changes)
    {
        using var dir = _store.Open(id, exclusive: true) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        var status = StatusProbe.Of(r, dir.FifoExists);
        if (status is Status.Stopped or Status.Creating) throw RuntimeException.NotRunning(id);
        var cgroups = r!.OpenCgroups();
        var spec = dir.ReadSpec();
        // The stored config's own resources, merged in place: what Berth does not model there survives the rewrite.
        var current = spec?.Linux?.Resources ?? new Resources();
        cgroups.Apply(cgroups.PlanUpdate(current, changes));
        if (spec is not null)
        {
            (spec.Linux ??= new Oci.Runtime.Linux()).Resources = current;
            dir.WriteSpec(JsonOut.Document(spec));
        }
    }
}
