using Berth.Linux;

namespace Berth.Runtime.Lifecycle;

/// <summary>
/// runc's --rootless: "auto" (the default) means rootless when not root, or when uid 0 of a
/// user namespace other than the host's (rootless podman runs its runtime so). Rootless, a
/// cgroup the caller cannot create is left out when the config names no cgroupsPath, and a
/// limit that would need it is then an error.
/// </summary>
public static class Rootless
{
    public static bool Resolve(string? flag) => flag switch
    {
        null or "auto" => Processes.EffectiveUid != 0 || Namespaces.InUserNamespace(),
        "true" => true,
        "false" => false,
        _ => throw new RuntimeException($"--rootless: \"{flag}\" is not auto, true or false"),
    };
}
