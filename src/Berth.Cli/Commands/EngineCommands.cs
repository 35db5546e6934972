using System.Globalization;
using System.Text;
using System.Text.Json;
using Berth.Engine;
using Berth.Engine.Monitor;
using Berth.Engine.Network;
using Berth.Engine.Networking;
using Berth.Engine.Specs;
using Berth.Engine.Store;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Runtime;

namespace Berth.Cli.Commands;

/// <summary>
/// The engine's face of `berth` (podman's and docker's habits): run, create, start, stop, ps,
/// logs, exec, rm … Errors exit 125 (docker's "the engine failed"), 126/127 when the command
/// cannot be run or is not found; a container's own exit code otherwise.
/// </summary>
public static class EngineCommands
{
    public const string DefaultStore = "/var/lib/berth";

    public const string UsageLines =
        "  run      run a command in a new container from an image (-d, --rm, -i, -t, --name, -e, -v, -p, --init, …)\n" +
        "  create   create a container from an image, to `start` later\n" +
        "  start, stop, restart, kill, rm, pause, unpause, rename, wait\n" +
        "           a container's life (stop -t N escalates to SIGKILL; rm -f, -v)\n" +
        "  ps       list containers (-a, -q, --format table|json|{{.Field}})\n" +
        "  logs     a container's output (-f, --tail N, --since, -t)\n" +
        "  exec     run a process in a running container (-i, -t, -e, -u, -w)\n" +
        "  inspect, top, stats, port, cp\n" +
        "  commit   a new image from a container's changes: CONTAINER [IMAGE[:TAG]] (-m MSG, -a AUTHOR,\n" +
        "           -c 'CMD [\"x\"]'|'ENTRYPOINT …'|'ENV K=V'|'WORKDIR d'|'USER u'|'LABEL k=v'|'EXPOSE p', --pause=false)\n" +
        "  container prune | cleanup   remove stopped and half-made containers\n" +
        "  volume   named volumes: create, ls, inspect, rm, prune\n" +
        "  images, pull, push, tag, rmi, save, load   short forms of `berth image …`\n" +
        "  runtime  the OCI runtime's own commands (berth-runtime's): berth runtime run|create|state|… \n" +
        "  spec, features, login, logout\n";

    static readonly Flag[] RunFlags =
    {
        new("detach", 'd'), new("rm"), new("interactive", 'i'), new("tty", 't'), new("name", null, true),
        new("env", 'e', true, true), new("env-file", null, true, true), new("volume", 'v', true, true), new("mount", null, true, true),
        new("tmpfs", null, true, true), new("workdir", 'w', true), new("user", 'u', true), new("entrypoint", null, true),
        new("hostname", 'h', true), new("label", 'l', true, true), new("cap-add", null, true, true), new("cap-drop", null, true, true),
        new("security-opt", null, true, true), new("read-only"), new("privileged"), new("memory", 'm', true), new("cpus", null, true),
        new("pids-limit", null, true), new("ulimit", null, true, true), new("init"), new("stop-signal", null, true),
        new("stop-timeout", null, true), new("pull", null, true), new("platform", null, true), new("runtime", null, true),
        new("network", null, true), new("net", null, true), new("publish", 'p', true, true), new("add-host", null, true, true),
        new("dns", null, true, true),
    };

    public static Engine.Engine EngineOf(Context ctx)
    {
        var self = Files.ReadLinkAt(null, "/proc/self/exe") ?? "berth";
        var store = ctx.Global?.Value("store") ?? DefaultStore;
        var runtime = Path.Combine(Path.GetDirectoryName(self) ?? "/", "berth-runtime");
        store = Path.GetFullPath(store);
        var root = Path.GetFullPath(ctx.Root);
        // CNI as podman calls it: conflists in /etc/berth/net.d, plugins in /usr/lib/cni (both
        // overridable, as CNI's own CNI_PATH), the network state beside the containers. The default
        // network is the `berth` bridge; BERTH_DEFAULT_NETWORK (containers.conf's default_network) changes it.
        var networks = new Networks(Environment.GetEnvironmentVariable("BERTH_NETWORK_CONFIG_DIR") ?? Networks.DefaultConfigDir,
            Path.Combine(store, "networks"), Environment.GetEnvironmentVariable("CNI_PATH") ?? "/usr/lib/cni");
        var networking = new CniNetworking(networks, Path.Combine(root, "netns"),
            Environment.GetEnvironmentVariable("BERTH_DEFAULT_NETWORK") is { Length: > 0 } d ? d : Networks.DefaultNetwork);
        return new Engine.Engine(new EngineSettings(store, root, runtime, self, Path.Combine(store, "images")), networking);
    }

