using System.Runtime.InteropServices;
using Berth.Linux.Interop;

namespace Berth.Linux;

/// <summary>Unix socket pairs and the little network setup init needs.</summary>
public static unsafe class Sockets
{
    const int AF_UNIX = 1, AF_INET = 2, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_CLOEXEC = O.CLOEXEC;

    public static (SafeFd, SafeFd) UnixStreamPair()
    {
        int* sv = stackalloc int[2];
        LinuxException.ThrowIfError(Libc.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
        return (new SafeFd(sv[0]), new SafeFd(sv[1]));
    }

    [StructLayout(LayoutKind.Sequential, Size = 40)]
    struct IfReq
    {
        public fixed byte Name[16];
        public short Flags;
    }

    /// <summary>Sets IFF_UP on "lo": a new network namespace starts with loopback down.</summary>
    public static void BringUpLoopback()
    {
        const ulong SIOCGIFFLAGS = 0x8913, SIOCSIFFLAGS = 0x8914;
        const short IFF_UP = 1;
        int s = LinuxException.ThrowIfError(Libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");
        using var sock = new SafeFd(s);
        IfReq req = default;
        req.Name[0] = (byte)'l';
        req.Name[1] = (byte)'o';
        LinuxException.ThrowIfError(Libc.ioctl(s, SIOCGIFFLAGS, &req), "ioctl(SIOCGIFFLAGS)", "lo");
        req.Flags |= IFF_UP;
        LinuxException.ThrowIfError(Libc.ioctl(s, SIOCSIFFLAGS, &req), "ioctl(SIOCSIFFLAGS)", "lo");
    }
}
