using Berth.Linux;
using Berth.Oci.Runtime;

namespace Berth.Runtime.Init;

/// <summary>
/// process.* applied in init, after the root has moved and before the barrier, so every
/// failure is create's error. Order matters: raising rlimits and oom_score_adj need root's
/// privileges, so they come before the uid switch; the rlimits themselves are set last.
/// </summary>
public static class ProcessSetup
{
    public static void Apply(Oci.Runtime.Process p, Oci.Runtime.Linux? linux, Action<string> step)
    {
        if (p.OomScoreAdj is { } oom)
        {
            step("process.oomScoreAdj");
            SetOomScoreAdj(oom);
        }

        // The limits themselves are set at the last step before execve (ExecSequence): a small
        // RLIMIT_AS, RLIMIT_STACK or RLIMIT_DATA would kill init (a .NET process) itself.
        // Raising a hard limit is what needs privilege, so that is done now, where a refusal is
        // still create's error; lowering never fails.
        var rlimits = p.Rlimits ?? new();
        for (int i = 0; i < rlimits.Count; i++)
        {
            var r = rlimits[i];
            int resource = ProcessAttributes.Rlimits[r.Type!];
            var (soft, hard) = ProcessAttributes.GetRlimit(resource);
            if (r.Hard!.Value <= hard) continue;
            step($"process.rlimits[{i}] {r.Type}");
            try
            {
                ProcessAttributes.SetRlimit(resource, soft, r.Hard.Value, r.Type!);
            }
            catch (LinuxException e) when (e.Errno == Errno.EPERM)
            {
                throw new RuntimeException($"hard limit {r.Hard} is above the runtime's {hard}: raising it needs CAP_SYS_RESOURCE ({Errnos.Describe(e.Errno)})");
            }
        }

        if (linux?.Personality is { } pers)
        {
            step("linux.personality");
            ulong persona = pers.Domain == "LINUX32" ? 0x0008UL : 0UL;
            foreach (var f in pers.Flags ?? new()) persona |= SpecValidator.PersonalityFlags[f];
            ProcessAttributes.SetPersonality(persona);
        }

        if (linux?.MemoryPolicy is { } mp)
        {
            step("linux.memoryPolicy");
            int mode = SpecValidator.MemoryPolicyModes[mp.Mode!];
            foreach (var f in mp.Flags ?? new()) mode |= SpecValidator.MemoryPolicyFlags[f];
            var nodes = string.IsNullOrEmpty(mp.Nodes) ? Array.Empty<ulong>() : ProcessAttributes.CpuMask(CpuList.Parse(mp.Nodes, "linux.memoryPolicy.nodes"));
            Linux.MemoryPolicy.Set(mode, nodes);
        }

        if (p.IoPriority is { } io)
        {
            step("process.ioPriority");
            int ioClass = io.Class switch { "IOPRIO_CLASS_RT" => 1, "IOPRIO_CLASS_BE" => 2, _ => 3 };
            ProcessAttributes.SetIoPriority(ioClass, io.Priority ?? 0);
        }

        if (p.Scheduler is { } s)
        {
            step("process.scheduler");
            ulong flags = 0;
            foreach (var f in s.Flags ?? new()) flags |= SpecValidator.SchedFlags[f];
            ProcessAttributes.SetScheduler(SpecValidator.SchedPolicies[s.Policy!], flags, s.Nice ?? 0, (uint)(s.Priority ?? 0),
                s.Runtime ?? 0, s.Deadline ?? 0, s.Period ?? 0);
        }
    }

    /// <summary>Raising is free; lowering needs CAP_SYS_RESOURCE, which this VM's bounding set lacks.</summary>
    static void SetOomScoreAdj(int value)
    {
        using var proc = Rootfs.ProcFs.Open();
        try
        {
            proc.WriteSelf("oom_score_adj", value.ToString());
        }
        catch (LinuxException e) when (e.Errno is Errno.EACCES or Errno.EPERM)
        {
            var current = proc.ReadSelf("oom_score_adj").Trim();
            throw new RuntimeException($"setting {value} (now {current}): lowering oom_score_adj needs CAP_SYS_RESOURCE ({Errnos.Describe(e.Errno)})");
        }
    }

    /// <summary>
    /// process.env plus HOME from the container's /etc/passwd when the env does not set it, as
    /// runc does. The uid switch itself is the exec sequence's (ExecSequence).
    /// </summary>
    public static List<string> Environment(Oci.Runtime.Process p)
    {
        var env = new List<string>(p.Env ?? new());
        if (!env.Any(e => e.StartsWith("HOME=")))
        {
            uint uid = p.User?.Uid ?? 0;
            using var root = Files.Open("/", O.PATH | O.DIRECTORY);
            var home = UserDb.Passwd(root).FirstOrDefault(u => u.Uid == uid)?.Home;
            env.Add("HOME=" + (string.IsNullOrEmpty(home) ? "/" : home));
        }
        return env;
    }

    /// <summary>In a user namespace, an unmapped uid or gid cannot be switched to: say so before the barrier.</summary>
    public static void CheckMapped(Oci.Runtime.Process p)
    {
        // /proc/self/{uid,gid}_map read from inside: "<inside> <outside> <count>" per line.
        static List<IdMapping> Maps(string file) =>
            File.ReadLines(file).Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f.Length == 3)
                .Select(f => new IdMapping { ContainerId = uint.Parse(f[0]), HostId = uint.Parse(f[1]), Size = uint.Parse(f[2]) })
                .ToList();
        var uidMap = Maps("/proc/self/uid_map");
        var gidMap = Maps("/proc/self/gid_map");
        bool Mapped(List<IdMapping> maps, uint id) => IdMapping.Map(maps, id) is not null;
        uint uid = p.User?.Uid ?? 0, gid = p.User?.Gid ?? 0;
        if (!Mapped(uidMap, uid)) throw new RuntimeException($"process.user.uid {uid} is not mapped in the container's user namespace");
        if (!Mapped(gidMap, gid)) throw new RuntimeException($"process.user.gid {gid} is not mapped in the container's user namespace");
        foreach (var g in p.User?.AdditionalGids ?? new())
            if (!Mapped(gidMap, g)) throw new RuntimeException($"process.user.additionalGids: {g} is not mapped in the container's user namespace");
    }
}
