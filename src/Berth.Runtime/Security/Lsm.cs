using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Security;

/// <summary>
/// AppArmor and SELinux: applied when the host runs them, a clear error when the config asks
/// for a label this host cannot enforce (silently running unconfined would be worse).
/// </summary>
public static class Lsm
{
    public static bool AppArmorEnabled =>
        File.Exists("/sys/kernel/security/apparmor/profiles") ||
        ReadFlag("/sys/module/apparmor/parameters/enabled") == "Y";

    public static bool SelinuxEnabled => File.Exists("/sys/fs/selinux/enforce");

    /// <summary>A sysfs flag; null when it cannot be read (the module is not loaded).</summary>
    static string? ReadFlag(string path)
    {
        try { return FileSystem.TryReadText(path)?.Trim(); }
        catch (LinuxException) { return null; }
    }

    /// <summary>Launcher-side check of every label the config sets.</summary>
    public static void Check(Spec spec)
    {
        if (!string.IsNullOrEmpty(spec.Process?.ApparmorProfile) && !AppArmorEnabled)
            throw new RuntimeException($"process.apparmorProfile: \"{spec.Process.ApparmorProfile}\" cannot be applied: AppArmor is not enabled on this host");
        if (!string.IsNullOrEmpty(spec.Process?.SelinuxLabel) && !SelinuxEnabled)
            throw new RuntimeException($"process.selinuxLabel: \"{spec.Process.SelinuxLabel}\" cannot be applied: SELinux is not enabled on this host");
        if (!string.IsNullOrEmpty(spec.Linux?.MountLabel) && !SelinuxEnabled)
            throw new RuntimeException($"linux.mountLabel: \"{spec.Linux.MountLabel}\" cannot be applied: SELinux is not enabled on this host");
        var mounts = spec.Mounts ?? new();
        for (int i = 0; i < mounts.Count; i++)
            if (mounts[i].Options?.FirstOrDefault(o => o.StartsWith("context=") || o.StartsWith("fscontext=") || o.StartsWith("defcontext=") || o.StartsWith("rootcontext=")) is { } label && !SelinuxEnabled)
                throw new RuntimeException($"mounts[{i}].options: \"{label}\" is an SELinux label and SELinux is not enabled on this host");
    }
}
