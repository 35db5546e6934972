using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Lifecycle;

/// <summary>The namespaces to create (clone flags) and to join (open descriptors), from linux.namespaces.</summary>
public sealed class NamespacePlan : IDisposable
{
    public int CloneFlags { get; private set; }
    public List<(int Flag, SafeFd Fd)> Joins { get; } = new();

    /// <summary>Whether the container gets a new namespace of runtime-spec type <paramref name="type"/>.</summary>
    public bool IsNew(string type) => (CloneFlags & Namespaces.ByType[type].Flag) != 0;

    /// <summary>The joined namespace of <paramref name="type"/>, by the descriptor that will be joined (so what is judged is what is entered).</summary>
    public SafeFd? JoinedFd(string type) => Joins.FirstOrDefault(j => j.Flag == Namespaces.ByType[type].Flag).Fd;

    /// <summary>
    /// Whether the container's namespace of <paramref name="type"/> is one the runtime shares
    /// with the host: none in the config, or a joined one whose nsfs identity is the runtime's
    /// own or that of pid 1 — however the path named it (/proc/thread-self/ns/net,
    /// /proc/2/ns/net, a bind mount of one under /run/netns).
    /// </summary>
    public bool SharesHosts(string type)
    {
        if (IsNew(type)) return false;
        if (JoinedFd(type) is not { } fd) return true;
        var joined = NamespaceFiles.Identity(fd);
        var proc = Namespaces.ByType[type].ProcName;
        return joined == NamespaceFiles.IdentityOf("self", proc) || joined == NamespaceFiles.IdentityOf("1", proc);
    }

    public static NamespacePlan From(Spec spec)
    {
        var plan = new NamespacePlan();
        try
        {
            var list = spec.Linux?.Namespaces ?? new();
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
