using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>The namespaces to create (clone flags) and to join (open descriptors), from linux.namespaces.</summary>
public sealed class NamespacePlan : IDisposable
{
    public int CloneFlags { get; private set; }
    public List<(int Flag, SafeFd Fd)> Joins { get; } = new();

    public static NamespacePlan From(Spec spec)
    {
        var plan = new NamespacePlan();
        try
        {
            var list = spec.Linux?.Namespaces ?? new();
            if (!SpecValidator.ValidateNamespaces(list).New("mount"))
                throw new RuntimeException("linux.namespaces: Berth needs a new mount namespace (a \"mount\" entry without a path) to set up the rootfs");
            // Mount last: after it, paths would resolve in the container's view.
            foreach (var (ns, index) in list.Select((n, i) => (n, i)).OrderBy(x => x.n.Type == "mount" ? 1 : 0))
            {
                var flag = Namespaces.ByType[ns.Type!].Flag;
                if (string.IsNullOrEmpty(ns.Path))
                {
                    plan.CloneFlags |= flag;
                    continue;
                }
                try
                {
                    plan.Joins.Add((flag, NamespaceFiles.OpenChecked(ns.Path, flag)));
                }
                catch (LinuxException e)
                {
                    throw new RuntimeException($"linux.namespaces[{index}].path: {e.Message}", e);
                }
                catch (InvalidOperationException e)
                {
                    throw new RuntimeException($"linux.namespaces[{index}].path: {e.Message}, not {ns.Type}", e);
                }
            }
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    /// <summary>/proc/self/timens_offsets text for a new time namespace.</summary>
    public static string TimeOffsets(TimeOffsets? t)
    {
        if (t is null) return "";
        var text = "";
        if (t.Monotonic is { } m) text += $"monotonic {m.Secs} {m.Nanosecs}\n";
        if (t.Boottime is { } b) text += $"boottime {b.Secs} {b.Nanosecs}\n";
        return text;
    }

    public void Dispose()
    {
        foreach (var (_, fd) in Joins) fd.Dispose();
    }
}
