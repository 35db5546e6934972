using System.Runtime.InteropServices;
using System.Text;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>How a child ended, as waitpid reports it.</summary>
public readonly record struct ExitStatus(int Code, int Signal)
{
    public static ExitStatus FromWaitStatus(int status) =>
        (status & 0x7f) == 0 ? new ExitStatus((status >> 8) & 0xff, 0) : new ExitStatus(0, status & 0x7f);

    /// <summary>The shell convention: the exit code, or 128+N for a death by signal N.</summary>
    public int ShellCode => Signal != 0 ? 128 + Signal : Code;
}

/// <summary>What /proc/&lt;pid&gt;/stat says about liveness.</summary>
public readonly record struct ProcStat(char State, ulong StartTime, uint Flags = 0)
{
    const uint PF_EXITING = 0x4;

    /// <summary>
    /// Z (zombie) and X (dead) count as gone: this VM's pid 1 reaps lazily. So does a process
    /// already exiting (PF_EXITING): a pid namespace's init that was killed waits, still in
    /// state S or D, until every other process of its namespace is reaped.
    /// </summary>
    public bool IsGone => State is 'Z' or 'X' || (Flags & PF_EXITING) != 0;

    public static ProcStat? Read(int pid)
    {
        string? text;
        try { text = FileSystem.TryReadText($"/proc/{pid}/stat"); }
        catch (LinuxException) { return null; }
        return text is null ? null : Parse(text);
    }

    /// <summary>Fields after the command name, which may itself hold spaces and parentheses.</summary>
    public static ProcStat? Parse(string text)
    {
        int close = text.LastIndexOf(')');
        if (close < 0) return null;
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); flags is field 9; starttime is field 22.
        if (fields.Length < 20 || fields[0].Length != 1) return null;
        uint.TryParse(fields[6], out var flags);
        return ulong.TryParse(fields[19], out var start) ? new ProcStat(fields[0][0], start, flags) : null;
    }

    /// <summary>True if <paramref name="pid"/> is the same, still running process that started at <paramref name="startTime"/>.</summary>
    public static bool IsAlive(int pid, ulong startTime) =>
        pid > 0 && Read(pid) is { } st && !st.IsGone && st.StartTime == startTime;
}

/// <summary>A file descriptor to hand to a spawned child at a fixed number.</summary>
public readonly record struct ChildFd(SafeFd Fd, int Target);

/// <summary>Process creation and control without managed fork.</summary>
public static unsafe class Processes
{
    public static int Self => Libc.getpid();
    public static uint EffectiveUid => Libc.geteuid();
    public static uint EffectiveGid => Libc.getegid();

