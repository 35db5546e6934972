using System.Buffers.Binary;
using System.Text;

namespace Berth.Runtime.Protocol;

/// <summary>
/// The operations of native/init.c, the container's init (native/init.h has the same numbers).
/// Each takes its step name (what a failure is reported as) and the arguments listed here.
/// </summary>
public enum PlanOp : uint
{
    /// <summary>register, inherited fd</summary>
    RegFd = 1,
    /// <summary>register</summary>
    Close = 2,
    /// <summary>out register, root register (-1: a host path; -2: a host path with no symlink on its way), path, open flags, missing is ok (register = -1)</summary>
    Open = 3,
    /// <summary>out register, root register, path, mode: mkdir -p inside the root</summary>
    MkdirAll = 4,
    /// <summary>out register, root register, path: an empty file inside the root</summary>
    MkFile = 5,
    /// <summary>source register or -1, source, target register or -1, target, fstype, flags, data</summary>
    Mount = 6,
    /// <summary>target register, target path ("" for the register's), flags, carry the flags a user namespace locks</summary>
    Remount = 7,
    /// <summary>target register, attributes to set, to clear, recursive</summary>
    SetAttr = 8,
    /// <summary>detached mount register, target register</summary>
    MoveMount = 9,
    /// <summary>root register, path, mode (type and permissions), major, minor, uid (-1: leave), gid</summary>
    Mknod = 10,
    /// <summary>directory register, link target, name, replace</summary>
    Symlink = 11,
    /// <summary>rootfs register</summary>
    PivotRoot = 12,
    /// <summary>rootfs register (MS_MOVE over / and chroot)</summary>
    MoveRoot = 13,
    /// <summary>name</summary>
    SetHostname = 14,
    /// <summary>name</summary>
    SetDomainname = 15,
    /// <summary>path under /proc ("self/…" for this process), value, what a refusal (EACCES, EPERM) means: through a checked procfs</summary>
    ProcWrite = 16,
    /// <summary>root register, path, /dev/null register</summary>
    Mask = 17,
    /// <summary>root register, path, carry locked flags</summary>
    Readonly = 18,
    /// <summary>console socket register, rows, cols, bind /dev/console</summary>
    Console = 19,
    /// <summary>path, args, env, timeout (s, 0: none), state document</summary>
    Hook = 20,
    /// <summary>(none): the launcher runs prestart and createRuntime</summary>
    RuntimeHooks = 21,
    /// <summary>resource, soft, hard</summary>
    Rlimit = 22,
    /// <summary>persona</summary>
    Personality = 23,
    /// <summary>mode, node mask (bytes)</summary>
    MemoryPolicy = 24,
    /// <summary>ioprio value (class &lt;&lt; 13 | priority)</summary>
    IoPriority = 25,
    /// <summary>policy, flags, nice, priority, runtime, deadline, period</summary>
    Scheduler = 26,
    /// <summary>CPU mask (bytes)</summary>
    Affinity = 27,
    /// <summary>name, permissions</summary>
    Keyring = 28,
    /// <summary>mask</summary>
    Umask = 29,
    /// <summary>directory (and the check that it is inside the root)</summary>
    Chdir = 30,
    /// <summary>name, PATH</summary>
    FindExec = 31,
    /// <summary>uid, gid, additional gids</summary>
    CheckMapped = 32,
    /// <summary>uid: HOME from the container's /etc/passwd</summary>
    Home = 33,
    /// <summary>(none): tells the launcher every fallible step is done</summary>
    Ready = 34,
    /// <summary>exec.fifo register, procfs register (-1: the current root's /proc): the start barrier</summary>
    WaitFifo = 35,
    NoNewPrivileges = 36,
    /// <summary>BPF program (bytes), seccomp(2) flags, listener socket register, listener state</summary>
    Seccomp = 37,
    /// <summary>capabilities kept, last capability</summary>
    DropBounding = 38,
    /// <summary>on</summary>
    KeepCaps = 39,
    /// <summary>gids</summary>
    SetGroups = 40,
    /// <summary>gid</summary>
    SetGid = 41,
    /// <summary>uid</summary>
    SetUid = 42,
    /// <summary>effective, permitted, inheritable</summary>
    Capset = 43,
    /// <summary>ambient capabilities, last capability</summary>
    Ambient = 44,
    ResetSignals = 45,
    /// <summary>first descriptor</summary>
    CloseOnExecFrom = 46,
    /// <summary>(none): execve of what PrepareExec prepared, the one call after the seccomp filter</summary>
    Exec = 47,
    LoopbackUp = 48,
    /// <summary>args, env (HOME added when Home found one), the RLIMIT_STACK to come (0: the current): the vectors for Exec, made and checked (E2BIG) before the barrier</summary>
    PrepareExec = 49,
    /// <summary>from register (-1: nothing to copy), to register: tmpcopyup's copy of a covered directory</summary>
    CopyTree = 50,
    /// <summary>target register, bind source register or -1, is a proc mount, rootfs, allowed paths: runc's /proc mount rule on the resolved target</summary>
    CheckProc = 51,
    /// <summary>register, file type (S_IF*), major, minor, path: a host node bound in is the one the config names</summary>
    CheckNode = 52,
    /// <summary>rootfs register: chroot there (no new mount namespace)</summary>
    Chroot = 53,
}

