using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Berth.Engine.Build.Cache;
using Berth.Engine.Build.Stages;
using Berth.Engine.Build.Syntax;
using Berth.Images.Layers;
using Berth.Images.Store;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Image;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Engine.Build.Executor;

public sealed partial class Builder
{
    /// <summary>A stage as it is built: its image, its declared ARGs, SHELL, whether CMD was set in it.</summary>
    sealed class StageRun
    {
        public required Stage Stage { get; init; }
        public required ImageState Image { get; set; }
        public Dictionary<string, string?> Args { get; } = new();
        public bool CmdSet { get; set; }
        public required string Prefix { get; init; }
        public int Step { get; set; }
        public int Steps { get; set; }

        public string? Env(string name)
        {
            foreach (var e in Enumerable.Reverse(Image.Container.Env ?? new()))
            {
                int eq = e.IndexOf('=');
                if (eq >= 0 && e.AsSpan(0, eq).SequenceEqual(name)) return e[(eq + 1)..];
            }
            return null;
        }

        public List<string> Shell => Image.RawStrings("Shell") ?? new() { "/bin/sh", "-c" };
    }

    ImageState BuildStage(Stage stage)
    {
        var multi = _graph.Needed.Count > 1;
        var run = new StageRun
        {
            Stage = stage,
            Image = null!,
            Prefix = multi ? $"[{_graph.Needed.ToList().IndexOf(stage) + 1}/{_graph.Needed.Count}] " : "",
            Steps = stage.Instructions.Count + 1,
        };
        var from = stage.From;
        var image = ExpandAt(from, () => ExpandMeta(from.Image));
        var platform = from.Platform is { } p ? PlatformSpec.Parse(ExpandAt(from, () => ExpandMeta(p))) : _platform;
        Step(run, from);
        if (_graph.Find(image, stage.Index) is { } parent) run.Image = _stageTasks[parent.Index].GetAwaiter().GetResult().Clone();
        else if (image.Equals("scratch", StringComparison.OrdinalIgnoreCase)) run.Image = ImageState.Scratch(platform);
        else run.Image = Base(image, platform, from.At);

        // ONBUILD triggers of the base run first, then leave the new image (docker's rule).
        if (run.Image.RawStrings("OnBuild") is { Count: > 0 } triggers)
        {
            run.Image.SetRaw("OnBuild", null);
            foreach (var t in triggers)
            {
                var parsed = Parser.Parse(t, $"{image} ONBUILD");
                foreach (var ins in parsed.Instructions)
                {
                    Log($"{run.Prefix}--> ONBUILD {ins.Text}");
                    Dispatch(run, ins);
                }
            }
        }
        foreach (var ins in stage.Instructions)
        {
            _failed.Token.ThrowIfCancellationRequested();
            Step(run, ins);
            Dispatch(run, ins);
        }
        return run.Image;
    }

    void Step(StageRun run, Instruction ins)
    {
        run.Step++;
        Log($"{run.Prefix}STEP {run.Step}/{run.Steps}: {ins.Text}");
    }

    /// <summary>Docker's lookup for an instruction's words: ENV first, then the stage's ARGs, then the proxy ARGs given.</summary>
    Func<string, string?> Lookup(StageRun run) => name =>
        run.Env(name) ?? (run.Args.TryGetValue(name, out var v) ? v : ProxyArgs.Contains(name) && _o.BuildArgs.TryGetValue(name, out var px) ? px : null);

    string Expand(StageRun run, Instruction ins, string word) => ExpandAt(ins, () => _lex.ProcessWord(word, Lookup(run)));
    List<string> ExpandWords(StageRun run, Instruction ins, string text) => ExpandAt(ins, () => _lex.ProcessWords(text, Lookup(run)));

