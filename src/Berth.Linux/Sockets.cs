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

    [StructLayout(LayoutKind.Sequential)]
    struct IoVec
    {
        public byte* Base;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    /// <summary>
    /// sendmsg with one descriptor in SCM_RIGHTS: how a pty master or a seccomp listener fd
    /// crosses to another process. Allocates nothing (it runs under a seccomp filter in init).
    /// </summary>
    public static int TrySendFd(int socket, byte* data, int length, int fd)
    {
        const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
        // struct cmsghdr { size_t len; int level; int type; } followed by the int, padded to 8.
        ulong* control = stackalloc ulong[3];
        control[0] = 16 + sizeof(int);
        ((int*)control)[2] = SOL_SOCKET;
        ((int*)control)[3] = SCM_RIGHTS;
        ((int*)control)[4] = fd;
        var iov = new IoVec { Base = data, Len = (nuint)length };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        long rc = Libc.sendmsg(socket, &msg, 0x4000 /* MSG_NOSIGNAL */);
        return rc < 0 ? Marshal.GetLastPInvokeError() : 0;
    }

    public static void SendFd(SafeFd socket, ReadOnlySpan<byte> data, SafeFd fd)
    {
        fixed (byte* p = data)
        {
            int e = TrySendFd(socket.Number, p, data.Length, fd.Number);
            if (e != 0) throw new LinuxException(e, "sendmsg(SCM_RIGHTS)");
        }
    }

    /// <summary>Receives one descriptor sent with SCM_RIGHTS (and discards the data that came with it).</summary>
    public static SafeFd ReceiveFd(SafeFd socket)
    {
        const int SOL_SOCKET = 1, SCM_RIGHTS = 1;
        byte* data = stackalloc byte[4096];
        ulong* control = stackalloc ulong[3];
        var iov = new IoVec { Base = data, Len = 4096 };
        var msg = new MsgHdr { Iov = &iov, IovLen = 1, Control = control, ControlLen = 24 };
        nint n;
        do n = Libc.recvmsg(socket.Number, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */);
        while (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR);
        if (n < 0) throw LinuxException.FromLastError("recvmsg");
        if (msg.ControlLen < 20 || ((int*)control)[2] != SOL_SOCKET || ((int*)control)[3] != SCM_RIGHTS)
            throw new LinuxException(Errno.EIO, "recvmsg", "no descriptor in the message");
        return new SafeFd(((int*)control)[4]);
    }

    /// <summary>A stream socket connected to the Unix socket at <paramref name="path"/>.</summary>
    public static SafeFd ConnectUnix(string path)
    {
        var fd = new SafeFd(LinuxException.ThrowIfError(Libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket"));
        var bytes = System.Text.Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= 108)
        {
            fd.Dispose();
            throw new LinuxException(Errno.ENAMETOOLONG, "connect", path);
        }
        byte* addr = stackalloc byte[110];
        new Span<byte>(addr, 110).Clear();
        *(ushort*)addr = AF_UNIX;
        bytes.CopyTo(new Span<byte>(addr + 2, 108));
        if (Libc.connect(fd.Number, addr, (uint)(2 + bytes.Length + 1)) < 0)
        {
            var e = LinuxException.FromLastError("connect", path);
            fd.Dispose();
            throw e;
        }
        return fd;
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
