using System.Runtime.InteropServices;
using Berth.Linux;
using Berth.Oci.Runtime;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>The runtime's lifecycle operations (runtime.md, "Operations"), with runc's semantics and messages.</summary>
public sealed class Containers
{
    readonly StateStore _store;
    readonly Log _log;

    public Containers(StateStore store, Log log)
    {
        _store = store;
        _log = log;
    }

    public void Create(CreateOptions o)
    {
        var created = new Launcher(_store, _log).Create(o);
        created.Dir.Dispose();
    }

    public State State(string id)
    {
        var (exists, record, fifo) = _store.Peek(id);
        if (!exists) throw RuntimeException.NotExist(id);
        return ToState(id, record, StatusProbe.Of(record, fifo));
    }

    public IReadOnlyList<State> List() =>
        _store.Ids().Select(id =>
        {
            var (_, record, fifo) = _store.Peek(id);
            return ToState(id, record, StatusProbe.Of(record, fifo));
        }).ToList();

    static State ToState(string id, ContainerRecord? r, string status) => new()
    {
        Id = id,
        Status = status,
        Pid = status is Status.Created or Status.Running ? r!.Pid : 0,
        Bundle = r?.Bundle ?? "",
        Rootfs = r?.Rootfs ?? "",
        Created = r?.Created ?? "",
        Owner = r?.Owner ?? "",
        Annotations = r?.Annotations,
    };

    /// <summary>Opens the exec barrier: init, blocked opening exec.fifo for writing, proceeds to execve.</summary>
    public void Start(string id)
    {
        using var dir = _store.Open(id, exclusive: true) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        switch (StatusProbe.Of(r, dir.FifoExists))
        {
            case Status.Created:
                OpenBarrier(dir, r!);
                // The process runs; poststart hooks follow, and a failing one only warns.
                if (r!.HasPoststart && dir.ReadSpec()?.Hooks?.Poststart is { Count: > 0 } poststart)
                    HookRunner.RunAllWarning(poststart, "poststart", HookRunner.StateFor(id, Status.Running, r!.Pid, r.Bundle, r.Annotations), _log);
                break;
            case Status.Stopped:
                throw new RuntimeException("cannot start a container that has stopped");
            case Status.Running:
                throw new RuntimeException("cannot start an already running container");
            default:
                throw new RuntimeException($"cannot start a container that is still being created: {id}");
        }
    }

    /// <summary>
    /// Init is blocked opening exec.fifo for writing; our open lets it go on, and it says so
    /// with one byte. Then it keeps the fifo open (close-on-exec) through its last steps: end
    /// of file means its execve succeeded, a failure record that it did not.
    /// </summary>
    static void OpenBarrier(ContainerDir dir, ContainerRecord r)
    {
        // Non-blocking open: if init died in the meantime a blocking open would wait forever.
        using var fifo = Files.Open(dir.FifoPath, O.RDONLY | O.NONBLOCK);
        var got = new List<byte>();
        var chunk = new byte[4096];
        bool started = false;
        while (true)
        {
            if (Files.Poll(fifo, Files.POLLIN, 50, out var ev))
            {
                int n = 0;
                try { n = Files.Read(fifo, chunk); }
                catch (LinuxException e) when (e.Errno == Errno.EAGAIN) { continue; }
                if (n > 0)
                {
                    if (!started) FileSystem.Delete(dir.FifoPath);
                    started = true;
                    got.AddRange(chunk.AsSpan(0, n).ToArray());
                    continue;
                }
                if (!started) throw new RuntimeException("container init exited before it could be started");
                break; // end of file: the writer is gone
            }
            if (!ProcStat.IsAlive(r.Pid, r.PidStartTime))
            {
                if (!started) throw new RuntimeException("container init exited before it could be started");
                // Dead without closing first is impossible; read what it left.
                continue;
            }
        }
        // "0", then nothing (execve closed it) or {type, length, failure}.
        if (got.Count > 9 && BitConverter.ToUInt32(got.ToArray(), 1) == (uint)Protocol.SyncType.InitFailed)
            throw new RuntimeException(Protocol.InitFailure.Decode(got.Skip(9).ToArray()).Message);
    }