    void Dispatch(StageRun run, Instruction ins)
    {
        switch (ins)
        {
            case ArgInstruction a:
                foreach (var (name, def) in a.Args)
                    run.Args[name] = _o.BuildArgs.TryGetValue(name, out var given) ? given
                        : def is not null ? Expand(run, ins, def)
                        : _metaArgs.TryGetValue(name, out var meta) ? meta
                        : _platformArgs.GetValueOrDefault(name);
                return;
            case RunInstruction r:
                Cached(run, ins, RunKeyText(run, r), Array.Empty<string>(), () => Run(run, r));
                return;
            case CopyInstruction c:
                CopyStep(run, c);
                return;
            case ValueInstruction { Keyword: "WORKDIR" } w:
            {
                var path = Expand(run, ins, w.Value);
                var current = run.Image.Container.WorkingDir is { Length: > 0 } cwd ? cwd : "/";
                var full = "/" + TreeCopy.Clean(path.StartsWith('/') ? path : current.TrimEnd('/') + "/" + path).TrimStart('.');
                Cached(run, ins, "WORKDIR " + full, Array.Empty<string>(), () =>
                {
                    run.Image.Container.WorkingDir = full;
                    // The directory is made (buildkit's rule); a layer only when it was not there.
                    using var root = StepRoot.Mount(_images, _buildDir, run.Image);
                    using (var rootFd = Files.Open(root.Rootfs, O.PATH | O.DIRECTORY | O.CLOEXEC))
                    using (InRoot.MkdirAll(rootFd, full)) { }
                    return root.WriteLayer(_dst, null, Timestamp);
                });
                return;
            }
        }
        // Metadata: the config changes, no layer.
        var text = MetadataText(run, ins);
        Cached(run, ins, text, Array.Empty<string>(), () =>
        {
            ApplyMetadata(run, ins);
            return null;
        });
    }

    /// <summary>With more than one job, whether another needed stage neither depends on this one nor is depended on by it (so they may run at once).</summary>
    bool RunsBesideAnother(int stage)
    {
        if (_o.Jobs < 2) return false;
        bool Reaches(int from, int to)
        {
            var seen = new HashSet<int>();
            var todo = new Stack<int>(new[] { from });
            while (todo.TryPop(out var s))
                foreach (var d in _graph.Dependencies[s])
                    if (d == to) return true;
                    else if (seen.Add(d)) todo.Push(d);
            return false;
        }
        return _graph.Needed.Any(o => o.Index != stage && !Reaches(o.Index, stage) && !Reaches(stage, o.Index));
    }

    /// <summary>
    /// One step through the cache: a hit replaces the image by the cached one (and says so); a
    /// miss runs <paramref name="step"/>, appends its layer (if any) and history, and records it.
    /// </summary>
    void Cached(StageRun run, Instruction ins, string keyText, IReadOnlyList<string> inputs, Func<(Descriptor Layer, string DiffId)?> step, string? createdBy = null)
    {
        var key = BuildCache.Key(run.Image.Id, keyText, inputs);
        if (_cache is not null && !_o.NoCache && _cache.TryGet(key, out var hit)
            && (hit.Layer is null || _dst.TryReusingBlob(hit.Layer) is not null)
            && Documents.ParseConfig(hit.ConfigBytes, "cached config") is { } config
            && config.Rootfs?.DiffIds?.Count == run.Image.Layers.Count + (hit.Layer is null ? 0 : 1))
        {
            run.Image.Replace(config, hit.Layer is null ? run.Image.Layers.ToList() : run.Image.Layers.Append(hit.Layer).ToList());
            Log($"{run.Prefix}--> Using cache {hit.ConfigDigest["sha256:".Length..]}");
            return;
        }
        var made = step();
        var history = new History { Created = Created, CreatedBy = createdBy ?? keyText, EmptyLayer = made is null ? true : null };
        if (made is { } m)
        {
            run.Image.Layers.Add(m.Layer);
            run.Image.DiffIds.Add(m.DiffId);
        }
        run.Image.Config.History!.Add(history);
        if (_cache is not null)
        {
            // While the build's lease still holds the layer: gc never sees it unclaimed and unnamed.
            var bytes = run.Image.ConfigBytes();
            _cache.Put(key, new CachedStep(made?.Layer, made?.DiffId, bytes));
            Log($"{run.Prefix}--> {RawManifest.Sha256(bytes).ToString()["sha256:".Length..][..12]}");
        }
    }

    // ---- metadata -----------------------------------------------------------------------------

    string MetadataText(StageRun run, Instruction ins) => ins switch
    {
        KeyValueInstruction kv => ins.Keyword + " " + string.Join(" ", kv.Pairs.Select(p => Expand(run, ins, p.Key) + "=" + Quote(Expand(run, ins, p.Value)))),
        ValueInstruction v => ins.Keyword + " " + Expand(run, ins, v.Value),
        ListInstruction l => ins.Keyword + " " + string.Join(" ", Values(run, l)),
        _ => ins.Text,
    };

    static string Quote(string s) => s.Any(char.IsWhiteSpace) || s.Length == 0 ? "\"" + s.Replace("\"", "\\\"") + "\"" : s;

