using System.Text;
using Berth.Engine.Monitor;
using Berth.Engine.Networking;
using Berth.Engine.Specs;
using Berth.Engine.Store;
using Berth.Engine.Volumes;
using Berth.Images;
using Berth.Images.Bundles;
using Berth.Images.Layers;
using Berth.Images.Transports;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;

namespace Berth.Engine;

/// <summary>Where an engine keeps things and what it runs: the store, the runtime's state root, the binaries.</summary>
public sealed record EngineSettings(string StoreRoot, string RuntimeRoot, string RuntimePath, string SelfPath, string ImagesRoot, string ConmonPath = Conmon.DefaultPath);

/// <summary>What a container is now, from its record, its exit file and its processes.</summary>
public sealed record ContainerStatus(string State, int? ExitCode, bool Running);

/// <summary>
/// The engine (podman's libpod, without a daemon): containers made from images, each under its
/// own conmon, recorded in a <see cref="ContainerStore"/>. Every step that can fail runs before
/// the next thing is made, and whatever was made is undone when a later step fails.
/// </summary>
public sealed class Engine
{
    public EngineSettings Settings { get; }
    public ContainerStore Store { get; }
    public VolumeStore Volumes { get; }
    public INetworking Networking { get; }

    public Engine(EngineSettings settings, INetworking? networking = null)
    {
        Settings = settings;
        Store = new ContainerStore(settings.StoreRoot);
        Volumes = new VolumeStore(settings.StoreRoot);
        Networking = networking ?? new BasicNetworking();
    }

    public RuntimeClient RuntimeFor(ContainerRecord r) => new(r.Runtime.Length > 0 ? r.Runtime : Settings.RuntimePath, Settings.RuntimeRoot);

    static string Now() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ");

    // ---- create ----------------------------------------------------------------------------

