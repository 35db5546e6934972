using System.Runtime.InteropServices;

namespace Berth.Linux.Interop;

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, int* sv);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int ioctl(int fd, ulong request, void* arg);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint sendmsg(int fd, void* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial nint recvmsg(int fd, void* msg, int flags);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int connect(int fd, byte* addr, uint len);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int shutdown(int fd, int how);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int poll(PollFd* fds, ulong nfds, int timeout);
}

[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, SetLastError = true)]
    public static partial int isatty(int fd);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcgetattr(int fd, byte* termios);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int tcsetattr(int fd, int action, byte* termios);

    [LibraryImport(Lib)]
    public static partial void cfmakeraw(byte* termios);

    [LibraryImport(Lib, SetLastError = true)]
    public static partial int dup2(int oldfd, int newfd);
}

internal static unsafe partial class Libc
{
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint if_nametoindex(string name);
}