    List<string> Values(StageRun run, ListInstruction l) => l.IsJson ? l.Values.Select(v => Expand(run, l, v)).ToList() : ExpandWords(run, l, l.Raw);

    void ApplyMetadata(StageRun run, Instruction ins)
    {
        var c = run.Image.Container;
        switch (ins)
        {
            case KeyValueInstruction { Keyword: "ENV" } env:
                // Every value is expanded with the environment before the instruction (docker: ENV a=b c=$a sees the old a).
                foreach (var (key, value) in env.Pairs.Select(p => (Expand(run, ins, p.Key), Expand(run, ins, p.Value))).ToList())
                {
                    c.Env ??= new();
                    c.Env.RemoveAll(e => e == key || e.StartsWith(key + "=", StringComparison.Ordinal));
                    c.Env.Add($"{key}={value}");
                }
                break;
            case KeyValueInstruction { Keyword: "LABEL" } label:
                foreach (var (k, v) in label.Pairs)
                {
                    c.Labels ??= new();
                    c.Labels[Expand(run, ins, k)] = Expand(run, ins, v);
                }
                break;
            case ValueInstruction { Keyword: "USER" } u:
                c.User = Expand(run, ins, u.Value);
                break;
            case ValueInstruction { Keyword: "STOPSIGNAL" } s:
            {
                var sig = Expand(run, ins, s.Value);
                if (Signals.Parse(sig) is null && !int.TryParse(sig, out _)) throw new EngineException($"{ins.At}: STOPSIGNAL: \"{sig}\" is not a signal");
                c.StopSignal = sig;
                break;
            }
            case ValueInstruction { Keyword: "MAINTAINER" } m:
                run.Image.Config.Author = Expand(run, ins, m.Value);
                break;
            case ListInstruction { Keyword: "EXPOSE" } e:
                foreach (var port in Values(run, e))
                {
                    var parts = port.Split('/');
                    var proto = parts.Length > 1 ? parts[1].ToLowerInvariant() : "tcp";
                    if (parts.Length > 2 || proto is not ("tcp" or "udp" or "sctp") || !parts[0].Split('-').All(x => int.TryParse(x, out var n) && n is > 0 and < 65536))
                        throw new EngineException($"{ins.At}: EXPOSE: \"{port}\" is not PORT[-PORT][/tcp|udp|sctp]");
                    c.ExposedPorts ??= new();
                    var key = parts[0] + "/" + proto;
                    if (!c.ExposedPorts.Contains(key)) c.ExposedPorts.Add(key);
                }
                break;
            case ListInstruction { Keyword: "VOLUME" } v:
                foreach (var path in Values(run, v))
                {
                    if (path.Length == 0) throw new EngineException($"{ins.At}: VOLUME specified can not be an empty string");
                    c.Volumes ??= new();
                    if (!c.Volumes.Contains(path)) c.Volumes.Add(path);
                }
                break;
            case CommandInstruction { Keyword: "CMD" } cmd:
                c.Cmd = cmd.Command.Args(run.Shell);
                run.CmdSet = true;
                break;
            case CommandInstruction { Keyword: "ENTRYPOINT" } ep:
                c.Entrypoint = ep.Command.Args(run.Shell);
                // docker: an ENTRYPOINT resets a CMD inherited from the base image.
                if (!run.CmdSet) c.Cmd = null;
                break;
            case ShellInstruction sh:
                run.Image.SetStrings("Shell", sh.Shell);
                break;
            case OnbuildInstruction ob:
            {
                var list = run.Image.RawStrings("OnBuild") ?? new();
                list.Add(ob.Trigger);
                run.Image.SetStrings("OnBuild", list);
                break;
            }
            case HealthcheckInstruction hc:
                run.Image.SetRaw("Healthcheck", Healthcheck(run, hc));
                break;
            default:
                throw new EngineException($"{ins.At}: {ins.Keyword}: not handled");
        }
    }