/// <summary>One operation of the plan: what it does, the step it is reported as, its arguments.</summary>
public sealed record PlanStep(PlanOp Op, string Step, IReadOnlyList<object> Args)
{
    /// <summary>For tests and --debug: "Mount[mount /proc](-1, proc, 3, , proc, 14, )".</summary>
    public override string ToString() => $"{Op}[{Step}]({string.Join(", ", Args.Select(Show))})";

    static string Show(object a) => a switch
    {
        byte[] b => $"<{b.Length} bytes>",
        IReadOnlyList<string> l => "[" + string.Join(" ", l) + "]",
        _ => a.ToString() ?? "",
    };
}

/// <summary>
/// What a container's init does, as data: built by <see cref="Init.PlanBuilder"/> (which decides
/// everything), run by native/init.c (which decides nothing). A test can read it without root.
/// Arguments are longs, strings, string lists and byte arrays.
/// </summary>
public sealed class InitPlan
{
    const uint Magic = 0x4e4c5042; // "BPLN"

    public List<PlanStep> Steps { get; } = new();

    public void Add(PlanOp op, string step, params object[] args) => Steps.Add(new PlanStep(op, step, args));

    /// <summary>The wire form native/init.c reads (see the comment at its top).</summary>
    public byte[] Encode()
    {
        var buf = new MemoryStream();
        var u32 = new byte[4];
        void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(u32, v);
            buf.Write(u32);
        }
        void Arg(ReadOnlySpan<byte> bytes)
        {
            U32((uint)bytes.Length);
            buf.Write(bytes);
        }
        void Text(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            if (Array.IndexOf(bytes, (byte)0) != bytes.Length - 1)
                throw new RuntimeException($"init plan: a NUL byte inside \"{s.Replace("\0", "\\0")}\"");
            Arg(bytes);
        }
        U32(Magic);
        U32((uint)Steps.Count);
        var i64 = new byte[8];
        foreach (var s in Steps)
        {
            U32((uint)s.Op);
            U32((uint)(s.Args.Count + 1));
            Text(s.Step);
            foreach (var a in s.Args)
            {
                switch (a)
                {
                    case string t:
                        Text(t);
                        break;
                    case byte[] b:
                        Arg(b);
                        break;
                    case IReadOnlyList<string> list:
                        var joined = new MemoryStream();
                        foreach (var item in list)
                        {
                            var bytes = Encoding.UTF8.GetBytes(item + "\0");
                            if (Array.IndexOf(bytes, (byte)0) != bytes.Length - 1)
                                throw new RuntimeException($"{s.Step}: a NUL byte inside \"{item.Replace("\0", "\\0")}\"");
                            joined.Write(bytes);
                        }
                        Arg(joined.ToArray());
                        break;
                    case ulong u:
                        BinaryPrimitives.WriteInt64LittleEndian(i64, unchecked((long)u));
                        Arg(i64);
                        break;
                    default:
                        BinaryPrimitives.WriteInt64LittleEndian(i64, Convert.ToInt64(a));
                        Arg(i64);
                        break;
                }
            }
        }
        return buf.ToArray();
    }
}

/// <summary>
/// How init reports a failure, on the sync socket before the barrier and down exec.fifo after
/// it: {u32 step index, i32 errno, step\0detail\0}.
/// </summary>
public readonly record struct InitFailure(int Index, int Errno, string Step, string Detail)
{
    public static InitFailure Decode(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 10) return new InitFailure(-1, 0, "init", "malformed failure report");
        int index = BinaryPrimitives.ReadInt32LittleEndian(payload);
        int errno = BinaryPrimitives.ReadInt32LittleEndian(payload[4..]);
        var text = Encoding.UTF8.GetString(payload[8..]).Split('\0');
        return new InitFailure(index, errno, text[0], text.Length > 1 ? text[1] : "");
    }

    /// <summary>"init: mount /proc: mount: EPERM (Operation not permitted)".</summary>
    public string Message => $"init: {Step}: {Detail}{(Errno != 0 ? ": " + Linux.Errnos.Describe(Errno) : "")}";
}
