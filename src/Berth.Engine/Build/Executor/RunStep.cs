using System.Text;
using Berth.Engine.Specs;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Engine.Build.Executor;

/// <summary>A RUN --mount=… as buildah takes it, parsed: type=cache|bind|tmpfs|secret and its options.</summary>
public sealed record RunMount(string Type, string Target, string? Source, string? From, string? Id, bool ReadWrite, bool Required, uint? Mode, uint? Uid, uint? Gid, long? Size)
{
    public static RunMount Parse(string text, Func<string, string> expand)
    {
        var kv = new Dictionary<string, string?>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            var key = (eq < 0 ? part : part[..eq]).ToLowerInvariant();
            kv[key] = eq < 0 ? null : expand(part[(eq + 1)..]);
        }
        string? Get(params string[] keys) => keys.Select(k => kv.TryGetValue(k, out var v) ? v ?? "true" : null).FirstOrDefault(v => v is not null);
        var type = Get("type") ?? "bind";
        if (type is not ("bind" or "cache" or "tmpfs" or "secret"))
            throw new EngineException($"--mount=type={type}: not bind, cache, tmpfs or secret");
        foreach (var k in kv.Keys)
            if (k is not ("type" or "target" or "dst" or "destination" or "source" or "src" or "from" or "id" or "rw" or "readwrite" or "ro" or "readonly"
                or "required" or "mode" or "uid" or "gid" or "size" or "sharing" or "z" or "Z" or "relabel" or "bind-propagation"))
                throw new EngineException($"--mount: unknown option \"{k}\" (in \"{text}\")");
        var id = Get("id");
        var target = Get("target", "dst", "destination");
        if (type == "secret") target ??= "/run/secrets/" + (id ?? Get("source", "src") ?? "");
        if (target is null or "") throw new EngineException($"--mount \"{text}\": a target is required");
        if (type == "secret" && (id ?? Get("source", "src")) is null) throw new EngineException($"--mount \"{text}\": a secret needs id=");
        uint? Octal(string? s) => s is null ? null : Convert.ToUInt32(s, 8);
        uint? Num(string? s) => s is null ? null : uint.TryParse(s, out var n) ? n : throw new EngineException($"--mount \"{text}\": \"{s}\" is not a number");
        bool rw = Get("rw", "readwrite") is { } w ? w != "false" : type is "cache" or "tmpfs";
        if (Get("ro", "readonly") is "true") rw = false;
        long? size = Get("size") is { } sz ? long.Parse(sz) : null;
        return new RunMount(type, target.StartsWith('/') ? target : "/" + target, Get("source", "src"), Get("from"), id ?? (type == "secret" ? Get("source", "src") : null),
            rw, Get("required") is "true", Octal(Get("mode")), Num(Get("uid")), Num(Get("gid")), size);
    }
}

/// <summary>What a RUN step runs, resolved: arguments, environment, user, working dir, network, mounts.</summary>
public sealed record RunRequest(List<string> Args, List<string> Env, string? User, string WorkingDir, bool HostNetwork, List<Mount> Mounts);

/// <summary>
/// A RUN step as a container of Berth's own runtime (`berth-runtime run`), buildah's defaults: its
/// default capability set, no no_new_privs, a writable root on the step's overlay, the host's
/// network (and its /etc/resolv.conf and /etc/hosts) unless --network none. Its output goes to the
/// build's and its last lines are kept for the error when it fails.
/// </summary>
public static class RunStep
{
    /// <summary>containers.conf's default_capabilities (buildah's RUN set).</summary>
    public static readonly string[] DefaultCapabilities =
    {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
        "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
    };

