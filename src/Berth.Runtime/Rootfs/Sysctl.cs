using Berth.Oci.Runtime;
using Berth.Runtime.Lifecycle;

namespace Berth.Runtime.Rootfs;

/// <summary>linux.sysctl: checked here by the launcher; written by init through the container's own /proc/sys after pivot_root (PlanBuilder).</summary>
public static class Sysctl
{
    /// <summary>
    /// The launcher's check, before anything is spawned: each sysctl (and the hostname) must
    /// fall in a namespace the container does not share with the host, judged by the
    /// namespace's identity — never by the text of the path it was given by.
    /// </summary>
    public static void Check(Spec spec, NamespacePlan ns)
    {
        // A hostname set in a joined uts namespace that is the host's would rename the host.
        if ((!string.IsNullOrEmpty(spec.Hostname) || !string.IsNullOrEmpty(spec.Domainname)) && ns.SharesHosts("uts"))
            throw new RuntimeException($"{(string.IsNullOrEmpty(spec.Hostname) ? "domainname" : "hostname")}: the container's uts namespace is the host's (the runtime's own), so this would rename the host");
        var sysctl = spec.Linux?.Sysctl;
        foreach (var key in sysctl?.Keys ?? Enumerable.Empty<string>())
        {
            // The validator has refused keys of no namespace already.
            var type = SpecValidator.SysctlNamespace(key)!;
            if (ns.SharesHosts(type))
                throw new RuntimeException($"linux.sysctl[\"{key}\"]: the container's {type} namespace is the host's (the runtime's own), so this would change the host's; give it a new {type} namespace");
        }
    }
}