    /// <summary>
    /// posix_spawn: the child runs only libc code until execve, so it is safe from a
    /// multi-threaded .NET process. Stdio is inherited; <paramref name="fds"/> are dup'ed to
    /// their targets; every other descriptor is closed; signal mask and dispositions are reset.
    /// </summary>
    public static int Spawn(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp, IReadOnlyList<ChildFd> fds)
    {
        // Move every source above every target first, so one dup2 cannot clobber another's source.
        int top = 3;
        foreach (var f in fds) top = Math.Max(top, f.Target + 1);
        var moved = fds.Select(f => (Fd: Files.DupAbove(f.Fd, Math.Max(top, 64)), f.Target)).ToList();
        try
        {
            var fa = stackalloc byte[256];
            var attr = stackalloc byte[512];
            Check(Libc.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
            Check(Libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
            try
            {
                foreach (var (fd, target) in moved) Check(Libc.posix_spawn_file_actions_adddup2(fa, fd.Number, target), "posix_spawn_file_actions_adddup2");
                Check(Libc.posix_spawn_file_actions_addclosefrom_np(fa, top), "posix_spawn_file_actions_addclosefrom_np");
                ulong empty = 0, all = ~0UL;
                const short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
                Check(Libc.posix_spawnattr_setsigmask(attr, &empty), "posix_spawnattr_setsigmask");
                Check(Libc.posix_spawnattr_setsigdefault(attr, &all), "posix_spawnattr_setsigdefault");
                Check(Libc.posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK), "posix_spawnattr_setflags");

                using var strings = new NativeStrings(path, argv, envp);
                int pid;
                int rc = Libc.posix_spawn(&pid, strings.Path, fa, attr, strings.Argv, strings.Envp);
                if (rc != 0) throw new LinuxException(rc, "posix_spawn", path);
                return pid;
            }
            finally
            {
                Libc.posix_spawn_file_actions_destroy(fa);
                Libc.posix_spawnattr_destroy(attr);
            }
        }
        finally
        {
            foreach (var (fd, _) in moved) fd.Dispose();
        }
    }

    static void Check(int rc, string op)
    {
        if (rc != 0) throw new LinuxException(rc, op);
    }

    /// <summary>waitpid; null when WNOHANG and nothing changed, throws ECHILD when no such child.</summary>
    public static (int Pid, ExitStatus Status)? Wait(int pid, bool noHang = false)
    {
        const int WNOHANG = 1;
        int status;
        while (true)
        {
            int r = Libc.waitpid(pid, &status, noHang ? WNOHANG : 0);
            if (r > 0) return (r, ExitStatus.FromWaitStatus(status));
            if (r == 0) return null;
            int e = Marshal.GetLastPInvokeError();
            if (e != Errno.EINTR) throw new LinuxException(e, "waitpid");
        }
    }

    const int PR_SET_CHILD_SUBREAPER = 36, PR_SET_PDEATHSIG = 1, PR_SET_NAME = 15;

    /// <summary>Orphans of our descendants are re-parented to us, so we can reap the container's init.</summary>
    public static void BecomeSubreaper() =>
        LinuxException.ThrowIfError(Libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)");

    const int PR_SET_DUMPABLE = 4;

    /// <summary>A non-dumpable process's /proc files (exe, fd, mem) need CAP_SYS_PTRACE to open.</summary>
    public static void SetDumpable(bool on) =>
        LinuxException.ThrowIfError(Libc.prctl(PR_SET_DUMPABLE, on ? 1u : 0u, 0, 0, 0), "prctl(PR_SET_DUMPABLE)");

    /// <summary>execve: this process becomes <paramref name="path"/>; returns only by throwing.</summary>
    public static void ExecReplace(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        using var strings = new NativeStrings(path, argv, envp);
        Libc.execve(strings.Path, strings.Argv, strings.Envp);
        throw LinuxException.FromLastError("execve", path);
    }

    /// <summary>This process's environment as execve takes it.</summary>
    public static List<string> Environment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToList();

    /// <summary>NUL-terminated UTF-8 copies of a path, argv and envp for execve/posix_spawn.</summary>
    sealed class NativeStrings : IDisposable
    {
        readonly List<nint> _allocs = new();
        public byte* Path { get; }
        public byte** Argv { get; }
        public byte** Envp { get; }

        public NativeStrings(string path, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
        {
            Path = Str(path);
            Argv = Vector(argv);
            Envp = Vector(envp);
        }

        byte* Str(string s)
        {
            var p = (byte*)Marshal.StringToCoTaskMemUTF8(s);
            _allocs.Add((nint)p);
            return p;
        }

        byte** Vector(IReadOnlyList<string> items)
        {
            var v = (byte**)Marshal.AllocHGlobal(sizeof(nint) * (items.Count + 1));
            for (int i = 0; i < items.Count; i++) v[i] = Str(items[i]);
            v[items.Count] = null;
            _hglobal.Add((nint)v);
            return v;
        }

        readonly List<nint> _hglobal = new();

        public void Dispose()
        {
            foreach (var p in _allocs) Marshal.FreeCoTaskMem(p);
            foreach (var p in _hglobal) Marshal.FreeHGlobal(p);
        }
    }
}