    public void Kill(string id, int signal, bool all)
    {
        using var dir = _store.Open(id, exclusive: false) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        var status = StatusProbe.Of(r, dir.FifoExists);
        if (all && r is not null)
        {
            // Frozen while signalled, as runc does: no process can fork a child past the list.
            var cgroups = r.OpenCgroups();
            var freezer = status == Status.Running ? cgroups.Freezer : null;
            freezer?.Freeze();
            int sent = 0;
            try
            {
                sent = Pidfd.SignalEach(cgroups.Pids(), signal);
            }
            finally
            {
                freezer?.Thaw();
            }
            if (sent == 0 && status is not (Status.Created or Status.Running or Status.Paused)) throw RuntimeException.NotRunning(id);
            return;
        }
        if (status is not (Status.Created or Status.Running or Status.Paused)) throw RuntimeException.NotRunning(id);
        using var init = Pidfd.OpenIfAlive(r!.Pid, r.PidStartTime) ?? throw RuntimeException.NotRunning(id);
        if (!Pidfd.SendSignal(init, signal)) throw RuntimeException.NotRunning(id);
    }

    public void Delete(string id, bool force)
    {
        ContainerId.Validate(id);
        if (force) _store.RemoveAbandoned(id);
        using var dir = _store.Open(id, exclusive: true);
        if (dir is null)
        {
            if (force) return;
            throw RuntimeException.NotExist(id);
        }
        var r = dir.Read();
        if (r is null)
        {
            // A create that died before writing anything: nothing was started.
            dir.Remove();
            return;
        }
        var status = StatusProbe.Of(r, dir.FifoExists);
        if (status is Status.Running or Status.Paused && !force)
            throw new RuntimeException($"cannot delete container {id} that is not stopped: {status}");
        Destroyer.Destroy(dir, r, _log);
    }

    /// <summary>Freezes every process of a running container (runc pause).</summary>
    public void Pause(string id)
    {
        using var dir = _store.Open(id, exclusive: true) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        var status = StatusProbe.Of(r, dir.FifoExists);
        if (status == Status.Paused) return;
        if (status != Status.Running) throw RuntimeException.NotRunning(id);
        r!.RequireFreezer().Freeze();
    }

    public void Resume(string id)
    {
        using var dir = _store.Open(id, exclusive: true) ?? throw RuntimeException.NotExist(id);
        var r = dir.Read();
        if (StatusProbe.Of(r, dir.FifoExists) != Status.Paused) throw new RuntimeException($"container not paused: {id}");
        r!.RequireFreezer().Thaw();
    }

    /// <summary>
    /// create + start; in the foreground Berth is the container's subreaper: it forwards
    /// signals, waits, deletes the container unless <paramref name="keep"/>, and returns the
    /// exit status (128+N for a death by signal N).
    /// </summary>
    public int Run(CreateOptions o, bool detach, bool keep)
    {
        if (detach)
        {
            Create(o);
            try { Start(o.Id); }
            catch { TryDelete(o.Id); throw; }
            return 0;
        }

        // Armed before create: a signal from here on reaches the container's process (held until
        // it runs), never the default action on the launcher, which would leave the container behind.
        using var forwarder = new SignalForwarder(_log);
        Processes.BecomeSubreaper();
        var created = new Launcher(_store, _log).Create(o, foreground: true);
        var r = created.Record;
        created.Dir.Dispose();

        TerminalProxy? tty = null;
        try
        {
            if (created.TerminalReceiver is { } receiver)
                using (receiver) tty = new TerminalProxy(Sockets.ReceiveFd(receiver));
            var init = Pidfd.OpenIfAlive(r.Pid, r.PidStartTime);
            try
            {
                Start(o.Id);
            }
            catch
            {
                init?.Dispose();
                throw;
            }
            // Start returns once the process has exec'd: what was held goes to it now.
            forwarder.DeliverTo(init);
            _log.Debug("run: started");
            var status = WaitFor(r.Pid).ShellCode;
            _log.Debug("run: exited");
            tty?.Drain();
            return status;
        }
        finally
        {
            tty?.Dispose();
            // Still armed while the container is deleted: a signal now must not cut that short.
            if (!keep) TryDelete(o.Id);
            _log.Debug("run: deleted");
        }
    }

    /// <summary>Reaps children until <paramref name="pid"/> exits; other orphans re-parented to us are reaped on the way.</summary>
    internal static ExitStatus WaitFor(int pid)
    {
        while (true)
        {
            var w = Processes.Wait(-1);
            if (w is { } x && x.Pid == pid) return x.Status;
        }
    }

    void TryDelete(string id)
    {
        try { Delete(id, force: true); }
        catch (Exception e) { _log.Warn($"deleting {id}: {e.Message}"); }
    }
}
