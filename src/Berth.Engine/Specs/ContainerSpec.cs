using Berth.Engine.Store;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Runtime;

namespace Berth.Engine.Specs;

/// <summary>Host paths a container's spec refers to, made by the engine before the spec is.</summary>
public sealed record ContainerPaths(string Rootfs, string Hostname, string Hosts, string ResolvConf, string? NetnsPath);

/// <summary>
/// A container's config.json: the image's config (image-spec conversion.md) and the user's flags
/// on Berth's hardened baseline (`berth spec --hardened`): every capability dropped but
/// CAP_NET_BIND_SERVICE, no_new_privs, the hardened seccomp allowlist, a read-only root with tmpfs
/// /tmp and /run, masked and read-only /proc paths, a pids limit, the image's USER, no host
/// namespace. Each loosening is a flag the user typed, and `inspect` shows the result.
/// </summary>
public static class ContainerSpec
{
    public const long DefaultPidsLimit = 2048;

    /// <summary>Where --init's catatonit is bind-mounted (podman: /run/podman-init).</summary>
    public const string InitPath = "/run/berth-init";
    public const string InitBinary = "/usr/bin/catatonit";

    const string DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public static Spec Build(string id, ImageConfig image, RunOptions o, ContainerPaths paths, IReadOnlyList<Mount> volumeMounts)
    {
        var arch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64" : "x86_64";
        var spec = DefaultSpec.Hardened(arch);
        var c = image.Config ?? new ContainerConfig();
        var p = spec.Process!;
        spec.Root!.Path = paths.Rootfs;

        p.Terminal = o.Tty;
        p.Args = Args(c, o);
        if (o.Init) p.Args.InsertRange(0, new[] { InitPath, "--" });
        p.Env = Env(c, o, paths);
        p.Cwd = o.WorkDir ?? (string.IsNullOrEmpty(c.WorkingDir) ? "/" : c.WorkingDir);
        if (!p.Cwd.StartsWith('/')) throw new EngineException($"--workdir: \"{p.Cwd}\" is not an absolute path");
        p.User = Users.Resolve(o.User ?? c.User, paths.Rootfs);
        p.Capabilities = Capabilities(o);
        p.Rlimits = Rlimits(o.Ulimits);
        spec.Hostname = o.Hostname;

        Security(spec, o);

        // A writable root needs no tmpfs over /tmp and /run (docker and podman mount none).
        if (!o.ReadOnly)
        {
            spec.Root.Readonly = false;
            spec.Mounts!.RemoveAll(m => m.Type == "tmpfs" && m.Destination is "/tmp" or "/run");
        }

        var linux = spec.Linux!;
        linux.CgroupsPath = $"berth-{id}";
        var resources = linux.Resources ??= new Resources();
        resources.Pids = new PidsResources { Limit = o.PidsLimit ?? DefaultPidsLimit };
        if (o.Memory is { } mem) resources.Memory = new MemoryResources { Limit = mem, Swap = mem };
        if (o.Cpus is { } cpus)
        {
            const ulong period = 100_000;
            resources.Cpu = new CpuResources { Period = period, Quota = (long)Math.Round(cpus * period) };
        }

        if (paths.NetnsPath is { } netns)
            linux.Namespaces!.First(n => n.Type == "network").Path = netns;
        else if (o.Network == "host")
            linux.Namespaces!.RemoveAll(n => n.Type == "network");

        var mounts = spec.Mounts!;
        mounts.Add(Bind(paths.Hostname, "/etc/hostname", readOnly: false));
        mounts.Add(Bind(paths.Hosts, "/etc/hosts", readOnly: false));
        mounts.Add(Bind(paths.ResolvConf, "/etc/resolv.conf", readOnly: false));
        if (o.Init) mounts.Add(Bind(InitBinary, InitPath, readOnly: true));
        mounts.AddRange(volumeMounts);

        var annotations = new Dictionary<string, string>(c.Labels ?? new());
        foreach (var (k, v) in o.Labels) annotations[k] = v;
        if (annotations.Count > 0) spec.Annotations = annotations;
        return spec;
    }

    /// <summary>docker's rule: --entrypoint replaces the image's and drops its CMD; arguments replace CMD.</summary>
    static List<string> Args(ContainerConfig c, RunOptions o)
    {
        var entrypoint = o.Entrypoint is null ? c.Entrypoint ?? new() : o.Entrypoint.Length == 0 ? new() : new List<string> { o.Entrypoint };
        var cmd = o.Command.Count > 0 ? o.Command : o.Entrypoint is null ? c.Cmd ?? new() : new();
        var args = entrypoint.Concat(cmd).ToList();
        if (args.Count == 0) throw new EngineException($"{o.Image}: no command: the image has no Entrypoint or Cmd, and none was given");
        return args;
    }