    /// <summary>The engine's commands; null for the others (the runtime's spec and features, image, login).</summary>
    public static int? Run(string command, IReadOnlyList<string> rest, Context ctx)
    {
        Func<int>? f = command switch
        {
            "run" => () => RunCommand(ctx, rest, create: false),
            "create" => () => RunCommand(ctx, rest, create: true),
            "start" => () => Start(ctx, rest),
            "stop" => () => Stop(ctx, rest),
            "restart" => () => Restart(ctx, rest),
            "kill" => () => Kill(ctx, rest),
            "rm" or "delete" => () => Rm(ctx, rest),
            "ps" or "list" => () => Ps(ctx, rest),
            "logs" => () => Logs(ctx, rest),
            "exec" => () => Exec(ctx, rest),
            "inspect" => () => Inspect(ctx, rest),
            "wait" => () => WaitCommand(ctx, rest),
            "top" => () => Top(ctx, rest),
            "stats" => () => Stats(ctx, rest),
            "port" => () => Port(ctx, rest),
            "cp" => () => Cp(ctx, rest),
            "pause" => () => Pause(ctx, rest, true),
            "unpause" => () => Pause(ctx, rest, false),
            "rename" => () => Rename(ctx, rest),
            "commit" => () => Commit(ctx, rest),
            "build" => () => BuildCommands.Build(ctx, rest),
            "events" or "update" => () => ToRuntime(ctx, command, rest),
            "container" => () => Container(ctx, rest),
            "volume" => () => Volume(ctx, rest),
            "images" => () => Image(ctx, "ls", rest),
            "pull" => () => Image(ctx, "pull", rest),
            "push" => () => Image(ctx, "push", rest),
            "tag" => () => Image(ctx, "tag", rest),
            "rmi" => () => Image(ctx, "rm", rest),
            "save" => () => Save(ctx, rest),
            "load" => () => Load(ctx, rest),
            "image" when ctx.Global?.Value("store") is not null => () => ImageCommands.Run(WithImageStore(ctx, rest)),
            _ => null,
        };
        if (f is null) return null;
        try
        {
            return f();
        }
        catch (EngineException e)
        {
            Log.Stderr($"berth: {command}: {e.Message.ReplaceLineEndings(" ")}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is UsageException or LinuxException or Images.ImageException or Oci.SpecException or RuntimeException)
        {
            Log.Stderr($"berth: {command}: {e.Message.ReplaceLineEndings(" ")}");
            return 125;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not bad input: one line, named as what it is, and docker's engine-error code.
            Log.Stderr($"berth: {command}: internal error: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
            return 125;
        }
    }

    /// <summary>"-it" is "-i -t" (docker's combined short flags); a flag's value is never split.</summary>
    static List<string> ExpandShort(IReadOnlyList<string> args, Flag[] flags)
    {
        var list = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--" || (a.Length > 0 && a[0] != '-')) { list.AddRange(args.Skip(i)); break; }
            if (a.Length > 2 && a[0] == '-' && a[1] != '-' && !a.Contains('=') && a.Skip(1).All(ch => flags.Any(f => f.Short == ch)))
            {
                var letters = a[1..];
                for (int j = 0; j < letters.Length; j++)
                {
                    list.Add("-" + letters[j]);
                    var flag = flags.First(f => f.Short == letters[j]);
                    if (flag.TakesValue && j < letters.Length - 1) { list.Add(letters[(j + 1)..]); break; }
                }
                continue;
            }
            list.Add(a);
            if (flags.FirstOrDefault(f => "--" + f.Name == a || (a.Length == 2 && f.Short == a[1])) is { TakesValue: true } && i + 1 < args.Count)
                list.Add(args[++i]);
        }
        return list;
    }

    static CommandLine Parse(IReadOnlyList<string> args, Flag[] flags, bool stopAtPositional = true) =>
        CommandLine.Parse(ExpandShort(args, flags), flags, stopAtPositional);

    // ---- run / create ------------------------------------------------------------------------

    static int RunCommand(Context ctx, IReadOnlyList<string> args, bool create)
    {
        var cl = Parse(args, RunFlags);
        if (cl.Positional.Count == 0) throw new UsageException($"{(create ? "create" : "run")}: an image is required: berth {(create ? "create" : "run")} [options] IMAGE [COMMAND...]");
        var o = Options(cl);
        var engine = EngineOf(ctx);
        EnsureImage(ctx, engine, o);
        bool foreground = !create && !o.Detach;
        var r = engine.Create(o, attached: foreground);
        if (create)
        {
            Output.Write(r.Id + "\n");
            return 0;
        }
        if (o.Detach)
        {
            try
            {
                engine.Start(r);
            }
            catch
            {
                engine.Remove(engine.Store.TryRead(r.Id) ?? r, force: true, volumes: true);
                throw;
            }
            Output.Write(r.Id + "\n");
            return 0;
        }
        return engine.RunAttached(r, stdin: o.Interactive);
    }

    /// <summary>--pull missing|always|never: the image in the store, pulled from its registry when asked.</summary>
    static void EnsureImage(Context ctx, Engine.Engine engine, RunOptions o)
    {
        if (o.Pull is not ("missing" or "always" or "never")) throw new UsageException($"--pull \"{o.Pull}\": not missing, always or never");
        var images = new Images.ImageService(engine.Settings.ImagesRoot);
        var reference = images.Parse(o.Image);
        bool present = true;
        if (reference is Images.Transports.StoreReference)
        {
            try { images.Store.Find(reference.Name); }
            catch (Images.ImageException) { present = false; }
        }
        if (o.Pull == "always" || (!present && o.Pull == "missing"))
        {
            if (reference is not Images.Transports.StoreReference) return;
            var pullArgs = new List<string> { "pull", o.Image, "--store", engine.Settings.ImagesRoot };
            if (o.Platform is { } p) pullArgs.AddRange(new[] { "--platform", p });
            var code = ImageCommands.Run(pullArgs);
            if (code != 0) throw new EngineException($"{o.Image}: pull failed");
        }
        else if (!present) throw new EngineException($"{o.Image}: no such image in the store (and --pull never)");
    }

    static RunOptions Options(CommandLine cl)
    {
        var o = new RunOptions
        {
            Image = cl.Positional[0], Command = cl.Positional.Skip(1).ToList(),
            Entrypoint = cl.Value("entrypoint"), Name = cl.Value("name"),
            Detach = cl.Has("detach"), Remove = cl.Has("rm"), Interactive = cl.Has("interactive"), Tty = cl.Has("tty"),
            WorkDir = cl.Value("workdir"), User = cl.Value("user"), Hostname = cl.Value("hostname"),
            CapAdd = cl.Values("cap-add").ToList(), CapDrop = cl.Values("cap-drop").ToList(), SecurityOpts = cl.Values("security-opt").ToList(),
            // --read-only is the default: only --read-only=false changes it.
            ReadOnly = cl.Value("read-only") != "false", Privileged = cl.Has("privileged"),
            Memory = cl.Bytes("memory"), PidsLimit = cl.Long("pids-limit"), Ulimits = cl.Values("ulimit").ToList(), Init = cl.Has("init"),
            StopSignal = cl.Value("stop-signal"), Pull = cl.Value("pull") ?? "missing", Platform = cl.Value("platform"),
            Runtime = cl.Value("runtime") is { } rt ? ResolveRuntime(rt) : null,
            Network = cl.Value("network") ?? cl.Value("net"), AddHosts = cl.Values("add-host").ToList(), Dns = cl.Values("dns").ToList(),
        };
        if (cl.Value("stop-timeout") is { } st) o.StopTimeout = int.TryParse(st, out var t) && t >= 0 ? t : throw new UsageException($"--stop-timeout \"{st}\": not a number of seconds");
        if (cl.Value("cpus") is { } cpus)
            o.Cpus = double.TryParse(cpus, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) && c > 0 ? c : throw new UsageException($"--cpus \"{cpus}\": not a positive number");
        foreach (var f in cl.Values("env-file"))
            foreach (var line in FileSystem.ReadText(f).Split('\n'))
                if (line.Trim() is { Length: > 0 } l && !l.StartsWith('#')) o.Env.Add(EnvEntry(l));
        foreach (var e in cl.Values("env")) o.Env.Add(EnvEntry(e));
        foreach (var l in cl.Values("label"))
        {
            var kv = l.Split('=', 2);
            o.Labels[kv[0]] = kv.Length > 1 ? kv[1] : "";
        }
        foreach (var v in cl.Values("volume")) o.Mounts.Add(VolumeFlag(v));
        foreach (var m in cl.Values("mount")) o.Mounts.Add(MountFlag(m));
        foreach (var t in cl.Values("tmpfs"))
        {
            var parts = t.Split(':', 2);
            o.Mounts.Add(new MountRequest("tmpfs", "tmpfs", parts[0], false, parts.Length > 1 ? parts[1].Split(',') : Array.Empty<string>()));
        }
        foreach (var p in cl.Values("publish"))
        {
            try { o.Ports.AddRange(PortMapping.Parse(p)); }
            catch (NetworkException e) { throw new EngineException(e.Message); }
        }
        return o;
    }

    static string ResolveRuntime(string name)
    {
        if (name.Contains('/')) return Path.GetFullPath(name);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin").Split(':'))
            if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
        throw new EngineException($"--runtime {name}: not found in PATH");
    }

    /// <summary>-e K=V, or -e K for the value in this environment (docker's rule).</summary>
    static string EnvEntry(string e)
    {
        if (e.Contains('=')) return e;
        return Environment.GetEnvironmentVariable(e) is { } v ? $"{e}={v}" : e + "=";
    }

    /// <summary>-v SRC:DST[:ro|rw|z], SRC a host path (starts with / or .) or a volume name; -v DST alone is an anonymous volume.</summary>
    static MountRequest VolumeFlag(string v)
    {
        var parts = v.Split(':');
        if (parts.Length == 1)
            return new MountRequest("volume", ContainerStore.NewId(), parts[0], false, Array.Empty<string>()) { Anonymous = true };
        if (parts.Length > 3 || parts[0].Length == 0 || parts[1].Length == 0) throw new EngineException($"-v \"{v}\": not SRC:DST[:ro|rw]");
        bool ro = false;
        if (parts.Length == 3)
            foreach (var opt in parts[2].Split(','))
                switch (opt)
                {
                    case "ro": ro = true; break;
                    case "rw" or "z" or "Z": break;
                    default: throw new EngineException($"-v \"{v}\": unknown option \"{opt}\" (ro, rw, z)");
                }
        bool path = parts[0].StartsWith('/') || parts[0].StartsWith('.');
        return new MountRequest(path ? "bind" : "volume", path ? Path.GetFullPath(parts[0]) : parts[0], parts[1], ro, Array.Empty<string>());
    }

    /// <summary>--mount type=bind|volume|tmpfs,source=…,target=…[,readonly].</summary>
    static MountRequest MountFlag(string m)
    {
        string? type = null, source = null, target = null;
        bool ro = false;
        var opts = new List<string>();
        foreach (var kv in m.Split(','))
        {
            var p = kv.Split('=', 2);
            var value = p.Length > 1 ? p[1] : "";
            switch (p[0])
            {
                case "type": type = value; break;
                case "source" or "src": source = value; break;
                case "target" or "destination" or "dst": target = value; break;
                case "readonly" or "ro": ro = value is "" or "true" or "1"; break;
                case "tmpfs-size": opts.Add($"size={value}"); break;
                case "tmpfs-mode": opts.Add($"mode={value}"); break;
                default: throw new EngineException($"--mount \"{m}\": unknown key \"{p[0]}\"");
            }
        }
        if (target is null) throw new EngineException($"--mount \"{m}\": target= is required");
        return type switch
        {
            "bind" => new MountRequest("bind", Path.GetFullPath(source ?? throw new EngineException($"--mount \"{m}\": source= is required for a bind")), target, ro, opts),
            "volume" => source is null
                ? new MountRequest("volume", ContainerStore.NewId(), target, ro, opts) { Anonymous = true }
                : new MountRequest("volume", source, target, ro, opts),
            "tmpfs" => new MountRequest("tmpfs", "tmpfs", target, ro, opts),
            _ => throw new EngineException($"--mount \"{m}\": type= must be bind, volume or tmpfs"),
        };
    }

    // ---- lifecycle -----------------------------------------------------------------------------

    static List<ContainerRecord> Targets(Engine.Engine engine, CommandLine cl, string command)
    {
        if (cl.Positional.Count == 0) throw new UsageException($"{command}: at least one container is required");
        return cl.Positional.Select(engine.Store.Find).ToList();
    }

    /// <summary>docker's habit for commands on several containers: each done, its name printed; the first error reported, exit 125 if any failed.</summary>
    static int Each(string command, IEnumerable<string> names, Func<string, string?> act)
    {
        int rc = 0;
        foreach (var n in names)
        {
            try
            {
                if (act(n) is { } line) Output.Write(line + "\n");
            }
            catch (Exception e) when (e is EngineException or LinuxException)
            {
                Log.Stderr($"berth: {command}: {n}: {e.Message.ReplaceLineEndings(" ")}");
                rc = e is EngineException ee ? ee.ExitCode : 125;
            }
        }
        return rc;
    }

    static int Start(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("attach", 'a'), new("interactive", 'i') });
        var engine = EngineOf(ctx);
        if (cl.Has("attach"))
        {
            var r = engine.Store.Find(cl.Id("start"));
            return engine.RunAttached(r, stdin: cl.Has("interactive"));
        }
        if (cl.Positional.Count == 0) throw new UsageException("start: at least one container is required");
        return Each("start", cl.Positional, n => { engine.Start(engine.Store.Find(n)); return n; });
    }

