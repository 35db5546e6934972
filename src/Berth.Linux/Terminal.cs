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

}