    /// <summary>docker's config.Healthcheck: Test (["CMD", …], ["CMD-SHELL", cmd] or ["NONE"]), durations in nanoseconds, Retries.</summary>
    static byte[] Healthcheck(StageRun run, HealthcheckInstruction hc) => JsonOut.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("Test");
        if (hc.Command is null) w.WriteStringValue("NONE");
        else if (hc.Command.IsExec)
        {
            w.WriteStringValue("CMD");
            foreach (var a in hc.Command.Exec) w.WriteStringValue(a);
        }
        else
        {
            w.WriteStringValue("CMD-SHELL");
            w.WriteStringValue(hc.Command.Shell);
        }
        w.WriteEndArray();
        void Duration(string field, string? value, string flag)
        {
            if (value is null) return;
            var ns = GoDuration(value) ?? throw new EngineException($"{hc.At}: HEALTHCHECK --{flag}={value}: not a duration (30s, 1m30s, 500ms)");
            if (ns < 0) throw new EngineException($"{hc.At}: HEALTHCHECK --{flag}: a duration can not be negative");
            w.WriteNumber(field, ns);
        }
        Duration("Interval", hc.Interval, "interval");
        Duration("Timeout", hc.Timeout, "timeout");
        Duration("StartPeriod", hc.StartPeriod, "start-period");
        Duration("StartInterval", hc.StartInterval, "start-interval");
        if (hc.Retries is { } r)
        {
            if (!int.TryParse(r, out var n) || n < 0) throw new EngineException($"{hc.At}: HEALTHCHECK --retries={r}: not a number of at least 0");
            w.WriteNumber("Retries", n);
        }
        w.WriteEndObject();
    });

    /// <summary>Go's time.ParseDuration (what docker reads HEALTHCHECK's flags with), in nanoseconds.</summary>
    public static long? GoDuration(string s)
    {
        if (s == "0") return 0;
        int i = 0;
        bool neg = false;
        if (i < s.Length && s[i] is '-' or '+') neg = s[i++] == '-';
        if (i >= s.Length) return null;
        double total = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i || !double.TryParse(s[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)) return null;
            int u = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            double unit = s[u..i] switch
            {
                "ns" => 1, "us" or "µs" => 1e3, "ms" => 1e6, "s" => 1e9, "m" => 60e9, "h" => 3600e9,
                _ => double.NaN,
            };
            if (double.IsNaN(unit)) return null;
            total += n * unit;
        }
        return (long)(neg ? -total : total);
    }

    // ---- RUN ----------------------------------------------------------------------------------

    /// <summary>The build ARGs a RUN sees as environment: declared with a value and not overridden by ENV, plus the proxy ARGs given.</summary>
    List<KeyValuePair<string, string>> RunArgs(StageRun run)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in run.Args)
            if (v is not null && run.Env(k) is null) list.Add(new(k, v));
        foreach (var p in ProxyArgs)
            if (_o.BuildArgs.TryGetValue(p, out var v) && !run.Args.ContainsKey(p)) list.Add(new(p, v));
        return list;
    }

    List<string> RunArgv(StageRun run, RunInstruction r)
    {
        if (r.Command.IsExec) return r.Command.Exec.ToList();
        var text = r.Command.Shell;
        if (r.Heredocs.Count == 1 && text.Trim().TrimStart('<').TrimStart('-').Trim('"', '\'') == r.Heredocs[0].Name)
            return run.Shell.Append(r.Heredocs[0].Content).ToList();
        // Heredocs after a command are the shell's own: the whole script goes to it.
        var sb = new StringBuilder(text);
        foreach (var d in r.Heredocs) sb.Append('\n').Append(d.Content).Append(d.Name);
        return run.Shell.Append(sb.ToString()).ToList();
    }

    string RunKeyText(StageRun run, RunInstruction r)
    {
        var args = RunArgs(run);
        var prefix = args.Count > 0 ? $"|{args.Count} " + string.Join(" ", args.Where(a => !ProxyArgs.Contains(a.Key)).Select(a => $"{a.Key}={a.Value}")) + " " : "";
        var flags = string.Join(" ", r.Flags.Select(f => $"--{f.Name}={Expand(run, r, f.Value ?? "")}"));
        return "RUN " + (flags.Length > 0 ? flags + " " : "") + prefix + ImageState.Json(RunArgv(run, r));
    }

    (Descriptor, string)? Run(StageRun run, RunInstruction r)
    {
        var argv = RunArgv(run, r);
        var env = new List<string>();
        void Set(string k, string v)
        {
            env.RemoveAll(e => e.StartsWith(k + "=", StringComparison.Ordinal));
            env.Add($"{k}={v}");
        }
        Set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        foreach (var e in run.Image.Container.Env ?? new())
            if (e.Split('=', 2) is [var k, var v]) Set(k, v);
        foreach (var (k, v) in RunArgs(run)) Set(k, v);
        var network = r.Network is { } n ? Expand(run, r, n) : _o.Network;
        if (network == "default") network = _o.Network;
        if (network is not ("host" or "none")) throw new EngineException($"{r.At}: RUN --network={network}: not none, host or default");

        using var root = StepRoot.Mount(_images, _buildDir, run.Image);
        var mounts = new List<Mount>();
        foreach (var f in r.Flags.Where(f => f.Name == "mount"))
        {
            RunMount m;
            try
            {
                m = RunMount.Parse(f.Value ?? "", v => Expand(run, r, v));
            }
            catch (EngineException e)
            {
                throw new EngineException($"{f.At}: {e.Message}");
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new EngineException($"{f.At}: --mount={f.Value}: {e.Message}");
            }
            if (RunMountOf(run, r, m, root) is { } mount) mounts.Add(mount);
        }
        var workdir = run.Image.Container.WorkingDir is { Length: > 0 } w ? w : "/";
        var missing = RunStep.MissingTargets(root.Rootfs, mounts.Select(x => x.Destination!).Append("/etc/hosts").Append("/etc/resolv.conf"));
        var id = "build-" + Guid.NewGuid().ToString("N")[..20];
        Spec spec;
        try
        {
            spec = RunStep.SpecOf(id, root, new RunRequest(argv, env, run.Image.Container.User, workdir, network == "host", mounts));
        }
        catch (EngineException e)
        {
            throw new EngineException($"{r.At}: RUN: {e.Message}");
        }
        // A non-target stage that can run beside another: each line is "[stage] …" (buildah --jobs), whole lines only.
        byte[]? prefix = run.Stage.Index != _graph.Target.Index && RunsBesideAnother(run.Stage.Index) ? Encoding.UTF8.GetBytes($"[{run.Stage.Label}] ") : null;
        var pending = new List<byte>();
        var (code, tail) = RunStep.Run(_settings.RuntimePath, _settings.RuntimeRoot, id, root, spec, data =>
        {
            if (prefix is null) { lock (_logLock) _o.RunOutput(data); return; }
            pending.AddRange(data.ToArray());
            int nl;
            while ((nl = pending.IndexOf((byte)'\n')) >= 0)
            {
                var line = prefix.Concat(pending.Take(nl + 1)).ToArray();
                pending.RemoveRange(0, nl + 1);
                lock (_logLock) _o.RunOutput(line);
            }
        });
        if (prefix is not null && pending.Count > 0) lock (_logLock) _o.RunOutput(prefix.Concat(pending).Append((byte)'\n').ToArray());
        if (code != 0)
        {
            var last = tail.Length > 0 ? "; its last output: " + string.Join(" | ", tail.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).TakeLast(5)) : "";
            throw new EngineException($"{r.At}: {Short(r.Text)}: exit status {code}{last}", code);
        }
        // Mounts of the step go before its upper directory is read.
        foreach (var mp in MountInfo.Read().Select(x => x.MountPoint).Where(x => x.StartsWith(root.Dir + "/mnt-", StringComparison.Ordinal) || x.StartsWith(root.Dir + "/secrets", StringComparison.Ordinal)).OrderByDescending(x => x.Length))
            try { Mounts.Unmount(mp, Mounts.UMOUNT_NOFOLLOW | Mounts.MNT_DETACH); } catch (LinuxException) { }
        return root.WriteLayer(_dst, RunStep.StubFilter(root.Upper, missing), Timestamp);
    }

    static string Short(string text) => text.Length > 80 ? text[..77] + "..." : text;

    /// <summary>A RUN --mount as the runtime's mount: a cache dir of the store, a bind from the context or a stage, a tmpfs, a secret on a tmpfs of the step's.</summary>
    Mount? RunMountOf(StageRun run, RunInstruction r, RunMount m, StepRoot root)
    {
        var opts = new List<string> { "rbind", m.ReadWrite ? "rw" : "ro", "nosuid", "nodev" };
        switch (m.Type)
        {
            case "tmpfs":
            {
                var tmpfs = new List<string> { "nosuid", "nodev", "mode=1777" };
                if (m.Size is { } size) tmpfs.Add($"size={size}");
                return new Mount { Destination = m.Target, Type = "tmpfs", Source = "tmpfs", Options = tmpfs };
            }
            case "cache":
            {
                var id = m.Id ?? m.Target;
                var dir = Path.Combine(_settings.StoreRoot, "build-cache-mounts", Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..24].ToLowerInvariant());
                FileSystem.CreateDirectory(Path.Combine(_settings.StoreRoot, "build-cache-mounts"), 0x1c0);
                if (Files.MkdirAt(null, dir, m.Mode ?? 0x1ed))
                {
                    Files.Chown(dir, m.Uid ?? 0, m.Gid ?? 0);
                    Files.Chmod(dir, m.Mode ?? 0x1ed);
                }
                return ContainerSpec(dir, m.Target, opts);
            }
            case "secret":
            {
                var id = m.Id!;
                if (!_o.Secrets.TryGetValue(id, out var src))
                {
                    if (m.Required) throw new EngineException($"{r.At}: RUN --mount=type=secret,id={id}: no secret of that id (--secret id={id},src=FILE)");
                    return null;
                }
                // On a tmpfs of the step's, outside the rootfs: the secret is never in the upper directory, so never in a layer.
                var dir = Path.Combine(root.Dir, "secrets");
                if (!MountInfo.Read().Any(x => x.MountPoint == dir))
                {
                    FileSystem.CreateDirectory(dir, 0x1c0);
                    Mounts.Mount("tmpfs", dir, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=0700,size=16m");
                    root.Track(dir);
                }
                var file = Path.Combine(dir, Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..16]);
                var bytes = RegularFile.Read(src, 16 << 20, followLinks: true);
                FileSystem.TryDelete(file);
                FileSystem.WriteNew(file, bytes, m.Mode ?? 0x100);
                Files.Chown(file, m.Uid ?? 0, m.Gid ?? 0);
                return ContainerSpec(file, m.Target, new() { "rbind", "ro", "nosuid", "nodev", "noexec" });
            }
            default: // bind
            {
                string sourceRoot;
                if (m.From is { } from)
                {
                    var image = _graph.Find(from, run.Stage.Index) is { } st ? _stageTasks[st.Index].GetAwaiter().GetResult() : Base(from, _platform, r.At);
                    var mnt = Path.Combine(root.Dir, $"mnt-{Guid.NewGuid():N}"[..16]);
                    var lowers = StepRoot.Lowers(_images, image);
                    FileSystem.CreateDirectory(mnt, 0x1c0);
                    foreach (var d in new[] { "u", "w", "r", "e" }) FileSystem.CreateDirectory(Path.Combine(mnt, d));
                    if (lowers.Count == 0) lowers.Add(Path.Combine(mnt, "e"));
                    OverlayMount.Mount(Path.Combine(mnt, "r"), lowers, Path.Combine(mnt, "u"), Path.Combine(mnt, "w"));
                    root.Track(Path.Combine(mnt, "r"));
                    sourceRoot = Path.Combine(mnt, "r");
                }
                else sourceRoot = _o.ContextDir;
                // The source resolved inside its root (a symlink cannot point the bind at the host), named by its real path.
                using var rootFd = Files.Open(sourceRoot, O.PATH | O.DIRECTORY | O.CLOEXEC);
                SafeFd fd;
                try { fd = InRoot.Open(rootFd, m.Source ?? "/"); }
                catch (LinuxException e) { throw new EngineException($"{r.At}: RUN --mount source \"{m.Source}\": {e.Message}"); }
                string real;
                using (fd) real = Files.ReadLinkAt(null, $"/proc/self/fd/{fd.Number}") ?? throw new EngineException($"{r.At}: RUN --mount source \"{m.Source}\": unreadable");
                if (m.ReadWrite && m.From is null)
                {
                    // Writes to a bind from the context land in a scratch upper directory, never in the context (buildah's rule).
                    var mnt = Path.Combine(root.Dir, $"mnt-{Guid.NewGuid():N}"[..16]);
                    foreach (var d in new[] { "", "u", "w", "r" }) FileSystem.CreateDirectory(Path.Combine(mnt, d), 0x1c0);
                    OverlayMount.Mount(Path.Combine(mnt, "r"), new[] { real }, Path.Combine(mnt, "u"), Path.Combine(mnt, "w"));
                    root.Track(Path.Combine(mnt, "r"));
                    real = Path.Combine(mnt, "r");
                }
                return ContainerSpec(real, m.Target, opts);
            }
        }
    }

    static Mount ContainerSpec(string source, string destination, List<string> options) => new() { Destination = destination, Type = "bind", Source = source, Options = options };
}