    static int Stop(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("time", 't', true), new("timeout", null, true) });
        var engine = EngineOf(ctx);
        int? timeout = (cl.Value("time") ?? cl.Value("timeout")) is { } t ? (int.TryParse(t, out var n) && n >= 0 ? n : throw new UsageException("stop: -t takes seconds")) : null;
        if (cl.Positional.Count == 0) throw new UsageException("stop: at least one container is required");
        return Each("stop", cl.Positional, n => { engine.Stop(engine.Store.Find(n), timeout); return n; });
    }

    static int Restart(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("time", 't', true) });
        var engine = EngineOf(ctx);
        int? timeout = cl.Value("time") is { } t ? int.Parse(t, CultureInfo.InvariantCulture) : null;
        if (cl.Positional.Count == 0) throw new UsageException("restart: at least one container is required");
        return Each("restart", cl.Positional, n =>
        {
            var r = engine.Store.Find(n);
            engine.Stop(r, timeout);
            engine.Start(engine.Store.Find(r.Id));
            return n;
        });
    }

    static int Kill(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("signal", 's', true) });
        var engine = EngineOf(ctx);
        var sig = cl.Value("signal") ?? "KILL";
        var signal = Signals.Parse(sig) ?? throw new EngineException($"kill: unknown signal \"{sig}\"");
        if (cl.Positional.Count == 0) throw new UsageException("kill: at least one container is required");
        return Each("kill", cl.Positional, n => { engine.Kill(engine.Store.Find(n), signal); return n; });
    }

    static int Rm(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("force", 'f'), new("volumes", 'v'), new("all", 'a') });
        var engine = EngineOf(ctx);
        var names = cl.Has("all") ? engine.Store.All().Select(r => r.Id).ToList() : cl.Positional;
        if (cl.Has("force")) engine.RemoveOrphanDirectories();
        if (names.Count == 0 && !cl.Has("all")) throw new UsageException("rm: at least one container is required");
        return Each("rm", names, n => { engine.Remove(engine.Store.Find(n), cl.Has("force"), cl.Has("volumes")); return n; });
    }

    static int Pause(Context ctx, IReadOnlyList<string> args, bool pause)
    {
        var cl = Parse(args, Array.Empty<Flag>());
        var engine = EngineOf(ctx);
        if (cl.Positional.Count == 0) throw new UsageException("pause: at least one container is required");
        return Each(pause ? "pause" : "unpause", cl.Positional, n => { engine.Pause(engine.Store.Find(n), pause); return n; });
    }

    static readonly Flag[] CommitFlags =
    {
        new("message", 'm', true), new("author", 'a', true), new("change", 'c', true, true), new("pause", 'p'), new("quiet", 'q'),
    };

    /// <summary>`commit [-m MSG] [-a AUTHOR] [-c CHANGE]… [--pause=true] CONTAINER [IMAGE[:TAG]]`: prints the new image's id.</summary>
    static int Commit(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, CommitFlags);
        if (cl.Positional.Count is < 1 or > 2) throw new UsageException("usage: berth commit [OPTIONS] CONTAINER [IMAGE[:TAG]]");
        bool pause = cl.Value("pause") != "false";
        var changes = cl.Values("change").ToList();
        Images.ImageChanges.Validate(changes);
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(cl.Positional[0]);
        var id = engine.Commit(r, cl.Positional.Count == 2 ? cl.Positional[1] : null, changes, cl.Value("message"), cl.Value("author"), pause);
        Output.Write(id + "\n");
        return 0;
    }

    static int Rename(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, Array.Empty<Flag>());
        if (cl.Positional.Count != 2) throw new UsageException("rename: CONTAINER NEW_NAME");
        var engine = EngineOf(ctx);
        engine.Rename(engine.Store.Find(cl.Positional[0]), cl.Positional[1]);
        return 0;
    }

    /// <summary>`events` and `update` are the runtime's, on a container named the engine's way (name, id prefix): its id is the runtime's id.</summary>
    static int ToRuntime(Context ctx, string command, IReadOnlyList<string> args)
    {
        if (args.Count == 0 || args[^1].StartsWith('-')) throw new UsageException($"{command}: a container is required (last)");
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(args[^1]);
        var runtime = engine.RuntimeFor(r);
        var argv = new List<string> { runtime.Path };
        argv.AddRange(runtime.GlobalArgs);
        argv.Add(command);
        argv.AddRange(args.Take(args.Count - 1));
        argv.Add(r.Id);
        Processes.ExecReplace(runtime.Path, argv, Processes.Environment());
        return 125;
    }

    static int WaitCommand(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, Array.Empty<Flag>());
        var engine = EngineOf(ctx);
        if (cl.Positional.Count == 0) throw new UsageException("wait: at least one container is required");
        return Each("wait", cl.Positional, n => engine.Wait(engine.Store.Find(n)).ToString(CultureInfo.InvariantCulture));
    }

    static int Container(Context ctx, IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new UsageException("container: usage: berth container prune|cleanup|ls|rm|inspect|… ");
        var rest = args.Skip(1).ToList();
        var engine = EngineOf(ctx);
        switch (args[0])
        {
            case "prune":
                Parse(rest, new Flag[] { new("force", 'f') });
                var removed = engine.Prune();
                Output.Write(string.Concat(removed.Select(id => id + "\n")));
                return 0;
            case "cleanup":
                // conmon's exit command: the exit recorded, runtime state and mounts released, --rm honoured.
                var cl = Parse(rest, Array.Empty<Flag>());
                var id = cl.Id("container cleanup");
                if (engine.Store.TryRead(id) is null) return 0;
                engine.Cleanup(id, removeIfAuto: true);
                return 0;
            case "ls":
                return Ps(ctx, rest);
            default:
                return Run(args[0], rest, ctx) ?? throw new UsageException($"container: unknown command \"{args[0]}\"");
        }
    }

    // ---- ps, inspect, logs -------------------------------------------------------------------------

    static string Ago(string? iso)
    {
        if (iso is null || !DateTime.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)) return "";
        var d = DateTime.UtcNow - t;
        if (d.TotalSeconds < 1) return "Less than a second";
        if (d.TotalSeconds < 60) return $"{(int)d.TotalSeconds} second{((int)d.TotalSeconds == 1 ? "" : "s")}";
        if (d.TotalMinutes < 60) return $"{(int)d.TotalMinutes} minute{((int)d.TotalMinutes == 1 ? "" : "s")}";
        if (d.TotalHours < 48) return $"{(int)d.TotalHours} hour{((int)d.TotalHours == 1 ? "" : "s")}";
        return $"{(int)d.TotalDays} days";
    }

    static string StatusText(ContainerRecord r, ContainerStatus s) => s.State switch
    {
        "running" => $"Up {Ago(r.StartedAt)}",
        "paused" => $"Up {Ago(r.StartedAt)} (Paused)",
        "exited" => $"Exited ({s.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-1"}) {Ago(r.FinishedAt ?? r.StartedAt ?? r.Created)} ago",
        "created" => "Created",
        "creating" => "Creating",
        _ => "Incomplete (its CLI died; rm -f or container prune)",
    };

    static Dictionary<string, string> Fields(ContainerRecord r, ContainerStatus s) => new()
    {
        ["ID"] = r.ShortId, ["Id"] = r.Id, ["Names"] = r.Name, ["Name"] = r.Name, ["Image"] = r.Image,
        ["Command"] = string.Join(' ', r.Command), ["CreatedAt"] = r.Created, ["Created"] = r.Created,
        ["Status"] = StatusText(r, s), ["State"] = s.State, ["Ports"] = string.Join(", ", r.Ports),
        ["ExitCode"] = s.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "", ["Pid"] = s.Running ? r.Pid.ToString(CultureInfo.InvariantCulture) : "0",
        ["Networks"] = r.Network,
    };

    static int Ps(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("all", 'a'), new("quiet", 'q'), new("format", null, true), new("no-trunc"), new("latest", 'l') });
        var engine = EngineOf(ctx);
        var rows = engine.Store.All()
            .Select(r => (r, s: engine.StatusOf(r)))
            .Where(x => cl.Has("all") || x.s.Running)
            .OrderByDescending(x => x.r.Created, StringComparer.Ordinal)
            .ToList();
        if (cl.Has("latest")) rows = rows.Take(1).ToList();
        var sb = new StringBuilder();
        var format = cl.Value("format") ?? "table";
        if (cl.Has("quiet"))
            foreach (var (r, _) in rows) sb.Append(cl.Has("no-trunc") ? r.Id : r.ShortId).Append('\n');
        else if (format == "json")
            sb.Append(Encoding.UTF8.GetString(JsonOut.Write(w =>
            {
                w.WriteStartArray();
                foreach (var (r, s) in rows)
                {
                    w.WriteStartObject();
                    foreach (var (k, v) in Fields(r, s)) w.WriteString(k, v);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }, indent: "  "))).Append('\n');
        else if (format == "table")
        {
            sb.Append($"{"CONTAINER ID",-14}{"IMAGE",-28}{"COMMAND",-23}{"CREATED",-24}{"STATUS",-36}{"PORTS",-22}NAMES\n");
            foreach (var (r, s) in rows)
            {
                var cmd = string.Join(' ', r.Command);
                if (cmd.Length > 20) cmd = cmd[..17] + "...";
                sb.Append($"{r.ShortId,-14}{Cell(r.Image, 28)}{Cell('"' + cmd + '"', 23)}{Cell(Ago(r.Created) + " ago", 24)}{Cell(StatusText(r, s), 36)}{Cell(string.Join(", ", r.Ports), 22)}{r.Name}\n");
            }
        }
        else
            foreach (var (r, s) in rows) sb.Append(Template(format.StartsWith("table ") ? format[6..] : format, Fields(r, s))).Append('\n');
        Output.Write(sb.ToString());
        return 0;
    }

    /// <summary>A table cell: padded to its column, and at least one space from the next.</summary>
    static string Cell(string text, int width) => text.Length >= width ? text + " " : text.PadRight(width);

    /// <summary>Go-template fields as docker's --format has them: {{.Field}} and nothing cleverer.</summary>
    static string Template(string format, Dictionary<string, string> fields)
    {
        var sb = new StringBuilder();
        int i = 0;
        while (i < format.Length)
        {
            int open = format.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0) { sb.Append(format[i..]); break; }
            sb.Append(format[i..open]);
            int close = format.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0) throw new UsageException($"--format \"{format}\": unclosed {{{{");
            var field = format[(open + 2)..close].Trim().TrimStart('.');
            sb.Append(fields.TryGetValue(field, out var v) ? v : throw new UsageException($"--format: no field \"{field}\" (ID, Names, Image, Command, Status, State, Ports, CreatedAt)"));
            i = close + 2;
        }
        return sb.ToString().Replace("\\t", "\t").Replace("\\n", "\n");
    }

    static int Inspect(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("format", 'f', true), new("type", null, true) });
        var engine = EngineOf(ctx);
        var records = Targets(engine, cl, "inspect");
        var json = JsonOut.Write(w =>
        {
            w.WriteStartArray();
            foreach (var r in records) WriteInspect(w, engine, r);
            w.WriteEndArray();
        }, indent: "    ");
        if (cl.Value("format") is { } f)
        {
            var sb = new StringBuilder();
            foreach (var r in records)
            {
                var s = engine.StatusOf(r);
                var fields = Fields(r, s);
                fields["State.Status"] = s.State;
                fields["State.ExitCode"] = s.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "0";
                fields["State.OOMKilled"] = r.OomKilled ? "true" : "false";
                fields["State.Pid"] = fields["Pid"];
                fields["State.Running"] = s.Running ? "true" : "false";
                sb.Append(Template(f, fields)).Append('\n');
            }
            Output.Write(sb.ToString());
        }
        else Output.WriteLine(json);
        return 0;
    }

    static void WriteInspect(Utf8JsonWriter w, Engine.Engine engine, ContainerRecord r)
    {
        var s = engine.StatusOf(r);
        var spec = engine.SpecOf(r);
        w.WriteStartObject();
        w.WriteString("Id", r.Id);
        w.WriteString("Created", r.Created);
        w.WriteString("Path", r.Command.FirstOrDefault() ?? "");
        w.WriteStartArray("Args");
        foreach (var a in r.Command.Skip(1)) w.WriteStringValue(a);
        w.WriteEndArray();
        w.WriteStartObject("State");
        w.WriteString("Status", s.State);
        w.WriteBoolean("Running", s.Running);
        w.WriteBoolean("Paused", s.State == "paused");
        w.WriteBoolean("OOMKilled", r.OomKilled);
        w.WriteNumber("Pid", s.Running ? r.Pid : 0);
        w.WriteNumber("ConmonPid", r.ConmonPid);
        w.WriteNumber("ExitCode", s.ExitCode ?? 0);
        w.WriteString("StartedAt", r.StartedAt ?? "");
        w.WriteString("FinishedAt", r.FinishedAt ?? "");
        w.WriteEndObject();
        w.WriteString("Image", r.Image);
        w.WriteString("ImageDigest", r.ImageDigest);
        w.WriteString("Name", r.Name);
        w.WriteString("Runtime", r.Runtime);
        w.WriteString("LogPath", engine.Store.LogOf(r.Id));
        w.WriteString("BundlePath", engine.Store.BundleOf(r.Id));
        w.WriteStartObject("Config");
        w.WriteString("Hostname", r.Hostname);
        w.WriteBoolean("Tty", r.Tty);
        w.WriteBoolean("OpenStdin", r.Interactive);
        w.WriteString("StopSignal", r.StopSignal);
        w.WriteNumber("StopTimeout", r.StopTimeout);
        w.Opt("Env", spec?.Process?.Env);
        w.WriteString("WorkingDir", spec?.Process?.Cwd ?? "/");
        w.WriteString("User", spec?.Process?.User is { } u ? $"{u.Uid}:{u.Gid}" : "");
        w.WriteStartObject("Labels");
        foreach (var (k, v) in r.Labels) w.WriteString(k, v);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("HostConfig");
        w.WriteString("NetworkMode", r.Network);
        w.WriteBoolean("AutoRemove", r.AutoRemove);
        w.WriteBoolean("ReadonlyRootfs", spec?.Root?.Readonly ?? false);
        w.WriteBoolean("Privileged", spec?.Linux?.MaskedPaths is null && spec?.Linux?.Seccomp is null);
        w.Opt("CapAdd", spec?.Process?.Capabilities?.Bounding);
        w.WriteNumber("Memory", spec?.Linux?.Resources?.Memory?.Limit ?? 0);
        w.WriteNumber("NanoCpus", spec?.Linux?.Resources?.Cpu is { Quota: { } q, Period: { } p } && p > 0 ? q * 1_000_000_000L / (long)p : 0);
        w.WriteNumber("PidsLimit", spec?.Linux?.Resources?.Pids?.Limit ?? 0);
        w.WriteStartArray("SecurityOpt");
        w.WriteStringValue(spec?.Linux?.Seccomp is null ? "seccomp=unconfined" : $"seccomp={(spec.Linux.Seccomp.Syscalls?.Count ?? 0)} rules, default {spec.Linux.Seccomp.DefaultAction}");
        if (spec?.Process?.NoNewPrivileges == true) w.WriteStringValue("no-new-privileges");
        w.WriteEndArray();
        w.WriteStartArray("PortBindings");
        foreach (var pm in r.Ports) w.WriteStringValue(pm.ToString());
        w.WriteEndArray();
        w.WriteEndObject();
        // Berth's summary of the hardening in force: what the runtime was given.
        w.WriteStartObject("Security");
        w.WriteBoolean("ReadonlyRootfs", spec?.Root?.Readonly ?? false);
        w.WriteBoolean("NoNewPrivileges", spec?.Process?.NoNewPrivileges ?? false);
        w.WriteString("Seccomp", spec?.Linux?.Seccomp is null ? "unconfined" : "filtered");
        w.Opt("Capabilities", spec?.Process?.Capabilities?.Bounding);
        w.Opt("MaskedPaths", spec?.Linux?.MaskedPaths);
        w.Opt("ReadonlyPaths", spec?.Linux?.ReadonlyPaths);
        w.WriteStartArray("Namespaces");
        foreach (var n in spec?.Linux?.Namespaces ?? new()) w.WriteStringValue(n.Path is null ? n.Type : $"{n.Type}:{n.Path}");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("Mounts");
        foreach (var m in r.Mounts)
        {
            w.WriteStartObject();
            w.WriteString("Type", m.Type);
            w.WriteString(m.Type == "volume" ? "Name" : "Source", m.Source);
            if (m.Type == "volume") w.WriteString("Source", engine.Volumes.DataOf(m.Source));
            w.WriteString("Destination", m.Destination);
            w.WriteBoolean("RW", !m.ReadOnly);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static int Logs(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("follow", 'f'), new("since", null, true), new("tail", 'n', true), new("timestamps", 't') });
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(cl.Id("logs"));
        DateTimeOffset? since = cl.Value("since") is { } sv ? Since(sv) : null;
        int? tail = cl.Value("tail") is { } tv && tv != "all" ? (int.TryParse(tv, out var n) && n >= 0 ? n : throw new UsageException($"--tail \"{tv}\": not a number")) : null;
        var reader = new KubeLogReader(engine.Store.LogOf(r.Id));
        using var stdout = new SafeFd(1, ownsHandle: false);
        using var stderr = new SafeFd(2, ownsHandle: false);
        var partial = new Dictionary<string, StringBuilder> { ["stdout"] = new(), ["stderr"] = new() };
        void Print(IEnumerable<LogLine> lines)
        {
            foreach (var l in lines)
            {
                if (since is { } s && l.Time < s) continue;
                var acc = partial.TryGetValue(l.Stream, out var b) ? b : partial["stdout"];
                acc.Append(l.Text);
                if (l.Partial) continue;
                var text = (cl.Has("timestamps") ? l.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") + " " : "") + acc + "\n";
                acc.Clear();
                try { Files.WriteAll(l.Stream == "stderr" ? stderr : stdout, Encoding.UTF8.GetBytes(text), "output"); }
                catch (LinuxException e) when (e.Errno == Errno.EPIPE) { return; }
            }
        }
        var first = reader.ReadNew();
        if (tail is { } t)
        {
            // Whole lines: a partial ("P") run belongs to the full line that ends it.
            int full = 0, start = first.Count;
            while (start > 0 && full < t)
            {
                start--;
                if (!first[start].Partial) full++;
            }
            while (start > 0 && first[start - 1].Partial) start--;
            if (full == t && start < first.Count && !first[start].Partial && start > 0) { }
            first = first.Skip(start).ToList();
            if (t == 0) first.Clear();
        }
        Print(first);
        if (!cl.Has("follow")) return 0;
        // -f: until the container is gone and the log drained. Bounded by the container's life.
        while (true)
        {
            var cur = engine.Store.TryRead(r.Id);
            bool live = cur is not null && engine.StatusOf(cur) is { } st && (st.Running || st.State is "created" or "creating");
            Print(reader.ReadNew());
            if (!live) break;
            Thread.Sleep(50);
        }
        Print(reader.ReadNew());
        return 0;
    }

    /// <summary>--since: RFC 3339, a Unix time, or a duration back from now (10m, 1h30m).</summary>
    static DateTimeOffset Since(string v)
    {
        if (DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var unix)) return DateTimeOffset.FromUnixTimeMilliseconds((long)(unix * 1000));
        var d = CommandLine.Parse(new[] { "--since", v }, new Flag[] { new("since", null, true) }).Duration("since")!.Value;
        return DateTimeOffset.UtcNow - d;
    }

    // ---- exec, top, stats, port, cp --------------------------------------------------------------

    static int Exec(Context ctx, IReadOnlyList<string> args)
    {
        var flags = new Flag[] { new("interactive", 'i'), new("tty", 't'), new("env", 'e', true, true), new("user", 'u', true), new("workdir", 'w', true), new("detach", 'd'), new("privileged") };
        var cl = Parse(args, flags);
        if (cl.Positional.Count < 2) throw new UsageException("exec: CONTAINER COMMAND [ARG...] is required");
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(cl.Positional[0]);
        if (!engine.StatusOf(r).Running) throw new EngineException($"container {r.Name} is not running");
        var runtime = engine.RuntimeFor(r);
        var argv = new List<string> { runtime.Path };
        argv.AddRange(runtime.GlobalArgs);
        argv.Add("exec");
        if (cl.Has("tty")) argv.Add("--tty");
        if (cl.Has("detach")) argv.Add("--detach");
        foreach (var e in cl.Values("env")) argv.AddRange(new[] { "--env", EnvEntry(e) });
        if (cl.Value("user") is { } u)
        {
            var user = Users.Resolve(u, Path.Combine(engine.Store.BundleOf(r.Id), "rootfs"));
            argv.AddRange(new[] { "--user", $"{user.Uid}:{user.Gid}" });
            foreach (var g in user.AdditionalGids ?? new()) argv.AddRange(new[] { "--additional-gids", g.ToString(CultureInfo.InvariantCulture) });
        }
        if (cl.Value("workdir") is { } w) argv.AddRange(new[] { "--cwd", w });
        argv.Add(r.Id);
        argv.AddRange(cl.Positional.Skip(1));
        // The runtime takes over this process: stdio, terminal and exit code are the exec'd command's.
        Processes.ExecReplace(runtime.Path, argv, Processes.Environment());
        return 125;
    }

    static int Top(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, Array.Empty<Flag>(), stopAtPositional: false);
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(cl.Positional.FirstOrDefault() ?? throw new UsageException("top: a container is required"));
        if (!engine.StatusOf(r).Running) throw new EngineException($"container {r.Name} is not running");
        var (code, stdout, stderr) = engine.RuntimeFor(r).Run("ps", "--format", "json", r.Id);
        if (code != 0) throw new EngineException($"top: {stderr}");
        var sb = new StringBuilder($"{"PID",-8}{"USER",-8}COMMAND\n");
        using var doc = JsonDocument.Parse(stdout.Trim().Length == 0 ? "[]" : stdout);
        foreach (var p in doc.RootElement.EnumerateArray())
        {
            int pid = p.GetInt32();
            var status = FileSystem.TryReadText($"/proc/{pid}/status") ?? "";
            var uid = status.Split('\n').FirstOrDefault(l => l.StartsWith("Uid:"))?.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) ?? "?";
            var cmd = (FileSystem.TryReadText($"/proc/{pid}/cmdline") ?? "").Replace('\0', ' ').Trim();
            sb.Append($"{pid,-8}{uid,-8}{cmd}\n");
        }
        Output.Write(sb.ToString());
        return 0;
    }

    static int Stats(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("no-stream"), new("all", 'a') });
        var engine = EngineOf(ctx);
        var records = cl.Positional.Count > 0 ? cl.Positional.Select(engine.Store.Find).ToList() : engine.Store.All().Where(r => engine.StatusOf(r).Running).ToList();
        if (cl.Has("no-stream"))
        {
            Output.Write(StatsTable(engine, records));
            return 0;
        }
        // As docker and podman: a table a second (redrawn in place on a terminal) while any of them runs; ^C ends it.
        bool tty = Terminal.IsTerminal(1);
        while (records.Any(r => engine.StatusOf(r).Running))
        {
            Output.Write((tty ? "\x1b[2J\x1b[H" : "") + StatsTable(engine, records));
            Thread.Sleep(1000);
        }
        return 0;
    }

    static string StatsTable(Engine.Engine engine, List<ContainerRecord> records)
    {
        var sb = new StringBuilder($"{"CONTAINER ID",-14}{"NAME",-22}{"MEM USAGE / LIMIT",-26}PIDS\n");
        foreach (var r in records)
        {
            if (!engine.StatusOf(r).Running) continue;
            var (code, stdout, _) = engine.RuntimeFor(r).Run("events", "--stats", r.Id);
            long mem = 0, limit = 0, pids = 0;
            if (code == 0 && stdout.Trim().Length > 0)
            {
                using var doc = JsonDocument.Parse(stdout);
                var data = doc.RootElement.TryGetProperty("data", out var d) ? d : doc.RootElement;
                if (data.TryGetProperty("memory", out var m) && m.TryGetProperty("usage", out var us))
                {
                    mem = us.TryGetProperty("usage", out var u) ? u.GetInt64() : 0;
                    limit = us.TryGetProperty("limit", out var l) ? (long)Math.Min(l.GetDouble(), long.MaxValue) : 0;
                }
                if (data.TryGetProperty("pids", out var p) && p.TryGetProperty("current", out var c)) pids = c.GetInt64();
            }
            sb.Append($"{r.ShortId,-14}{r.Name,-22}{$"{mem / 1048576.0:F1}MiB / {(limit >= 1L << 60 ? "unlimited" : $"{limit / 1048576.0:F1}MiB")}",-26}{pids}\n");
        }
        return sb.ToString();
    }

    static int Port(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, Array.Empty<Flag>(), stopAtPositional: false);
        var engine = EngineOf(ctx);
        var r = engine.Store.Find(cl.Positional.FirstOrDefault() ?? throw new UsageException("port: a container is required"));
        // The host ports Setup picked for -p CTR are the network's to say.
        var ports = engine.Networking is CniNetworking cni && cni.PublishedPorts(r.Id) is { Count: > 0 } published ? published : r.Ports;
        Output.Write(string.Concat(ports.Select(p => $"{p.ContainerPort}/{p.Protocol} -> {(p.HostIp.Length > 0 ? p.HostIp : "0.0.0.0")}:{p.HostPort}\n")));
        return 0;
    }

    /// <summary>
    /// `cp CONTAINER:SRC DST` and `cp SRC CONTAINER:DST` (cp -a). A running container is reached
    /// through /proc/PID/root, so its tmpfs and volume mounts are there too; a stopped one through
    /// its mounted rootfs. The container's side is opened with RESOLVE_IN_ROOT (a symlink in the
    /// image cannot lead the copy to the host) and handed to cp as /proc/self/fd/N/NAME.
    /// </summary>
    static int Cp(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("archive", 'a') });
        if (cl.Positional.Count != 2) throw new UsageException("cp: CONTAINER:SRC DST or SRC CONTAINER:DST");
        var engine = EngineOf(ctx);
        var fds = new List<ChildFd>();
        try
        {
            string Side(string arg)
            {
                int colon = arg.IndexOf(':');
                if (colon <= 0 || arg.StartsWith('/') || arg.StartsWith('.')) return arg;
                var r = engine.Store.Find(arg[..colon]);
                var root = engine.StatusOf(r).Running ? $"/proc/{r.Pid}/root" : Path.Combine(engine.Store.BundleOf(r.Id), "rootfs");
                if (!engine.StatusOf(r).Running && !MountInfo.Read().Any(m => m.MountPoint == root))
                    throw new EngineException($"container {r.Name} is not running and its root is not mounted");
                using var rootFd = Files.Open(root, O.PATH | O.DIRECTORY | O.CLOEXEC);
                var (dir, name) = InRoot.Split(arg[(colon + 1)..]);
                var dirFd = Files.OpenAt2(rootFd, dir.TrimStart('/') is { Length: > 0 } d ? d : ".", O.PATH | O.DIRECTORY | O.CLOEXEC, Linux.Resolve.InRoot);
                var target = 3 + fds.Count;
                fds.Add(new ChildFd(dirFd, target));
                return $"/proc/self/fd/{target}/{(name.Length == 0 ? "." : name)}";
            }
            var src = Side(cl.Positional[0]);
            var dst = Side(cl.Positional[1]);
            if (fds.Count != 1) throw new UsageException("cp: exactly one side is in a container (CONTAINER:PATH)");
            var pid = Processes.Spawn("/bin/cp", new[] { "cp", "-a", "--", src, dst }, Processes.Environment(), fds);
            return Processes.Wait(pid)!.Value.Status.ShellCode == 0 ? 0 : throw new EngineException($"copying {cl.Positional[0]} to {cl.Positional[1]} failed");
        }
        finally
        {
            foreach (var f in fds) f.Fd.Dispose();
        }
    }

    // ---- volumes and images ------------------------------------------------------------------------

    static int Volume(Context ctx, IReadOnlyList<string> args)
    {
        if (args.Count == 0) throw new UsageException("volume: usage: berth volume create|ls|inspect|rm|prune");
        var cl = Parse(args.Skip(1).ToList(), new Flag[] { new("force", 'f'), new("quiet", 'q'), new("format", null, true) });
        var engine = EngineOf(ctx);
        var volumes = engine.Volumes;
        HashSet<string> InUse() => engine.Store.All().SelectMany(r => r.Mounts).Where(m => m.Type == "volume").Select(m => m.Source).ToHashSet();
        switch (args[0])
        {
            case "create":
                var name = cl.Positional.FirstOrDefault() ?? ContainerStore.NewId();
                volumes.Create(name);
                Output.Write(name + "\n");
                return 0;
            case "ls" or "list":
                Output.Write((cl.Has("quiet") ? "" : "DRIVER      VOLUME NAME\n") + string.Concat(volumes.List().Select(v => cl.Has("quiet") ? v + "\n" : $"local       {v}\n")));
                return 0;
            case "inspect":
                if (cl.Positional.Count == 0) throw new UsageException("volume inspect: a volume is required");
                Output.WriteLine(JsonOut.Write(w =>
                {
                    w.WriteStartArray();
                    foreach (var v in cl.Positional)
                    {
                        if (!volumes.Exists(v)) throw new EngineException($"no such volume: {v}");
                        w.WriteStartObject();
                        w.WriteString("Name", v);
                        w.WriteString("Driver", "local");
                        w.WriteString("Mountpoint", volumes.DataOf(v));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }, indent: "    "));
                return 0;
            case "rm" or "remove":
                if (cl.Positional.Count == 0) throw new UsageException("volume rm: a volume is required");
                return Each("volume rm", cl.Positional, v =>
                {
                    if (InUse().Contains(v)) throw new EngineException($"volume {v} is used by a container");
                    volumes.Remove(v);
                    return v;
                });
            case "prune":
                var used = InUse();
                foreach (var v in volumes.List().Where(v => !used.Contains(v)))
                {
                    volumes.Remove(v);
                    Output.Write(v + "\n");
                }
                return 0;
            default:
                throw new UsageException($"volume: unknown command \"{args[0]}\" (create, ls, inspect, rm, prune)");
        }
    }

    /// <summary>An image command's arguments, with the engine's --store turned into the image store's (STORE/images) when one was given.</summary>
    public static IReadOnlyList<string> WithImageStore(Context ctx, IReadOnlyList<string> args) =>
        ctx.Global?.Value("store") is { } store ? args.Concat(new[] { "--store", Path.Combine(store, "images") }).ToList() : args;

    static string ImagesRoot(Context ctx) => Path.Combine(Path.GetFullPath(ctx.Global?.Value("store") ?? DefaultStore), "images");

    static int Image(Context ctx, string sub, IReadOnlyList<string> args) =>
        ImageCommands.Run(new[] { sub }.Concat(args).Concat(new[] { "--store", ImagesRoot(ctx) }).ToList());

    /// <summary>`save -o FILE IMAGE` = image copy IMAGE docker-archive:FILE:IMAGE (docker's format).</summary>
    static int Save(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("output", 'o', true) });
        var file = cl.Value("output") ?? throw new UsageException("save: -o FILE is required (Berth does not write archives to a terminal)");
        if (cl.Positional.Count != 1) throw new UsageException("save: one image is required");
        return Image(ctx, "copy", new[] { cl.Positional[0], $"docker-archive:{Path.GetFullPath(file)}:{cl.Positional[0]}" });
    }

    static int Load(Context ctx, IReadOnlyList<string> args)
    {
        var cl = Parse(args, new Flag[] { new("input", 'i', true) });
        var file = cl.Value("input") ?? throw new UsageException("load: -i FILE is required");
        var source = $"docker-archive:{Path.GetFullPath(file)}";
        // The name is the archive's own tag (docker load's rule).
        string? name = cl.Positional.FirstOrDefault();
        if (name is null)
            using (var src = Images.ImageService.Open(new Images.ImageService(ImagesRoot(ctx)).Parse(source))) name = src.Reference.Name;
        if (name is null) throw new EngineException($"load: {file} holds no tag Berth reads; name it: berth load -i {file} NAME");
        return Image(ctx, "copy", new[] { source, name });
    }
}
