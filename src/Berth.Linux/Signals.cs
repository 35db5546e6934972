using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Signal names and numbers (x86_64/arm64 Linux), and resetting signal state before execve.</summary>
public static unsafe class Signals
{
    public const int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGKILL = 9, SIGUSR1 = 10, SIGPIPE = 13,
        SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGWINCH = 28;

    static readonly string[] Names =
    {
        "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
        "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
        "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
    };

    const int SIGRTMIN = 34, SIGRTMAX = 64;

    /// <summary>Parses "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3"; null if unknown.</summary>
    public static int? Parse(string text)
    {
        if (int.TryParse(text, out int n)) return n is > 0 and <= SIGRTMAX ? n : null;
        var name = text.ToUpperInvariant();
        if (name.StartsWith("SIG")) name = name[3..];
        for (int i = 1; i < Names.Length; i++) if (Names[i] == name) return i;
        if (name is "IOT") return 6;
        if (name is "POLL") return 29;
        if (name == "RTMIN") return SIGRTMIN;
        if (name == "RTMAX") return SIGRTMAX;
        if (name.StartsWith("RTMIN+") && int.TryParse(name[6..], out int p) && SIGRTMIN + p <= SIGRTMAX && p >= 0) return SIGRTMIN + p;
        if (name.StartsWith("RTMAX-") && int.TryParse(name[6..], out int m) && SIGRTMAX - m >= SIGRTMIN && m >= 0) return SIGRTMAX - m;
        return null;
    }

    public static string Name(int signal) =>
        signal > 0 && signal < Names.Length ? "SIG" + Names[signal] : signal.ToString();

}