    static List<string> Env(ContainerConfig c, RunOptions o, ContainerPaths paths)
    {
        var env = new List<string>();
        void Set(string kv)
        {
            var key = kv.Split('=', 2)[0];
            env.RemoveAll(e => e.Split('=', 2)[0] == key);
            env.Add(kv);
        }
        Set(DefaultPath);
        foreach (var e in c.Env ?? new()) Set(e);
        if (o.Hostname is { } h) Set($"HOSTNAME={h}");
        if (o.Tty) Set("TERM=xterm");
        else env.RemoveAll(e => e.StartsWith("TERM="));
        foreach (var e in o.Env) Set(e);
        return env;
    }

    /// <summary>The hardened set (CAP_NET_BIND_SERVICE), or all with --privileged; then --cap-drop and --cap-add (ALL allowed), in docker's order.</summary>
    static Oci.Runtime.Capabilities Capabilities(RunOptions o)
    {
        var set = new SortedSet<string>(o.Privileged ? Linux.Security.Capabilities.All : new[] { "CAP_NET_BIND_SERVICE" });
        string Norm(string cap)
        {
            var n = cap.ToUpperInvariant();
            if (n == "ALL") return n;
            if (!n.StartsWith("CAP_")) n = "CAP_" + n;
            return Linux.Security.Capabilities.Parse(n) is null ? throw new EngineException($"--cap-add/--cap-drop: unknown capability \"{cap}\"") : n;
        }
        foreach (var d in o.CapDrop.Select(Norm))
            if (d == "ALL") set.Clear(); else set.Remove(d);
        foreach (var a in o.CapAdd.Select(Norm))
            if (a == "ALL") set.UnionWith(Linux.Security.Capabilities.All); else set.Add(a);
        var list = set.ToList();
        return new Oci.Runtime.Capabilities { Bounding = list, Effective = new(list), Permitted = new(list), Inheritable = new(list), Ambient = new(list) };
    }

    /// <summary>--security-opt and --privileged: the seccomp profile, no_new_privs, masked paths.</summary>
    static void Security(Spec spec, RunOptions o)
    {
        var linux = spec.Linux!;
        if (o.Privileged)
        {
            // docker --privileged: no seccomp filter, nothing masked; still its own namespaces.
            linux.Seccomp = null;
            linux.MaskedPaths = null;
            linux.ReadonlyPaths = null;
            spec.Process!.NoNewPrivileges = false;
        }
        foreach (var opt in o.SecurityOpts)
        {
            var (key, value) = opt.Split(new[] { '=', ':' }, 2) is { Length: 2 } kv ? (kv[0], kv[1]) : (opt, "true");
            switch (key)
            {
                case "seccomp" when value == "unconfined":
                    linux.Seccomp = null;
                    break;
                case "seccomp":
                    var bytes = RegularFile.Read(value, 1 << 20, followLinks: true);
                    try
                    {
                        linux.Seccomp = Oci.Json.JsonIn.Parse(bytes, value, Seccomp.Read);
                    }
                    catch (Oci.SpecException e)
                    {
                        throw new EngineException($"--security-opt seccomp={value}: {e.Message}");
                    }
                    break;
                case "no-new-privileges":
                    spec.Process!.NoNewPrivileges = value switch
                    {
                        "true" => true, "false" => false,
                        _ => throw new EngineException($"--security-opt no-new-privileges={value}: not true or false"),
                    };
                    break;
                default:
                    throw new EngineException($"--security-opt \"{opt}\": not seccomp=unconfined|FILE or no-new-privileges[=false]");
            }
        }
    }

    /// <summary>--ulimit nofile=1024:2048 (docker's syntax; a soft limit alone is also the hard one).</summary>
    static List<Rlimit> Rlimits(IReadOnlyList<string> ulimits)
    {
        var limits = new List<Rlimit> { new() { Type = "RLIMIT_NOFILE", Soft = 1024, Hard = 1024 } };
        foreach (var u in ulimits)
        {
            var bad = new EngineException($"--ulimit \"{u}\": not TYPE=SOFT[:HARD] (nofile=1024:2048)");
            var kv = u.Split('=', 2);
            if (kv.Length != 2) throw bad;
            var values = kv[1].Split(':');
            ulong Limit(string s) => s == "-1" ? ulong.MaxValue : ulong.TryParse(s, out var n) ? n : throw bad;
            var soft = Limit(values[0]);
            var hard = values.Length > 1 ? Limit(values[1]) : soft;
            if (soft > hard || values.Length > 2) throw bad;
            var type = "RLIMIT_" + kv[0].ToUpperInvariant();
            limits.RemoveAll(l => l.Type == type);
            limits.Add(new Rlimit { Type = type, Soft = soft, Hard = hard });
        }
        return limits;
    }

    public static Mount Bind(string source, string destination, bool readOnly, IEnumerable<string>? extra = null) => new()
    {
        Destination = destination, Type = "bind", Source = source,
        Options = new List<string> { "rbind", readOnly ? "ro" : "rw", "nosuid", "nodev" }.Concat(extra ?? Array.Empty<string>()).ToList(),
    };
}