    /// <summary>Checks what needs no disk: names, mounts, ports. Bad input fails here, before any record exists.</summary>
    public void Validate(RunOptions o)
    {
        if (o.Name is { } name && (name.Length == 0 || !char.IsAsciiLetterOrDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-')))
            throw new EngineException($"--name \"{name}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        foreach (var m in o.Mounts)
        {
            if (!m.Destination.StartsWith('/')) throw new EngineException($"mount destination \"{m.Destination}\": not an absolute path");
            if (m.Type == "bind" && !Directory.Exists(m.Source) && !File.Exists(m.Source))
                throw new EngineException($"bind mount source \"{m.Source}\": no such file or directory");
            if (m.Type == "volume" && !m.Anonymous) VolumeStore.CheckName(m.Source);
        }
        if (o.Runtime is { } rt && !File.Exists(rt)) throw new EngineException($"--runtime {rt}: no such file");
        if (o.Init && !File.Exists(ContainerSpec.InitBinary)) throw new EngineException($"--init: {ContainerSpec.InitBinary} is not installed (Debian's catatonit)");
        foreach (var h in o.AddHosts)
            if (h.Split(':', 2) is not { Length: 2 } kv || kv[0].Length == 0 || !System.Net.IPAddress.TryParse(kv[1], out _))
                throw new EngineException($"--add-host \"{h}\": not HOST:IP");
        foreach (var d in o.Dns)
            if (!System.Net.IPAddress.TryParse(d, out _)) throw new EngineException($"--dns \"{d}\": not an IP address");
    }

    /// <summary>`create`: a container the runtime holds under conmon, its process waiting for `start`.</summary>
    public ContainerRecord Create(RunOptions o, bool attached = false)
    {
        Validate(o);
        var images = new ImageService(Settings.ImagesRoot);
        var reference = images.Parse(o.Image);
        using (var src = ImageService.Open(reference)) { /* the image exists (or the error names it) before any record does */ }

        var self = ProcStat.Read(Processes.Self)!.Value;
        var r = new ContainerRecord
        {
            Id = ContainerStore.NewId(), Image = o.Image, Created = Now(), Phase = Phase.Creating,
            CreatorPid = Processes.Self, CreatorStart = self.StartTime, AutoRemove = o.Remove, Tty = o.Tty, Interactive = o.Interactive,
            Runtime = o.Runtime ?? Settings.RuntimePath, Network = o.Network ?? Networking.DefaultNetwork,
            AddHosts = o.AddHosts, Dns = o.Dns, Ports = o.Ports, Mounts = o.Mounts, Labels = o.Labels, Attached = attached,
        };
        r.Hostname = o.Hostname ?? (r.Network == "host" ? FileSystem.ReadText("/proc/sys/kernel/hostname").Trim() : r.ShortId);
        using (Store.Lock())
        {
            var all = Store.All();
            if (o.Name is { } n)
            {
                if (all.Any(x => x.Name == n)) throw new EngineException($"the container name \"{n}\" is already in use; remove that container or choose another name");
                r.Name = n;
            }
            else r.Name = GenerateName(all);
            FileSystem.CreateDirectory(Store.DirOf(r.Id), 0x1c0);
            Store.Write(r);
        }
        try
        {
            Prepare(r, o, images, reference);
            Launch(r);
            r.Phase = Phase.Created;
            using (Store.Lock()) Store.Write(r);
            return r;
        }
        catch
        {
            Destroy(r);
            throw;
        }
    }

    static string GenerateName(List<ContainerRecord> all)
    {
        string[] adjectives = { "brave", "calm", "eager", "fond", "keen", "proud", "quiet", "swift", "tidy", "witty" };
        string[] nouns = { "anchor", "buoy", "cove", "dock", "harbor", "jetty", "keel", "mast", "pier", "quay" };
        for (int i = 0; ; i++)
        {
            var name = $"{adjectives[Random.Shared.Next(adjectives.Length)]}_{nouns[Random.Shared.Next(nouns.Length)]}{(i > 5 ? "_" + Random.Shared.Next(100000) : "")}";
            if (all.All(x => x.Name != name)) return name;
        }
    }

    /// <summary>The bundle: rootfs (overlay on the image's snapshots), volumes, hosts files, network, config.json.</summary>
    void Prepare(ContainerRecord r, RunOptions o, ImageService images, ImageReference reference)
    {
        var bundle = Store.BundleOf(r.Id);
        var userdata = Store.UserDataOf(r.Id);
        FileSystem.CreateDirectory(userdata, 0x1c0);
        FileSystem.CreateDirectory(Store.PersistOf(r.Id), 0x1c0);
        var platform = o.Platform is { } pl ? Images.Store.PlatformSpec.Parse(pl) : null;
        var image = images.Bundles.Unpack(reference, bundle, overlay: true, platform);
        r.ImageDigest = image.ManifestDescriptor.Digest ?? "";
        var c = image.Config.Config ?? new Oci.Image.ContainerConfig();
        r.StopSignal = o.StopSignal ?? c.StopSignal ?? "SIGTERM";
        if (Signals.Parse(r.StopSignal) is null) throw new EngineException($"stop signal \"{r.StopSignal}\": unknown");
        r.StopTimeout = o.StopTimeout ?? 10;
        var rootfs = Path.Combine(bundle, "rootfs");

        var paths = new ContainerPaths(rootfs, Path.Combine(userdata, "hostname"), Path.Combine(userdata, "hosts"), Path.Combine(userdata, "resolv.conf"), null);
        HostFiles.Replace(paths.Hostname, r.Hostname + "\n");
        var netns = Networking.Prepare(NetworkRequestOf(r));
        paths = paths with { NetnsPath = netns };

        // The image's VOLUMEs not covered by a mount become anonymous volumes (docker's rule), removed by rm -v.
        foreach (var v in c.Volumes ?? new())
            if (!o.Mounts.Any(m => m.Destination.TrimEnd('/') == v.TrimEnd('/')))
                r.Mounts.Add(new MountRequest("volume", ContainerStore.NewId(), v, false, Array.Empty<string>()) { Anonymous = true });
        var mounts = new List<Mount>();
        foreach (var m in r.Mounts)
        {
            switch (m.Type)
            {
                case "bind":
                    mounts.Add(ContainerSpec.Bind(Path.GetFullPath(m.Source), m.Destination, m.ReadOnly, m.Options));
                    break;
                case "volume":
                    Volumes.Create(m.Source);
                    Volumes.Seed(m.Source, Path.Combine(rootfs, m.Destination.TrimStart('/')));
                    mounts.Add(ContainerSpec.Bind(Volumes.DataOf(m.Source), m.Destination, m.ReadOnly, m.Options));
                    break;
                case "tmpfs":
                    mounts.Add(new Mount { Destination = m.Destination, Type = "tmpfs", Source = "tmpfs", Options = new List<string> { "nosuid", "nodev", "mode=1777" }.Concat(m.Options).ToList() });
                    break;
            }
        }
        o.Hostname ??= r.Hostname;
        var spec = ContainerSpec.Build(r.Id, image.Config, o, paths, mounts);
        r.Command = spec.Process!.Args!;
        var configPath = Path.Combine(bundle, "config.json");
        HostFiles.Replace(configPath, Encoding.UTF8.GetString(JsonOut.Document(spec, indent: "\t")));
    }

    public NetworkRequest NetworkRequestOf(ContainerRecord r) => new(
        r.Id, r.Name, new[] { r.Name, r.ShortId }, r.Network, r.Ports,
        Path.Combine(Store.UserDataOf(r.Id), "hosts"), Path.Combine(Store.UserDataOf(r.Id), "resolv.conf"), r.Hostname, r.AddHosts, r.Dns);

    /// <summary>conmon runs `RUNTIME create`; the record learns the pid.</summary>
    void Launch(ContainerRecord r)
    {
        var runtime = RuntimeFor(r);
        FileSystem.TryDelete(Store.ExitFileOf(r.Id));
        FileSystem.TryDelete(Path.Combine(Store.PersistOf(r.Id), "oom"));
        FileSystem.TryDelete(Path.Combine(Store.PersistOf(r.Id), "exit"));
        var exitCommand = new List<string> { Settings.SelfPath, "--store", Settings.StoreRoot, "--root", Settings.RuntimeRoot, "container", "cleanup", r.Id };
        var request = new ConmonRequest(r.Id, r.Name, Store.BundleOf(r.Id), Path.Combine(Store.UserDataOf(r.Id), "pidfile"), Store.ConmonPidFileOf(r.Id),
            Store.LogOf(r.Id), Store.ExitsDir, Store.PersistOf(r.Id), r.Tty, r.Interactive, exitCommand,
            // A foreground CLI cleans up itself; conmon's exit command is the fallback for one that
            // died, so it waits a second instead of racing that CLI for the lock and the CPU.
            ExitDelaySeconds: r.Attached ? 1 : 0);
        r.Pid = Conmon.Create(request, runtime, Settings.ConmonPath);
        r.PidStart = ProcStat.Read(r.Pid)?.StartTime ?? 0;
        r.ConmonPid = ReadPid(Store.ConmonPidFileOf(r.Id));
        r.ExitCode = null;
        r.FinishedAt = null;
        r.OomKilled = false;
    }

    static int ReadPid(string path) => int.TryParse(FileSystem.TryReadText(path)?.Trim(), out var p) ? p : 0;

    /// <summary>
    /// Foreground `run`/`start -a`: attached to conmon's socket before the start, so no output
    /// is missed; returns the container's exit code once conmon has recorded it.
    /// </summary>
    public int RunAttached(ContainerRecord r, bool stdin)
    {
        byte[]? saved = null;
        // docker's and podman's sig-proxy: a signal to the foreground CLI goes to the container.
        var runtime = RuntimeFor(r);
        var id = r.Id;
        var proxies = new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM, System.Runtime.InteropServices.PosixSignal.SIGHUP, System.Runtime.InteropServices.PosixSignal.SIGQUIT }
            .Select(sig => System.Runtime.InteropServices.PosixSignalRegistration.Create(sig, ctx =>
            {
                ctx.Cancel = true;
                int number = ctx.Signal switch
                {
                    System.Runtime.InteropServices.PosixSignal.SIGINT => Signals.SIGINT,
                    System.Runtime.InteropServices.PosixSignal.SIGHUP => Signals.SIGHUP,
                    System.Runtime.InteropServices.PosixSignal.SIGQUIT => Signals.SIGQUIT,
                    _ => Signals.SIGTERM,
                };
                runtime.Run("kill", id, number.ToString());
            })).ToList();
        try
        {
            using var attach = Attach.Connect(Store.BundleOf(r.Id));
            if (r.Tty && Terminal.IsTerminal(0))
            {
                if (Terminal.TryGetSize(0, out var size)) attach.Resize(size);
                saved = Terminal.MakeRaw(0);
            }
            Start(r);
            attach.Pump(stdin);
        }
        finally
        {
            if (saved is not null) Terminal.Restore(0, saved);
            foreach (var p in proxies) p.Dispose();
        }
        r = Store.TryRead(r.Id) ?? r;
        WaitForExitFile(r, 30_000);
        var code = ExitCodeFromFile(r.Id) ?? StatusOf(r).ExitCode ?? 125;
        Cleanup(r.Id, removeIfAuto: true);
        if (r.AutoRemove) FileSystem.TryDelete(Store.ExitFileOf(r.Id));
        return code;
    }

    // ---- start, stop, kill -----------------------------------------------------------------

    public void Start(ContainerRecord r)
    {
        var status = StatusOf(r);
        if (status.Running) return;
        if (r.Phase == Phase.Creating) throw new EngineException($"container {r.Name} is {status.State}");
        if (r.Phase != Phase.Created || status.State == "exited")
        {
            // Run again: the runtime forgot it at cleanup; conmon creates it anew on the same bundle.
            Cleanup(r.Id, removeIfAuto: false);
            r = Store.TryRead(r.Id) ?? throw new EngineException($"no such container: {r.Name}");
            MountRootfs(r);
            Networking.Prepare(NetworkRequestOf(r));
            Launch(r);
        }
        RuntimeFor(r).Start(r.Id);
        using (Store.Lock())
        {
            // Read again under the lock: a concurrent rename or pause must not be undone here.
            var cur = Store.TryRead(r.Id) ?? r;
            cur.Phase = Phase.Started;
            cur.StartedAt = Now();
            (cur.Pid, cur.PidStart, cur.ConmonPid, cur.ExitCode, cur.FinishedAt, cur.OomKilled) = (r.Pid, r.PidStart, r.ConmonPid, null, null, false);
            Store.Write(cur);
        }
    }

    /// <summary>The overlay again, from the lower directories recorded in the bundle at unpack.</summary>
    void MountRootfs(ContainerRecord r)
    {
        var bundle = Store.BundleOf(r.Id);
        var rootfs = Path.Combine(bundle, "rootfs");
        if (MountInfo.Read().Any(m => m.MountPoint == rootfs)) return;
        var lowers = FileSystem.ReadText(Path.Combine(bundle, ".berth-overlay")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        OverlayMount.Mount(rootfs, lowers, Path.Combine(bundle, "upper"), Path.Combine(bundle, "work"));
    }

    public void Kill(ContainerRecord r, int signal)
    {
        if (!StatusOf(r).Running) throw new EngineException($"container {r.Name} is not running");
        RuntimeFor(r).Kill(r.Id, signal);
    }

    /// <summary>The stop signal, then SIGKILL after <paramref name="timeout"/> seconds; returns when the exit is recorded.</summary>
    public void Stop(ContainerRecord r, int? timeout)
    {
        if (StatusOf(r).Running)
        {
            var runtime = RuntimeFor(r);
            using var pidfd = Pidfd.OpenIfAlive(r.Pid, r.PidStart);
            if (pidfd is not null)
            {
                runtime.Run("kill", r.Id, Signals.Parse(r.StopSignal)!.Value.ToString());
                if (!Pidfd.WaitExit(pidfd, (timeout ?? r.StopTimeout) * 1000))
                {
                    runtime.Run("kill", r.Id, Signals.SIGKILL.ToString());
                    Pidfd.WaitExit(pidfd, 10_000);
                }
            }
            WaitForExitFile(r, 10_000);
        }
        Cleanup(r.Id, removeIfAuto: true);
    }

    /// <summary>conmon writes the exit file once it has reaped the container.</summary>
    bool WaitForExitFile(ContainerRecord r, int timeoutMs)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            if (File.Exists(Store.ExitFileOf(r.Id))) return true;
            if (r.ConmonPid > 0 && ProcStat.Read(r.ConmonPid) is not { IsGone: false } && !File.Exists(Store.ExitFileOf(r.Id))) return false;
            Thread.Sleep(2);
        }
        return false;
    }

    /// <summary>`wait`: blocks until the container exits; its exit code.</summary>
    public int Wait(ContainerRecord r)
    {
        while (true)
        {
            var s = StatusOf(r);
            if (!s.Running && s.State != "created") return s.ExitCode ?? -1;
            Thread.Sleep(20);
            r = Store.TryRead(r.Id) ?? r;
        }
    }

    // ---- status --------------------------------------------------------------------------

    public ContainerStatus StatusOf(ContainerRecord r)
    {
        switch (r.Phase)
        {
            case Phase.Creating:
                return new(ProcStat.IsAlive(r.CreatorPid, r.CreatorStart) ? "creating" : "incomplete", null, false);
            case Phase.Stopped:
                return new("exited", r.ExitCode, false);
        }
        if (ExitCodeFromFile(r.Id) is { } code) return new("exited", code, false);
        bool alive = r.Pid > 0 && ProcStat.IsAlive(r.Pid, r.PidStart);
        if (r.Phase == Phase.Created) return alive ? new("created", null, false) : new("exited", null, false);
        if (!alive) return new("exited", r.ExitCode, false);
        return new(r.Paused ? "paused" : "running", null, true);
    }

    int? ExitCodeFromFile(string id) => int.TryParse(FileSystem.TryReadText(Store.ExitFileOf(id))?.Trim(), out var c) ? c : null;

    // ---- cleanup and removal ---------------------------------------------------------------

    /// <summary>
    /// After an exit (conmon's exit command, `stop`, a foreground `run`): the exit code and OOM
    /// recorded, the runtime's container deleted, network torn down, rootfs unmounted;
    /// removed too when it was run with --rm. Idempotent: any of them may run it, in any order.
    /// </summary>
    public void Cleanup(string id, bool removeIfAuto)
    {
        ContainerRecord? r;
        using (Store.Lock())
        {
            r = Store.TryRead(id);
            if (r is null || r.Phase is Phase.Creating) return;
            var status = StatusOf(r);
            if (status.Running || status.State == "created") return;
            if (r.Phase != Phase.Stopped)
            {
                r.ExitCode = ExitCodeFromFile(id) ?? r.ExitCode;
                r.FinishedAt = File.Exists(Store.ExitFileOf(id))
                    ? FileCopy.ModificationTime(Files.Open(Store.ExitFileOf(id), O.RDONLY | O.CLOEXEC)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ") : Now();
                r.OomKilled = File.Exists(Path.Combine(Store.PersistOf(id), "oom"));
                RuntimeFor(r).ForceDelete(id);
                Networking.Teardown(NetworkRequestOf(r));
                UnmountRootfs(id);
                r.Phase = Phase.Stopped;
                r.Paused = false;
                Store.Write(r);
            }
        }
        if (removeIfAuto && r.AutoRemove) Remove(r, force: false, volumes: true);
    }

    void UnmountRootfs(string id)
    {
        var rootfs = Path.Combine(Store.BundleOf(id), "rootfs");
        try { Mounts.Unmount(rootfs, Mounts.UMOUNT_NOFOLLOW | Mounts.MNT_DETACH); }
        catch (LinuxException e) when (e.Errno is Errno.EINVAL or Errno.ENOENT) { /* not mounted */ }
    }

    /// <summary>`rm`: refuses a running container unless forced (then SIGKILL); a creation whose CLI died is removed as it stands.</summary>
    public void Remove(ContainerRecord r, bool force, bool volumes)
    {
        var status = StatusOf(r);
        if (status.State == "creating") throw new EngineException($"container {r.Name} is being created by process {r.CreatorPid}");
        if (status.Running && !force)
            throw new EngineException($"container {r.Name} is {status.State}: stop it first, or rm -f");
        using (Store.Lock())
        {
            var current = Store.TryRead(r.Id);
            if (current is null) return;
            Destroy(current);
            if (volumes)
                foreach (var m in current.Mounts.Where(m => m.Type == "volume" && m.Anonymous))
                    if (Volumes.Exists(m.Source)) Volumes.Remove(m.Source);
        }
    }

    /// <summary>
    /// Undoes whatever exists of a container, in reverse order of making: its processes (the
    /// runtime's delete --force, then conmon), network, rootfs mount, directory, exit file.
    /// Works on a record at any phase, and on what a killed CLI left.
    /// </summary>
    void Destroy(ContainerRecord r)
    {
        // A stopped container's runtime state went at cleanup: one runtime call fewer per `run --rm`.
        if (r.Phase != Phase.Stopped) RuntimeFor(r).ForceDelete(r.Id);
        var conmonPid = r.ConmonPid > 0 ? r.ConmonPid : ReadPid(Store.ConmonPidFileOf(r.Id));
        // conmon writes the exit file once its container is gone, then runs its exit command,
        // which waits for the lock held here: so wait for the file, never for conmon. A conmon
        // with neither (stuck before its runtime made the container: a CLI killed mid-create) is
        // told to go.
        if (conmonPid > 0 && ProcStat.Read(conmonPid) is { IsGone: false } && IsConmonOf(conmonPid, r.Id))
        {
            using var fd = Pidfd.Open(conmonPid);
            var deadline = Environment.TickCount64 + 3000;
            while (fd is not null && !File.Exists(Store.ExitFileOf(r.Id)) && !Pidfd.WaitExit(fd, 5) && Environment.TickCount64 < deadline) { }
            if (fd is not null && !File.Exists(Store.ExitFileOf(r.Id)) && !Pidfd.WaitExit(fd, 0))
            {
                Pidfd.SendSignal(fd, Signals.SIGKILL);
                Pidfd.WaitExit(fd, 3000);
                // Its `runtime create` may have finished meanwhile.
                RuntimeFor(r).ForceDelete(r.Id);
            }
        }
        try { Networking.Teardown(NetworkRequestOf(r)); } catch (EngineException) { }
        UnmountRootfs(r.Id);
        if (Directory.Exists(Store.DirOf(r.Id))) FileTree.Remove(Store.DirOf(r.Id));
        // A foreground CLI still alive reads the exit file after this; a dead one never will.
        if (!r.Attached || !ProcStat.IsAlive(r.CreatorPid, r.CreatorStart)) FileSystem.TryDelete(Store.ExitFileOf(r.Id));
    }

    /// <summary>A recorded pid is conmon's for this id only if its command line says so: pids are reused.</summary>
    static bool IsConmonOf(int pid, string id)
    {
        var cmdline = FileSystem.TryReadText($"/proc/{pid}/cmdline") ?? "";
        return cmdline.Contains(id) && cmdline.Contains("conmon");
    }

    /// <summary>Directories a killed CLI left without a record (it died between mkdir and the first write).</summary>
    public int RemoveOrphanDirectories()
    {
        int n = 0;
        using (Store.Lock())
            foreach (var id in Store.Ids())
                if (Store.TryRead(id) is null)
                {
                    Destroy(new ContainerRecord { Id = id });
                    n++;
                }
        return n;
    }

    /// <summary>`container prune`: every container not running, not created and not being created; what a killed CLI left.</summary>
    public List<string> Prune()
    {
        var removed = new List<string>();
        RemoveOrphanDirectories();
        foreach (var r in Store.All())
        {
            var s = StatusOf(r);
            if (s.State is "exited" or "incomplete")
            {
                Remove(r, force: true, volumes: false);
                removed.Add(r.Id);
            }
        }
        return removed;
    }

    public void Pause(ContainerRecord r, bool pause)
    {
        if (!StatusOf(r).Running) throw new EngineException($"container {r.Name} is not running");
        RuntimeFor(r).Check(pause ? "pause" : "unpause", pause ? "pause" : "resume", r.Id);
        using (Store.Lock())
        {
            var cur = Store.TryRead(r.Id) ?? r;
            cur.Paused = pause;
            Store.Write(cur);
        }
    }

    public void Rename(ContainerRecord r, string name)
    {
        Validate(new RunOptions { Name = name });
        using (Store.Lock())
        {
            if (Store.All().Any(x => x.Name == name)) throw new EngineException($"the container name \"{name}\" is already in use");
            var cur = Store.TryRead(r.Id) ?? throw new EngineException($"no such container: {r.Name}");
            cur.Name = name;
            Store.Write(cur);
        }
    }

    // ---- commit ----------------------------------------------------------------------------

    /// <summary>
    /// `commit`: the container's image and one layer more, its changes as they are in the
    /// overlay's upper directory (BUNDLE/upper), stored under <paramref name="name"/>
    /// (without one, localhost/commit-ID12). A running
    /// container is paused while the layer is read (podman's default) so that no file changes
    /// half-way; the tar goes to a scratch file in the container's directory first, so the pause
    /// lasts only as long as the reading. Returns the image's id (its config's digest).
    /// </summary>
    public string Commit(ContainerRecord r, string? name, IReadOnlyList<string> changes, string? comment, string? author, bool pause = true)
    {
        ImageChanges.Validate(changes);
        var images = new ImageService(Settings.ImagesRoot);
        var reference = images.Parse(r.Image);
        var upper = Path.Combine(Store.BundleOf(r.Id), "upper");
        if (!Files.TryStat(null, upper, false, out var st, out _) || !st.IsDirectory)
            throw new EngineException($"container {r.Name} has no upper directory ({upper})");
        var skip = MountStubs(r, upper);
        var scratch = Path.Combine(Store.DirOf(r.Id), "commit.tar");
        FileSystem.TryDelete(scratch);
        try
        {
            using var tar = new FdStream(FileSystem.CreateNew(scratch, read: true), scratch, read: true, write: true);
            var status = StatusOf(r);
            bool paused = false;
            if (pause && status.Running && status.State != "paused")
            {
                Pause(r, true);
                paused = true;
            }
            try
            {
                Changeset.Write(upper, tar, skip);
            }
            finally
            {
                if (paused) Pause(Store.TryRead(r.Id) ?? r, false);
            }
            tar.Seek(0, SeekOrigin.Begin);
            return images.Commit(reference, r.ImageDigest, tar, name, changes, comment, author).Id;
        }
        finally
        {
            FileSystem.TryDelete(scratch);
        }
    }

    /// <summary>
    /// The files and directories the runtime made in the upper directory to mount over (hosts,
    /// resolv.conf, hostname, volume and bind targets the image lacked): empty, and not the
    /// container's work, so podman leaves them out of a commit and so does this.
    /// </summary>
    Func<string, FileStat, bool> MountStubs(ContainerRecord r, string upper)
    {
        var destinations = new HashSet<string>((SpecOf(r)?.Mounts ?? new()).Select(m => (m.Destination ?? "").Trim('/')));
        return (path, st) => destinations.Contains(path) && ((st.IsRegular && st.Size == 0) || (st.IsDirectory && FileSystem.Entries(Path.Combine(upper, path)).Count == 0));
    }

    /// <summary>The container's config.json as the runtime got it (what `inspect` shows as effective settings).</summary>
    public Spec? SpecOf(ContainerRecord r)
    {
        var text = FileSystem.TryReadText(Path.Combine(Store.BundleOf(r.Id), "config.json"));
        return text is null ? null : SpecReader.Parse(Encoding.UTF8.GetBytes(text));
    }
}