    public static Spec SpecOf(string id, StepRoot root, RunRequest r)
    {
        var spec = DefaultSpec.Create();
        spec.Root = new Root { Path = root.Rootfs, Readonly = false };
        var p = spec.Process!;
        p.Terminal = false;
        p.Args = r.Args;
        p.Env = r.Env;
        p.Cwd = r.WorkingDir;
        p.User = Users.Resolve(r.User, root.Rootfs);
        var caps = DefaultCapabilities.ToList();
        p.Capabilities = new Capabilities { Bounding = caps, Effective = new(caps), Permitted = new(caps) };
        p.NoNewPrivileges = false;
        spec.Hostname = id[..Math.Min(12, id.Length)];
        var linux = spec.Linux!;
        linux.CgroupsPath = $"berth-{id}";
        if (r.HostNetwork) linux.Namespaces!.RemoveAll(n => n.Type == "network");
        // The host's resolver and hosts for the host network (buildah copies them in), localhost only without one.
        var hosts = Path.Combine(root.Dir, "hosts");
        var resolv = Path.Combine(root.Dir, "resolv.conf");
        FileSystem.WriteNew(hosts, r.HostNetwork && FileSystem.TryReadText("/etc/hosts") is { } h ? Encoding.UTF8.GetBytes(h)
            : Encoding.UTF8.GetBytes($"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{spec.Hostname}\n"));
        FileSystem.WriteNew(resolv, Encoding.UTF8.GetBytes(FileSystem.TryReadText("/etc/resolv.conf") ?? ""));
        spec.Mounts!.Add(ContainerSpec.Bind(hosts, "/etc/hosts", readOnly: false));
        spec.Mounts.Add(ContainerSpec.Bind(resolv, "/etc/resolv.conf", readOnly: false));
        spec.Mounts.AddRange(r.Mounts);
        return spec;
    }

    /// <summary>
    /// The mount destinations and their parents the image lacks: the runtime makes them in the
    /// upper directory to mount over, and they are not the step's work (Changeset leaves them out
    /// while they are empty, as podman's commit does).
    /// </summary>
    public static HashSet<string> MissingTargets(string rootfs, IEnumerable<string> destinations)
    {
        var missing = new HashSet<string>();
        using var root = Files.Open(rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC);
        foreach (var d in destinations)
        {
            var parts = d.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (int i = 1; i <= parts.Length; i++)
            {
                var rel = string.Join('/', parts.Take(i));
                if (InRoot.TryOpen(root, rel, out var fd)) fd!.Dispose();
                else missing.Add(rel);
            }
        }
        return missing;
    }

    /// <summary>Skips a stub made for a mount: an empty file, or a directory holding only stubs.</summary>
    public static Func<string, FileStat, bool> StubFilter(string upper, HashSet<string> missing) => (path, st) =>
    {
        if (!missing.Contains(path)) return false;
        if (st.IsRegular) return st.Size == 0;
        if (!st.IsDirectory) return false;
        return FileSystem.Names(Path.Combine(upper, path)).All(n => StubFilter(upper, missing)(path + "/" + n, Files.Stat(null, Path.Combine(upper, path, n), follow: false)));
    };

    /// <summary>Runs the container to its end; its exit code (128+N for a signal), the last lines of its output.</summary>
    public static (int Code, string Tail) Run(string runtimePath, string runtimeRoot, string id, StepRoot root, Spec spec, Action<ReadOnlySpan<byte>> output)
    {
        FileSystem.WriteNew(Path.Combine(root.Dir, "config.json"), JsonOut.Document(spec, indent: "\t"));
        var (r, w) = Files.Pipe();
        using var devNull = Files.Open("/dev/null", O.RDONLY | O.CLOEXEC);
        int pid;
        try
        {
            using (w)
                pid = Processes.Spawn(runtimePath, new[] { runtimePath, $"--root={runtimeRoot}", "run", "--bundle", root.Dir, id }, Processes.Environment(),
                    new[] { new ChildFd(devNull, 0), new ChildFd(w, 1), new ChildFd(w, 2) });
            var tail = new Tail(20);
            var buffer = new byte[1 << 14];
            using (r)
                while (true)
                {
                    int n = Files.Read(r, buffer);
                    if (n <= 0) break;
                    output(buffer.AsSpan(0, n));
                    tail.Add(buffer.AsSpan(0, n));
                }
            var status = Processes.Wait(pid)!.Value.Status;
            return (status.ShellCode, tail.ToString());
        }
        finally
        {
            // `run` deletes its container; one killed half-way may not have.
            new Monitor.RuntimeClient(runtimePath, runtimeRoot).ForceDelete(id);
        }
    }

    /// <summary>The last lines of a stream of bytes.</summary>
    sealed class Tail(int lines)
    {
        readonly Queue<string> _lines = new();
        readonly StringBuilder _current = new();
        public void Add(ReadOnlySpan<byte> data)
        {
            foreach (var ch in Encoding.UTF8.GetString(data))
            {
                if (ch == '\n')
                {
                    _lines.Enqueue(_current.ToString());
                    _current.Clear();
                    while (_lines.Count > lines) _lines.Dequeue();
                }
                else if (_current.Length < 400) _current.Append(ch);
            }
        }
        public override string ToString()
        {
            var all = _lines.ToList();
            if (_current.Length > 0) all.Add(_current.ToString());
            return string.Join("\n", all.TakeLast(lines));
        }
    }
}
