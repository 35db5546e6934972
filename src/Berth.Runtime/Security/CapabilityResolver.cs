using Berth.Linux.Security;

namespace Berth.Runtime.Security;

/// <summary>process.capabilities by name → the five sets as masks, checked against what this host grants.</summary>
public static class CapabilityResolver
{
    /// <summary>
    /// runtime-spec 1.1: a capability that cannot be granted — a name this kernel does not know
    /// (a newer one, a typo), or one outside the runtime's own bounding set (this VM lacks
    /// CAP_SYS_RESOURCE) — is logged as a warning naming the field and left out; it must not
    /// fail the container.
    /// </summary>
    public static CapabilitySets? Resolve(Oci.Runtime.Capabilities? caps, ulong hostBounding, Log log)
    {
        if (caps is null) return null;
        var missing = new SortedSet<string>();
        var unknown = new List<string>();
        ulong Mask(List<string>? names, string set)
        {
            ulong mask = 0;
            if (names is null) return 0;
            for (int i = 0; i < names.Count; i++)
            {
                if (Capabilities.Parse(names[i] ?? "") is not { } cap)
                {
                    unknown.Add($"process.capabilities.{set}[{i}] \"{names[i]}\"");
                    continue;
                }
                if ((hostBounding & (1UL << cap)) == 0)
                {
                    missing.Add(names[i]);
                    continue;
                }
                mask |= 1UL << cap;
            }
            return mask;
        }
        var sets = new CapabilitySets(
            Mask(caps.Bounding, "bounding"), Mask(caps.Effective, "effective"), Mask(caps.Permitted, "permitted"),
            Mask(caps.Inheritable, "inheritable"), Mask(caps.Ambient, "ambient"));
        if (unknown.Count > 0)
            log.Warn($"unknown capabilities left out: {string.Join(", ", unknown)}");
        if (missing.Count > 0)
            log.Warn($"process.capabilities: {string.Join(", ", missing)} not in this host's bounding set; left out");
        // The kernel raises an ambient capability only if it is permitted and inheritable;
        // runc leaves the others out without a word (its default spec has no inheritable set).
        var ambient = sets.Ambient & sets.Permitted & sets.Inheritable;
        if (ambient != sets.Ambient)
            log.Debug($"process.capabilities.ambient: 0x{sets.Ambient & ~ambient:x} not both permitted and inheritable; left out");
        return sets with { Ambient = ambient };
    }
}
