using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Window size (struct winsize).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct WindowSize
{
    public ushort Rows, Cols, XPixels, YPixels;
}

/// <summary>Pseudo-terminals and terminal modes.</summary>
public static unsafe class Terminal
{
    const ulong TIOCGPTN = 0x80045430, TIOCSPTLCK = 0x40045431, TIOCGPTPEER = 0x5441, TIOCGWINSZ = 0x5413,
        TIOCSWINSZ = 0x5414, TIOCSCTTY = 0x540E;

    /// <summary>
    /// A new pty pair from the devpts instance behind <paramref name="ptmx"/> (the container's
    /// own, after pivot_root). The slave is opened from the master (TIOCGPTPEER), never by a
    /// path an image could have replaced.
    /// </summary>
    public static (SafeFd Master, SafeFd Slave, int Number) OpenPty(string ptmx = "/dev/ptmx")
    {
        var master = Files.Open(ptmx, O.RDWR | O.NOCTTY);
        try
        {
            int unlock = 0;
            LinuxException.ThrowIfError(Libc.ioctl(master.Number, TIOCSPTLCK, &unlock), "ioctl(TIOCSPTLCK)", ptmx);
            int n;
            LinuxException.ThrowIfError(Libc.ioctl(master.Number, TIOCGPTN, &n), "ioctl(TIOCGPTN)", ptmx);
            int slave = Libc.ioctl(master.Number, TIOCGPTPEER, (void*)(O.RDWR | O.NOCTTY | O.CLOEXEC));
            if (slave < 0) throw LinuxException.FromLastError("ioctl(TIOCGPTPEER)", ptmx);
            return (master, new SafeFd(slave), n);
        }
        catch
        {
            master.Dispose();
            throw;
        }
    }

    public static void SetSize(SafeFd tty, WindowSize size)
    {
        LinuxException.ThrowIfError(Libc.ioctl(tty.Number, TIOCSWINSZ, &size), "ioctl(TIOCSWINSZ)");
    }

    public static bool TryGetSize(int fd, out WindowSize size)
    {
        WindowSize ws;
        bool ok = Libc.ioctl(fd, TIOCGWINSZ, &ws) == 0;
        size = ws;
        return ok;
    }

    /// <summary>Makes <paramref name="tty"/> the calling session leader's controlling terminal.</summary>
    public static void SetControlling(SafeFd tty) =>
        LinuxException.ThrowIfError(Libc.ioctl(tty.Number, TIOCSCTTY, null), "ioctl(TIOCSCTTY)");

    public static bool IsTerminal(int fd) => Libc.isatty(fd) == 1;

    /// <summary>Puts <paramref name="fd"/> in raw mode; the returned state restores it.</summary>
    public static byte[] MakeRaw(int fd)
    {
        var saved = new byte[TermiosSize];
        fixed (byte* s = saved)
        {
            LinuxException.ThrowIfError(Libc.tcgetattr(fd, s), "tcgetattr");
            byte* raw = stackalloc byte[TermiosSize];
            new Span<byte>(s, TermiosSize).CopyTo(new Span<byte>(raw, TermiosSize));
            Libc.cfmakeraw(raw);
            LinuxException.ThrowIfError(Libc.tcsetattr(fd, 0 /* TCSANOW */, raw), "tcsetattr");
        }
        return saved;
    }

    public static void Restore(int fd, byte[] saved)
    {
        fixed (byte* s = saved) Libc.tcsetattr(fd, 0, s);
    }

    // sizeof(struct termios) on glibc.
    const int TermiosSize = 60;

    /// <summary>Moves <paramref name="fd"/> onto <paramref name="target"/> (dup2), clearing close-on-exec.</summary>
    public static void Dup2(SafeFd fd, int target) => LinuxException.ThrowIfError(Libc.dup2(fd.Number, target), "dup2");
}
