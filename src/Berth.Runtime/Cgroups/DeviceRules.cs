using Berth.Oci.Runtime;

namespace Berth.Runtime.Cgroups;

/// <summary>One device cgroup rule: allow or deny Access ("rwm" subset) to a device type ('a', 'c', 'b') and major:minor (-1: any).</summary>
public readonly record struct DeviceRule(bool Allow, char Type, long Major, long Minor, string Access)
{
    /// <summary>The v1 devices.allow/deny line: "c 1:3 rwm", "a *:* rwm".</summary>
    public string V1Line => $"{Type} {(Major < 0 ? "*" : Major.ToString())}:{(Minor < 0 ? "*" : Minor.ToString())} {Access}";

    public bool IsWildcard => Type == 'a' && Major < 0 && Minor < 0 && Access.Length == 3;
}

/// <summary>
/// linux.resources.devices as the kernel enforces them: the config's rules in order, then
/// runc's default allowances (mknod of anything; the default devices, ptys and tun), then the
/// devices the config asks init to create — so a container can always use what it was given.
/// </summary>
public static class DeviceRules
{
    static readonly DeviceRule[] DefaultAllowed = new DeviceRule[] { new(true, 'c', -1, -1, "m"), new(true, 'b', -1, -1, "m") }
        // The default devices /dev gets (Rootfs.Devices), then /dev/console, ptmx, the ptys and tun.
        .Concat(Rootfs.Devices.Defaults.Select(d => new DeviceRule(true, 'c', d.Major!.Value, d.Minor!.Value, "rwm")))
        .Concat(new DeviceRule[] { new(true, 'c', 5, 1, "rwm"), new(true, 'c', 5, 2, "rwm"), new(true, 'c', 136, -1, "rwm"), new(true, 'c', 10, 200, "rwm") })
        .ToArray();

    /// <summary>The rule list, or null when the config leaves devices alone (no linux.resources.devices).</summary>
    public static List<DeviceRule>? From(Resources? resources, List<Device>? devices)
    {
        if (resources?.Devices is not { } list) return null;
        var rules = new List<DeviceRule>();
        for (int i = 0; i < list.Count; i++)
        {
            var d = list[i] ?? throw new RuntimeException($"linux.resources.devices[{i}]: is null");
            var field = $"linux.resources.devices[{i}]";
            char type = d.Type switch
            {
                null or "a" => 'a',
                "c" => 'c',
                "b" => 'b',
                _ => throw new RuntimeException($"{field}.type: \"{d.Type}\" is not a, c or b"),
            };
            var access = d.Access ?? "rwm";
            if (access.Length == 0 || access.Any(ch => ch is not ('r' or 'w' or 'm')) || access.Distinct().Count() != access.Length)
                throw new RuntimeException($"{field}.access: \"{access}\" is not made of r, w and m");
            if (d.Major is < -1) throw new RuntimeException($"{field}.major: {d.Major} is not a device number");
            if (d.Minor is < -1) throw new RuntimeException($"{field}.minor: {d.Minor} is not a device number");
            rules.Add(new DeviceRule(d.Allow ?? false, type, d.Major ?? -1, d.Minor ?? -1, new string("rwm".Where(access.Contains).ToArray())));
        }
        rules.AddRange(DefaultAllowed);
        foreach (var dev in devices ?? new())
            if (dev.Type is "c" or "b" or "u")
                rules.Add(new DeviceRule(true, dev.Type == "b" ? 'b' : 'c', dev.Major ?? -1, dev.Minor ?? -1, "rwm"));
        return rules;
    }

    /// <summary>
    /// v1 semantics as a default and ordered exceptions: a wildcard rule ("a *:* rwm") sets
    /// the default and forgets what came before; every other rule is an exception on top.
    /// </summary>
    public static (bool DefaultAllow, List<DeviceRule> Exceptions) Normalize(IEnumerable<DeviceRule> rules)
    {
        bool defaultAllow = true;
        var exceptions = new List<DeviceRule>();
        foreach (var r in rules)
        {
            if (r.IsWildcard)
            {
                defaultAllow = r.Allow;
                exceptions.Clear();
            }
            else
            {
                exceptions.Add(r);
            }
        }
        return (defaultAllow, exceptions);
    }
}
