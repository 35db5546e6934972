using System.Text;
using Berth.Linux;
using Berth.Oci.Json;
using Berth.Oci.Runtime;
using Berth.Runtime.Cgroups;
using Berth.Runtime.Store;

namespace Berth.Runtime.Lifecycle;

/// <summary>`ps` and `events`: what runs in a container, and what happens to it, from its cgroups.</summary>
public sealed class Monitoring
{
    readonly StateStore _store;

    public Monitoring(StateStore store) => _store = store;

    ContainerRecord Running(string id, bool allowStopped = false)
    {
        var (exists, r, fifo) = _store.Peek(id);
        if (!exists) throw RuntimeException.NotExist(id);
        var status = StatusProbe.Of(r, fifo);
        if (!allowStopped && status is Status.Stopped or Status.Creating) throw RuntimeException.NotRunning(id);
        return r!;
    }

    /// <summary>The pids in the container's cgroup (runc ps).</summary>
    public IReadOnlyList<int> Pids(string id) => Running(id).OpenCgroups().Pids();

    /// <summary>UID, PID, PPID, STAT and CMD of each process, from /proc.</summary>
    public string Table(string id)
    {
        var sb = new StringBuilder("UID        PID     PPID    STAT  CMD\n");
        foreach (var pid in Pids(id))
        {
            // Null: gone between the cgroup read and now.
            if (FileSystem.TryReadText($"/proc/{pid}/status")?.Split('\n') is not { } status
                || FileSystem.TryReadText($"/proc/{pid}/cmdline") is not { } cmdline)
                continue;
            string Field(string name) => status.FirstOrDefault(l => l.StartsWith(name + ":"))?[(name.Length + 1)..].Trim() ?? "";
            var cmd = cmdline.Replace('\0', ' ').Trim();
            sb.Append($"{Field("Uid").Split('\t')[0],-10} {pid,-7} {Field("PPid"),-7} {Field("State").Split(' ')[0],-5} {(cmd.Length > 0 ? cmd : $"[{Field("Name")}]")}\n");
        }
        return sb.ToString();
    }

    /// <summary>One `{"type":"stats",...}` line, runc's layout.</summary>
    public byte[] StatsEvent(string id) => StatsEvent(id, Running(id).OpenCgroups());

    static byte[] StatsEvent(string id, ICgroupManager cgroups) =>
        JsonOut.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "stats");
            w.WriteString("id", id);
            w.WritePropertyName("data");
            cgroups.WriteStats(w);
            w.WriteEndObject();
        });

    /// <summary>
    /// Streams events until the container stops: stats every <paramref name="interval"/>, and an
    /// `{"type":"oom"}` line for each OOM kill (v1: memory.oom_control through an eventfd
    /// registered in cgroup.event_control; v2: memory.events' oom_kill counter).
    /// </summary>
    public void Stream(string id, TimeSpan interval, Action<byte[]> emit)
    {
        var r = Running(id);
        var cgroups = r.OpenCgroups();
        using var oomFd = cgroups.OomEvents();
        ulong oomKills = cgroups.OomKills();
        var nextStats = DateTime.UtcNow;
        while (ProcStat.IsAlive(r.Pid, r.PidStartTime))
        {
            if (DateTime.UtcNow >= nextStats)
            {
                emit(StatsEvent(id, cgroups));
                nextStats = DateTime.UtcNow + interval;
            }
            int wait = (int)Math.Clamp((nextStats - DateTime.UtcNow).TotalMilliseconds, 0, 100);
            bool signalled = oomFd is not null && Files.Poll(oomFd, Files.POLLIN, wait, out _) && EventFds.Read(oomFd) > 0;
            if (oomFd is null) Thread.Sleep(wait);
            var kills = cgroups.OomKills();
            if (signalled || kills > oomKills)
            {
                for (ulong i = oomKills; i < Math.Max(kills, oomKills + 1); i++)
                    emit(JsonOut.Write(w =>
                    {
                        w.WriteStartObject();
                        w.WriteString("type", "oom");
                        w.WriteString("id", id);
                        w.WriteEndObject();
                    }));
                oomKills = Math.Max(kills, oomKills + 1);
            }
        }
    }
}
